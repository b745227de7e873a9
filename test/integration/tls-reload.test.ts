import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import { createServer, type GatewayServer, type Logger } from '../../src/index.ts';
import { issueClientCertificate, issueServerCertificate, makeCa, type IssuedCertificate } from '../helpers/pki.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

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
          const req = request(
            {
              hostname: '127.0.0.1',
              port,
              path: '/prometheus/api/v1/query',
              servername: 'localhost',
              ca: ca.certPem,
              agent,
            },
            (res) => {
              res.resume();
              res.on(
                'end',
                () => (res.statusCode === 200 ? ok++ : failures.push(`status ${res.statusCode}`), resolve()),
              );
            },
          );
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
        const started = performance.now();
        await waitFor(async () => (await servedFingerprint(port, ca.certPem)) === expected, {
          message: 'the new certificate',
        });
        const took = performance.now() - started;
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
    const [first, second, third] = await Promise.all([
      issueServerCertificate(ca),
      issueServerCertificate(ca),
      issueServerCertificate(ca),
    ]);
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
    const handle = await createServer({
      web: { listenAddress: '127.0.0.1:0', config: { file } },
      upstream: 'http://127.0.0.1:1',
    });
    const served = (pair: IssuedCertificate) => async () =>
      (await servedFingerprint(handle.address.port, ca.certPem)) === new X509Certificate(pair.certPem).fingerprint256;
    try {
      point(b);
      await waitFor(served(second!), { message: "b's certificate" });
      install(third!, b); // a renewal at the new place
      await waitFor(served(third!), { message: "b's renewed certificate" });
    } finally {
      await handle.close();
    }
  });

  it('keeps the old certificate when the new key does not match, and logs one error', async () => {
    const ca = await makeCa('mismatch CA');
    const [first, second, third] = await Promise.all([
      issueServerCertificate(ca),
      issueServerCertificate(ca),
      issueServerCertificate(ca),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'promgate-mismatch-'));
    install(first!, dir);
    const errors: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (_fields, message) => void errors.push(message) };
    const handle: GatewayServer = await createServer({
      web: { listenAddress: '127.0.0.1:0' },
      upstream: 'http://127.0.0.1:1',
      tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
      logger,
    });
    try {
      const original = new X509Certificate(first!.certPem).fingerprint256;
      writeFileSync(join(dir, 'tls.crt.new'), second!.certPem);
      renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt')); // the key stays the first one's
      await waitFor(() => errors.length > 0, { message: 'the error' });
      assert.match(
        errors[0] ?? '',
        /TLS reload failed, keeping the previous certificate and settings: .*tls\.key: tls\.keyFile: does not match the certificate/,
      );
      assert.equal(await servedFingerprint(handle.address.port, ca.certPem), original);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // kept: the test is that checks over several intervals log nothing more
      assert.equal(errors.length, 1, 'one error per bad version, not one per check');
      install(third!, dir);
      await waitFor(
        async () =>
          (await servedFingerprint(handle.address.port, ca.certPem)) ===
          new X509Certificate(third!.certPem).fingerprint256,
        { message: 'the good pair' },
      );
    } finally {
      await handle.close();
    }
  });
});

/** Resolves with each next log line matching a pattern: reloads are awaited on their log, not a sleep. */
function recordingLogger() {
  const waiting: Array<{ pattern: RegExp; resolve: (message: string) => void }> = [];
  const lines: string[] = [];
  const record = (_fields: unknown, message: string) => {
    lines.push(message);
    for (const waiter of waiting.filter((each) => each.pattern.test(message))) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  };
  const logger: Logger = { debug() {}, info: record, warn: record, error: record };
  const next = (pattern: RegExp) => new Promise<string>((resolve) => waiting.push({ pattern, resolve }));
  return { logger, lines, next };
}

/** One request on a fresh connection: 'ok' (200) or 'refused' (the handshake or the connection failed). */
function tryRequest(port: number, ca: string, client?: IssuedCertificate): Promise<'ok' | 'refused' | number> {
  return new Promise((resolve) => {
    const req = request(
      {
        hostname: '127.0.0.1',
        port,
        path: '/prometheus/api/v1/query',
        servername: 'localhost',
        ca,
        agent: false,
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? 'ok' : (res.statusCode ?? 0)));
        res.on('error', () => resolve('refused'));
      },
    );
    req.on('error', () => resolve('refused'));
    req.end();
  });
}

