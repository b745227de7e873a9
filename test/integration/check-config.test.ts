// check-config refuses exactly what a start refuses, with the same message: it builds everything a
// start builds (listener TLS, web config, htpasswd, routes, roles, plugins) through the same code.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls.ts';

interface Case {
  name: string;
  /** Writes the config file (and whatever it names) into dir; returns its text. */
  config(dir: string, cert: TestCertificate, other: TestCertificate): string;
  /** What the error must say: the file (and line) or key that is wrong. */
  error: (dir: string) => RegExp;
}

const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const tlsKeys = (cert: TestCertificate) => `tls:\n  certFile: ${cert.certFile}\n  keyFile: ${cert.keyFile}\n`;

const CASES: Case[] = [
  {
    name: 'a client_ca_file that does not exist',
    config: (dir, cert) => {
      writeFileSync(
        join(dir, 'web.yml'),
        `tls_server_config:\n  cert_file: ${cert.certFile}\n  key_file: ${cert.keyFile}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${join(dir, 'missing-ca.pem')}\n`,
      );
      return `web:\n  config:\n    file: ${join(dir, 'web.yml')}\n`;
    },
    error: (dir) =>
      new RegExp(
        `^promgate: ${esc(join(dir, 'missing-ca.pem'))}: tls_server_config\\.client_ca_file: cannot read: file does not exist\\n$`,
      ),
  },
  {
    name: 'a certificate file that does not exist',
    config: (dir, cert) => `tls:\n  certFile: ${join(dir, 'missing.crt')}\n  keyFile: ${cert.keyFile}\n`,
    error: (dir) =>
      new RegExp(`^promgate: ${esc(join(dir, 'missing.crt'))}: tls\\.certFile: cannot read: file does not exist\\n$`),
  },
  {
    name: 'a key file that does not exist',
    config: (dir, cert) => `tls:\n  certFile: ${cert.certFile}\n  keyFile: ${join(dir, 'missing.key')}\n`,
    error: (dir) =>
      new RegExp(`^promgate: ${esc(join(dir, 'missing.key'))}: tls\\.keyFile: cannot read: file does not exist\\n$`),
  },
  {
    name: 'a key that does not match the certificate',
    config: (_dir, cert, other) => `tls:\n  certFile: ${cert.certFile}\n  keyFile: ${other.keyFile}\n`,
    error: () => /^promgate: \S+tls\.key: tls\.keyFile: does not match the certificate in \S+tls\.crt\n$/,
  },
  {
    name: 'an htpasswd file that cannot be read (a folder)',
    config: (dir, cert) => {
      mkdirSync(join(dir, 'htpasswd'));
      return `${tlsKeys(cert)}auth:\n  htpasswdFile: ${join(dir, 'htpasswd')}\n`;
    },
    error: (dir) => new RegExp(`${esc(join(dir, 'htpasswd'))}.*EISDIR`),
  },
  {
    name: 'an htpasswd file that does not exist',
    config: (dir, cert) => `${tlsKeys(cert)}auth:\n  htpasswdFile: ${join(dir, 'nope.htpasswd')}\n`,
    error: (dir) => new RegExp(`${esc(join(dir, 'nope.htpasswd'))}.*does not exist`),
  },
  {
    name: "a route's upstream that is not a URL",
    config: (_dir, cert) =>
      `${tlsKeys(cert)}routes:\n  - basePath: /a\n    upstream:\n      url: http://127.0.0.1:9\n  - basePath: /b\n    upstream:\n      url: not-a-url\n`,
    error: () => /^promgate: routes\.1 \(\/b\): upstream\.url: must be an http/,
  },
  {
    name: 'a plugin module that does not exist',
    config: (_dir, cert) => `${tlsKeys(cert)}plugins:\n  - module: ./no-such-plugin.ts\n    stage: beforeAuth\n`,
    error: (dir) =>
      new RegExp(`^promgate: ${esc(join(dir, 'no-such-plugin.ts'))}: plugins\\.0: cannot load the plugin`),
  },
  {
    name: 'a web config header promgate cannot set',
    config: (dir, cert) => {
      writeFileSync(join(dir, 'web.yml'), `http_server_config:\n  headers:\n    Content-Type: text/html\n`);
      return `${tlsKeys(cert)}web:\n  config:\n    file: ${join(dir, 'web.yml')}\n`;
    },
    error: (dir) =>
      new RegExp(
        `^promgate: ${esc(join(dir, 'web.yml'))}:3: http_server_config\\.headers\\.Content-Type: HTTP header "Content-Type" can not be configured`,
      ),
  },
  {
    name: 'a role name with a typo, at its line, with a suggestion',
    config: (_dir, cert) => `${tlsKeys(cert)}accessControl:\n  users:\n    alice: admn\n`,
    error: (dir) =>
      new RegExp(
        `^promgate: ${esc(join(dir, 'config.yml'))}:6: accessControl\\.users\\.alice: unknown role "admn" \\(did you mean "admin"\\?\\)\\n$`,
      ),
  },
  {
    name: "a route's role typo, at the route's line",
    config: (_dir, cert) =>
      `${tlsKeys(cert)}routes:\n  - basePath: /a\n    upstream:\n      url: http://127.0.0.1:9\n    accessControl:\n      defaultRole: veiwer\n`,
    error: (dir) =>
      new RegExp(
        `^promgate: ${esc(join(dir, 'config.yml'))}:9: routes\\.0\\.accessControl\\.defaultRole: unknown role "veiwer" \\(did you mean "viewer"\\?\\)\\n$`,
      ),
  },
];

