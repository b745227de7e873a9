import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import { createServer, type GatewayServer, type Logger } from '../../src/index.ts';
import { issueServerCertificate, makeCa, type IssuedCertificate } from '../helpers/pki.ts';
import { startUpstream } from '../helpers/upstream.ts';

/** Atomically puts a pair in place, key first, as a deploy tool would. */
function install(pair: IssuedCertificate, dir: string): void {
  copyFileSync(pair.keyFile, join(dir, 'tls.key.new'));
  copyFileSync(pair.certFile, join(dir, 'tls.crt.new'));
  renameSync(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
  renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
}

function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await condition()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('certificate hot reload', () => {
  it('serves each of 10 replaced certificates within 2 s while no request of a steady load fails', async () => {
    const ca = await makeCa('rotation CA');
    const pairs = await Promise.all(Array.from({ length: 11 }, () => issueServerCertificate(ca)));
    const dir = mkdtempSync(join(tmpdir(), 'promgate-rotate-'));
    install(pairs[0]!, dir);
    const upstream = await startUpstream();
    const handle = await createServer({
      web: { listenAddress: '127.0.0.1:0' },
      upstream: upstream.url,
      tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
    });
    const port = handle.address.port;
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 4, ca: ca.certPem });
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const worker = async (agent: Agent | false) => {
      while (running) {
        await new Promise<void>((resolve) => {
          const req = request({ hostname: '127.0.0.1', port, path: '/prometheus/api/v1/query', servername: 'localhost', ca: ca.certPem, agent }, (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? ok++ : failures.push(`status ${res.statusCode}`), resolve()));
          });
          req.on('error', (error) => (failures.push(error.message), resolve()));
          req.end();
        });
      }
    };
    const load = [worker(false), worker(false), worker(keepAlive), worker(keepAlive)];
    try {
      for (const pair of pairs.slice(1)) {
        install(pair, dir);
        const expected = new X509Certificate(pair.certPem).fingerprint256;
        const took = await until(async () => (await servedFingerprint(port, ca.certPem)) === expected, 'the new certificate');
        assert.ok(took <= 2000, `took ${took} ms`);
        assert.equal(handle.credentials.fingerprint, expected);
      }
    } finally {
      running = false;
      await Promise.all(load);
      keepAlive.destroy();
      await handle.close();
      await upstream.close();
    }
    assert.deepEqual(failures, []);
    assert.ok(ok > 100, `only ${ok} requests ran`);
  });

  it('follows the files a changed web config names (found in review: it kept watching the old ones)', async () => {
    const ca = await makeCa('follow CA');
    const [first, second, third] = await Promise.all([issueServerCertificate(ca), issueServerCertificate(ca), issueServerCertificate(ca)]);
    const root = mkdtempSync(join(tmpdir(), 'promgate-follow-'));
    const [a, b] = [join(root, 'a'), join(root, 'b')];
    for (const dir of [a, b]) mkdirSync(dir);
    install(first!, a);
    install(second!, b);
    const file = join(root, 'web.yml');
    const point = (dir: string) => {
      writeFileSync(`${file}.new`, `tls_server_config:\n  cert_file: ${dir}/tls.crt\n  key_file: ${dir}/tls.key\n`);
      renameSync(`${file}.new`, file);
    };
    point(a);
    const handle = await createServer({ web: { listenAddress: '127.0.0.1:0', config: { file } }, upstream: 'http://127.0.0.1:1' });
    const served = (pair: IssuedCertificate) => async () => (await servedFingerprint(handle.address.port, ca.certPem)) === new X509Certificate(pair.certPem).fingerprint256;
    try {
      point(b);
      await until(served(second!), "b's certificate");
      install(third!, b); // a renewal at the new place
      await until(served(third!), "b's renewed certificate");
    } finally {
      await handle.close();
    }
  });

  it('keeps the old certificate when the new key does not match, and logs one error', async () => {
    const ca = await makeCa('mismatch CA');
    const [first, second, third] = await Promise.all([issueServerCertificate(ca), issueServerCertificate(ca), issueServerCertificate(ca)]);
    const dir = mkdtempSync(join(tmpdir(), 'promgate-mismatch-'));
    install(first!, dir);
    const errors: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (_fields, message) => void errors.push(message) };
    const handle: GatewayServer = await createServer({ web: { listenAddress: '127.0.0.1:0' }, upstream: 'http://127.0.0.1:1', tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }, logger });
    try {
      const original = new X509Certificate(first!.certPem).fingerprint256;
      writeFileSync(join(dir, 'tls.crt.new'), second!.certPem);
      renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt')); // the key stays the first one's
      await until(async () => errors.length > 0, 'the error');
      assert.match(errors[0] ?? '', /TLS reload failed, keeping the previous certificate and settings: .*tls\.key: tls\.keyFile: does not match the certificate/);
      assert.equal(await servedFingerprint(handle.address.port, ca.certPem), original);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(errors.length, 1, 'one error per bad version, not one per check');
      install(third!, dir);
      await until(async () => (await servedFingerprint(handle.address.port, ca.certPem)) === new X509Certificate(third!.certPem).fingerprint256, 'the good pair');
    } finally {
      await handle.close();
    }
  });
});