describe('client certificate settings on reload (client_auth_type, client CA)', () => {
  it('applies client_auth_type and CA changes to new connections, and keeps the last good ones when the CA file is bad', async () => {
    const [serverCa, caA, caB] = await Promise.all([makeCa('server CA'), makeCa('clients A'), makeCa('clients B')]);
    const [serverPair, clientA, clientB, selfSigned] = await Promise.all([
      issueServerCertificate(serverCa),
      issueClientCertificate(caA, 'client-a'),
      issueClientCertificate(caB, 'client-b'),
      issueClientCertificate(undefined, 'self-signed'),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'promgate-clientauth-reload-'));
    install(serverPair, dir);
    const file = join(dir, 'web.yml');
    const caFile = join(dir, 'clients.crt');
    const replace = (path: string, text: string) => {
      writeFileSync(`${path}.new`, text);
      renameSync(`${path}.new`, path);
    };
    const webConfig = (clientAuth: string) =>
      replace(file, `tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n${clientAuth}`);
    webConfig('');
    const { logger, lines, next } = recordingLogger();
    const upstream = await startUpstream();
    const handle = await createServer({
      web: { listenAddress: '127.0.0.1:0', config: { file } },
      upstream: upstream.url,
      logger,
    });
    const clients = { none: undefined, 'client A': clientA, 'client B': clientB, 'self-signed': selfSigned };
    const outcomes = async () => {
      const results: Record<string, string | number> = {};
      for (const [name, client] of Object.entries(clients))
        results[name] = await tryRequest(handle.address.port, serverCa.certPem, client);
      return results;
    };
    const reloaded = /^reloaded TLS certificate and web config$/;
    const failed = /^TLS reload failed, keeping the previous certificate and settings/;
    // Each step: what changes on disk, the log line that says it was taken (or refused), then who gets in.
    const steps: Array<[string, () => void, RegExp, Record<string, string>]> = [
      [
        'NoClientCert to RequireAndVerifyClientCert with CA A',
        () => (
          replace(caFile, caA.certPem),
          webConfig('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: clients.crt\n')
        ),
        reloaded,
        { none: 'refused', 'client A': 'ok', 'client B': 'refused', 'self-signed': 'refused' },
      ],
      [
        'the CA file swapped to CA B',
        () => replace(caFile, caB.certPem),
        reloaded,
        { none: 'refused', 'client A': 'refused', 'client B': 'ok', 'self-signed': 'refused' },
      ],
      [
        'a CA file with no certificate: kept CA B',
        () => replace(caFile, 'not a certificate\n'),
        failed,
        { none: 'refused', 'client A': 'refused', 'client B': 'ok', 'self-signed': 'refused' },
      ],
      [
        'a truncated CA file: kept CA B',
        () => replace(caFile, `${caA.certPem.slice(0, 200)}\n-----END CERTIFICATE-----\n`),
        failed,
        { none: 'refused', 'client A': 'refused', 'client B': 'ok', 'self-signed': 'refused' },
      ],
      [
        'CA A and B in one file',
        () => replace(caFile, caA.certPem + caB.certPem),
        reloaded,
        { none: 'refused', 'client A': 'ok', 'client B': 'ok', 'self-signed': 'refused' },
      ],
      [
        'a missing client_ca_file: kept A and B',
        () => webConfig('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: gone.crt\n'),
        failed,
        { none: 'refused', 'client A': 'ok', 'client B': 'ok', 'self-signed': 'refused' },
      ],
      [
        'RequireAnyClientCert',
        () => webConfig('  client_auth_type: RequireAnyClientCert\n'),
        reloaded,
        { none: 'refused', 'client A': 'ok', 'client B': 'ok', 'self-signed': 'ok' },
      ],
      [
        'VerifyClientCertIfGiven with CA B (inline)',
        () =>
          webConfig(
            `  client_auth_type: VerifyClientCertIfGiven\n  client_ca: |\n${caB.certPem.trimEnd().replace(/^/gm, '    ')}\n`,
          ),
        reloaded,
        { none: 'ok', 'client A': 'refused', 'client B': 'ok', 'self-signed': 'refused' },
      ],
      [
        'back to NoClientCert',
        () => webConfig(''),
        reloaded,
        { none: 'ok', 'client A': 'ok', 'client B': 'ok', 'self-signed': 'ok' },
      ],
    ];
    try {
      assert.deepEqual(await outcomes(), { none: 'ok', 'client A': 'ok', 'client B': 'ok', 'self-signed': 'ok' });
      for (const [name, change, logged, expected] of steps) {
        const outcome = next(/^(reloaded TLS|TLS reload failed)/);
        change();
        assert.match(await outcome, logged, `after: ${name}`);
        assert.deepEqual(await outcomes(), expected, `after: ${name} (log: ${lines.at(-1)})`);
      }
    } finally {
      await handle.close();
      await upstream.close();
    }
  });
});