describe('check-config refuses what a start refuses', () => {
  for (const each of CASES) {
    it(`refuses ${each.name}, as a start does, with the same message`, async () => {
      const [cert, other] = await Promise.all([makeTestCertificate(), makeTestCertificate()]);
      const dir = mkdtempSync(join(tmpdir(), 'promgate-check-'));
      const file = join(dir, 'config.yml');
      writeFileSync(file, each.config(dir, cert, other));
      const port = await freePort();
      const [checked, started] = await Promise.all([
        runCli(['check-config', '--config.file', file]),
        runCli(['--config.file', file, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error']),
      ]);
      assert.equal(checked.code, 1, `check-config: ${checked.stdout}${checked.stderr}`);
      assert.match(checked.stderr, each.error(dir));
      assert.equal(started.code, 1, `start: ${started.stderr}`);
      assert.equal(started.stderr, checked.stderr);
    });
  }

  it('opens nothing: no upstream poll, no Redis connection, no listener', async () => {
    const cert = await makeTestCertificate();
    let contacted = 0;
    const watcher = createServer((_req, res) => res.end()).on('connection', () => contacted++);
    await new Promise<void>((resolve) => watcher.listen(0, '127.0.0.1', resolve));
    const port = (watcher.address() as { port: number }).port;
    try {
      const dir = mkdtempSync(join(tmpdir(), 'promgate-check-'));
      const file = join(dir, 'config.yml');
      // The same port as upstream and as Redis: any contact shows as a connection.
      writeFileSync(
        file,
        `${tlsKeys(cert)}upstream:\n  url: http://127.0.0.1:${port}\n  readyInterval: 10ms\nrateLimit:\n  redis:\n    url: redis://127.0.0.1:${port}/0\n`,
      );
      const result = await runCli(['check-config', '--config.file', file]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^config OK/);
      assert.equal(contacted, 0);
    } finally {
      watcher.close();
    }
  });

  it('passes a setup a start accepts, naming the certificate it would serve', async () => {
    const cert = await makeTestCertificate();
    const dir = mkdtempSync(join(tmpdir(), 'promgate-check-'));
    const file = join(dir, 'config.yml');
    writeFileSync(file, `${tlsKeys(cert)}accessControl:\n  users:\n    alice: admin\n`);
    const result = await runCli(['check-config', '--config.file', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        `^config OK \\(${esc(file)}\\): http://localhost:9090 under /prometheus, certificate ${esc(cert.certFile)} \\(SHA-256 `,
      ),
    );
  });
});
