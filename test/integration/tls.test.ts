import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { describe, it } from 'node:test';
import { ConfigError, createServer, type Logger } from '../../src/index.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { startCli } from '../helpers/cli.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

function peerCertificate(
  port: number,
  options: {
    minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2';
    maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  } = {},
) {
  return new Promise<{ raw: Buffer; protocol: string | null }>((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      resolve({ raw: socket.getPeerX509Certificate()!.raw, protocol: socket.getProtocol() });
      socket.end();
    });
    socket.on('error', reject);
  });
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('TLS listener', () => {
  it('generates a development certificate when none is configured, and warns with its fingerprint', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'promgate-devcert-'));
    const warnings: Array<Record<string, unknown>> = [];
    const logger: Logger = { debug() {}, info() {}, error() {}, warn: (fields) => void warnings.push(fields) };
    const handle = await createServer({ web: { listenAddress: '127.0.0.1:0' }, cwd, logger });
    try {
      const certFile = join(cwd, 'certs/tls.crt');
      const keyFile = join(cwd, 'certs/tls.key');
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      const served = new X509Certificate((await peerCertificate(handle.address.port)).raw);
      const onDisk = new X509Certificate(await import('node:fs').then((fs) => fs.readFileSync(certFile)));
      assert.equal(served.fingerprint256, onDisk.fingerprint256);
      for (const san of ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', `DNS:${hostname()}`]) {
        assert.ok(served.subjectAltName?.includes(san), `${san} in ${served.subjectAltName}`);
      }
      assert.equal(warnings[0]?.sha256_fingerprint, served.fingerprint256);
    } finally {
      await handle.close();
    }
  });

  it('refuses to start when a configured certificate is missing, naming the file', async () => {
    const cert = await makeTestCertificate();
    await assert.rejects(
      createServer({
        web: { listenAddress: '127.0.0.1:0' },
        tls: { certFile: join(cert.dir, 'missing.crt'), keyFile: cert.keyFile },
      }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message === `${join(cert.dir, 'missing.crt')}: tls.certFile: cannot read: file does not exist`,
    );
  });

  it('refuses a key that does not match the certificate', async () => {
    const [a, b] = await Promise.all([makeTestCertificate(), makeTestCertificate({ keyType: 'rsa' })]);
    await assert.rejects(
      createServer({ web: { listenAddress: '127.0.0.1:0' }, tls: { certFile: a.certFile, keyFile: b.keyFile } }),
      {
        message: `${b.keyFile}: tls.keyFile: does not match the certificate in ${a.certFile}`,
      },
    );
  });

  it('exits 1 with one line naming the file, and nothing listening, when the CLI gets a bad certificate', async () => {
    const cert = await makeTestCertificate();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const cli = startCli([
      '--web.listen-address',
      `127.0.0.1:${port}`,
      '--tls.cert-file',
      join(cert.dir, 'nope.crt'),
      '--tls.key-file',
      cert.keyFile,
    ]);
    const code = await cli.exited;
    assert.equal(code, 1);
    assert.equal(cli.logs().trim().split('\n').length, 1);
    assert.match(cli.logs(), /nope\.crt: tls\.certFile: cannot read: file does not exist/);
    assert.equal(await isListening(port), false);
  });

  it('speaks TLS 1.3 and 1.2 and refuses TLS 1.1', async () => {
    const gateway = await startTestGateway({ upstream: 'http://127.0.0.1:1' });
    try {
      assert.equal((await peerCertificate(gateway.handle.address.port)).protocol, 'TLSv1.3');
      assert.equal((await peerCertificate(gateway.handle.address.port, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
      await assert.rejects(
        peerCertificate(gateway.handle.address.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }),
      );
      if (!requireCommands('openssl')) {
        // The real client too: TLS 1.1 is refused, TLS 1.2 gets a forward-secret AEAD suite.
        const sClient = async (...args: string[]) => {
          const run = exec('openssl', ['s_client', '-connect', `127.0.0.1:${gateway.handle.address.port}`, ...args], {
            timeout: 10_000,
          });
          run.child.stdin?.end();
          return run.then(
            ({ stdout }) => stdout,
            () => 'FAILED',
          );
        };
        assert.equal(await sClient('-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'), 'FAILED');
        assert.match(await sClient('-tls1_2'), /Cipher is ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/);
        assert.equal(await sClient('-tls1_2', '-cipher', 'AES128-SHA'), 'FAILED', 'no RSA key exchange, no CBC');
      }
    } finally {
      await gateway.close();
    }
  });
});
