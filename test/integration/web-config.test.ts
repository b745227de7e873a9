import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { createServer } from '../../src/index.ts';
import { basicAuth, httpsRequest } from '../helpers/client.ts';
import { runCli } from '../helpers/cli.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const exec = promisify(execFile);

/** A folder like /etc/prometheus: web.yml next to certs/ with relative paths. */
async function prometheusStyleFolder(webYml: (bcrypt: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'promgate-webcfg-'));
  const cert = await makeTestCertificate();
  mkdirSync(join(dir, 'certs'));
  copyFileSync(cert.certFile, join(dir, 'certs/server.crt'));
  copyFileSync(cert.keyFile, join(dir, 'certs/server.key'));
  const hashed = await runCli(['hash-password'], { input: 'from web config' });
  const file = join(dir, 'web.yml');
  writeFileSync(file, webYml(hashed.stdout.trim()));
  return { dir, file, cert };
}

describe('--web.config.file', { skip: requireCommands('htpasswd') }, () => {
  it("serves with the file's certificate, users and headers, next to htpasswd users", async () => {
    const { file, cert } = await prometheusStyleFolder(
      (hash) =>
        `tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  webuser: ${hash}\n`,
    );
    const htpasswd = writeHtpasswd([{ user: 'fileuser', password: 'from htpasswd', flag: '-B' }]);
    const upstream = await startUpstream();
    const handle = await createServer({
      web: { listenAddress: '127.0.0.1:0', config: { file } },
      upstream: upstream.url,
      auth: { htpasswdFile: htpasswd },
    });
    try {
      const origin = `https://127.0.0.1:${handle.address.port}`;
      const get = (authorization?: string) =>
        httpsRequest(origin, '/prometheus/api/v1/query', {
          ca: cert.cert,
          headers: authorization ? { authorization } : {},
        });
      assert.equal(handle.credentials.certFile, join(file, '..', 'certs/server.crt'));
      assert.equal((await get(basicAuth('webuser', 'from web config'))).status, 200);
      assert.equal((await get(basicAuth('fileuser', 'from htpasswd'))).status, 200);
      assert.equal((await get(basicAuth('webuser', 'wrong'))).status, 401);
      const anonymous = await get();
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers['x-frame-options'], 'deny');
    } finally {
      await handle.close();
      await upstream.close();
    }
  });

  it('applies min_version', async () => {
    const { file } = await prometheusStyleFolder(
      () => 'tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\n  min_version: TLS13\n',
    );
    const handle = await createServer({
      web: { listenAddress: '127.0.0.1:0', config: { file } },
      upstream: 'http://127.0.0.1:1',
    });
    try {
      const handshake = (maxVersion: 'TLSv1.2' | 'TLSv1.3') =>
        new Promise<string | null>((resolve, reject) => {
          const socket = connect(
            { host: '127.0.0.1', port: handle.address.port, rejectUnauthorized: false, maxVersion },
            () => {
              resolve(socket.getProtocol());
              socket.end();
            },
          );
          socket.on('error', reject);
        });
      assert.equal(await handshake('TLSv1.3'), 'TLSv1.3');
      await assert.rejects(handshake('TLSv1.2'));
      if (!requireCommands('openssl')) {
        const sClient = async (flag: string) => {
          const run = exec('openssl', ['s_client', '-connect', `127.0.0.1:${handle.address.port}`, flag], {
            timeout: 10_000,
          });
          run.child.stdin?.end();
          return run.then(
            ({ stdout }) => stdout,
            () => 'FAILED',
          );
        };
        assert.match(await sClient('-tls1_3'), /Protocol\s*: TLSv1\.3|New, TLSv1\.3/);
        assert.equal(await sClient('-tls1_2'), 'FAILED');
      }
    } finally {
      await handle.close();
    }
  });

  it('applies cipher_suites and curve_preferences, as openssl s_client sees them', {
    skip: requireCommands('openssl'),
  }, async () => {
    const { file } = await prometheusStyleFolder(
      () =>
        'tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n  curve_preferences: [CurveP384]\n',
    );
    const handle = await createServer({
      web: { listenAddress: '127.0.0.1:0', config: { file } },
      upstream: 'http://127.0.0.1:1',
    });
    // openssl s_client with stdin closed: it handshakes, prints the session and quits.
    const sClient = async (...args: string[]) => {
      const run = exec('openssl', ['s_client', '-connect', `127.0.0.1:${handle.address.port}`, ...args], {
        timeout: 10_000,
      });
      run.child.stdin?.end();
      try {
        return (await run).stdout;
      } catch (error) {
        return `FAILED ${(error as { stdout?: string }).stdout ?? ''}`;
      }
    };
    try {
      assert.match(
        await sClient('-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384'),
        /Cipher is ECDHE-ECDSA-AES256-GCM-SHA384/,
      );
      assert.match(await sClient('-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'), /^FAILED/);
      assert.match(await sClient('-tls1_3', '-groups', 'P-384'), /Server Temp Key: ECDH, secp384r1/);
      assert.match(await sClient('-tls1_3', '-groups', 'X25519'), /^FAILED/);
    } finally {
      await handle.close();
    }
  });

  it('rate_limit answers 429 with Retry-After before authentication', async () => {
    const { file, cert } = await prometheusStyleFolder(
      (hash) =>
        `tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\nbasic_auth_users:\n  alice: ${hash}\nrate_limit:\n  interval: 1m\n  burst: 2\n`,
    );
    const upstream = await startUpstream();
    const handle = await createServer({
      web: { listenAddress: '127.0.0.1:0', config: { file } },
      upstream: upstream.url,
    });
    try {
      const origin = `https://127.0.0.1:${handle.address.port}`;
      const statuses = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await httpsRequest(origin, '/prometheus/api/v1/query', { ca: cert.cert })).status);
      assert.deepEqual(statuses, [401, 401, 429]);
      const limited = await httpsRequest(origin, '/prometheus/api/v1/query', {
        ca: cert.cert,
        headers: { authorization: basicAuth('alice', 'from web config') },
      });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers['retry-after'], '60');
      assert.equal(upstream.requests.length, 0);
    } finally {
      await handle.close();
      await upstream.close();
    }
  });

  it('reloads users and headers when the file changes, and keeps them when the new file is bad', async () => {
    const bobHash = (await runCli(['hash-password'], { input: 'bob pw' })).stdout.trim();
    const { file, cert } = await prometheusStyleFolder(
      (hash) =>
        `tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  alice: ${hash}\n`,
    );
    const upstream = await startUpstream();
    const errors: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn() {},
      error: (_fields: unknown, message: string) => void errors.push(message),
    };
    const handle = await createServer({
      web: { listenAddress: '127.0.0.1:0', config: { file } },
      upstream: upstream.url,
      logger,
    });
    const origin = `https://127.0.0.1:${handle.address.port}`;
    const get = (user: string, password: string) =>
      httpsRequest(origin, '/prometheus/api/v1/query', {
        ca: cert.cert,
        headers: { authorization: basicAuth(user, password) },
      });
    const replace = (text: string) => {
      writeFileSync(`${file}.new`, text);
      renameSync(`${file}.new`, file);
    };
    try {
      assert.equal((await get('alice', 'from web config')).status, 200);
      replace(
        `tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\nhttp_server_config:\n  headers:\n    X-Frame-Options: sameorigin\nbasic_auth_users:\n  bob: ${bobHash}\n`,
      );
      // Each try is a failed login until the reload: slow enough to stay under the per-user limit (10).
      await waitFor(async () => (await get('bob', 'bob pw')).status === 200, { intervalMs: 250, message: 'bob' });
      assert.equal((await get('alice', 'from web config')).status, 401);
      assert.equal((await get('bob', 'bob pw')).headers['x-frame-options'], 'sameorigin');
      replace(
        'tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\nbasic_auth_userz: {}\n',
      );
      await waitFor(() => errors.length > 0, { message: 'the error' });
      assert.match(
        errors[0] ?? '',
        /keeping the previous certificate and settings: .*web\.yml:4: basic_auth_userz: unknown field/,
      );
      assert.equal((await get('bob', 'bob pw')).status, 200, 'the last good users stay');
    } finally {
      await handle.close();
      await upstream.close();
    }
  });

  it('refuses a user that is in both sources, and a certificate configured twice', async () => {
    const { file, cert } = await prometheusStyleFolder(
      (hash) =>
        `tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\nbasic_auth_users:\n  alice: ${hash}\n`,
    );
    const htpasswd = writeHtpasswd([{ user: 'alice', password: 'x', flag: '-B' }]);
    await assert.rejects(
      createServer({ web: { listenAddress: '127.0.0.1:0', config: { file } }, auth: { htpasswdFile: htpasswd } }),
      {
        message: `${htpasswd}: user "alice" is also in ${file}; keep one`,
      },
    );
    await assert.rejects(
      createServer({
        web: { listenAddress: '127.0.0.1:0', config: { file } },
        tls: { certFile: cert.certFile, keyFile: cert.keyFile },
      }),
      {
        message: /the certificate is configured twice/,
      },
    );
  });

  it('check-config validates it the same way', async () => {
    const good = await prometheusStyleFolder(
      (hash) =>
        `tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\nbasic_auth_users:\n  alice: ${hash}\n`,
    );
    const ok = await runCli(['check-config', '--web.config.file', good.file]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /certificate .*certs\/server\.crt/);
    const bad = await prometheusStyleFolder(
      () => 'tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/missing.key\n',
    );
    const failed = await runCli(['check-config', '--web.config.file', bad.file]);
    assert.equal(failed.code, 1);
    assert.equal(
      failed.stderr,
      `promgate: ${join(bad.dir, 'certs/missing.key')}: tls_server_config.key_file: cannot read: file does not exist\n`,
    );
  });
});
