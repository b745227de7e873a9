import assert from 'node:assert/strict';
import { request } from 'node:https';
import { describe, it } from 'node:test';
import { cleanEnv, startCli } from '../helpers/cli.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { startUpstream } from '../helpers/upstream.ts';

/** Sends a request that the (silent) upstream will never answer; resolves how it ended. */
function hangingRequest(port: number, ca: string): { sent: Promise<void>; outcome: Promise<string> } {
  let markSent!: () => void;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  const outcome = new Promise<string>((resolve) => {
    const req = request({ hostname: '127.0.0.1', port, path: '/prometheus/api/v1/query_range', ca, servername: 'localhost' }, (res) => {
      res.resume();
      res.on('end', () => resolve(`status ${res.statusCode}`));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    req.end(() => markSent());
  });
  return { sent, outcome };
}

describe('shutdown', () => {
  it('waits for in-flight requests up to the grace period, then cuts them', async () => {
    const upstream = await startUpstream(() => {
      /* a query that never finishes */
    });
    const gateway = await startTestGateway({ upstream: upstream.url, web: { listenAddress: '127.0.0.1:0', shutdownGracePeriod: '400ms' } });
    try {
      const inFlight = hangingRequest(gateway.handle.address.port, gateway.cert.cert);
      await upstream.nextRequest();
      const started = Date.now();
      await gateway.close();
      const took = Date.now() - started;
      assert.ok(took >= 350 && took < 3000, `close took ${took} ms`);
      assert.equal(await inFlight.outcome, 'ECONNRESET');
    } finally {
      await upstream.close();
    }
  });

  it('lets a request that finishes within the grace period complete', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const upstream = await startUpstream((_req, res) => void released.then(() => res.end('{"status":"success"}')));
    const gateway = await startTestGateway({ upstream: upstream.url, web: { listenAddress: '127.0.0.1:0', shutdownGracePeriod: '5s' } });
    try {
      const inFlight = hangingRequest(gateway.handle.address.port, gateway.cert.cert);
      await upstream.nextRequest();
      const closing = gateway.close();
      setTimeout(release, 200);
      assert.equal(await inFlight.outcome, 'status 200');
      await closing;
    } finally {
      await upstream.close();
    }
  });

  it('the CLI exits 0 on SIGTERM within the grace period even with a hanging request', async () => {
    const upstream = await startUpstream(() => {
      /* never answers */
    });
    const cert = await makeTestCertificate();
    const port = await freePort();
    const cli = startCli(
      ['--web.listen-address', `127.0.0.1:${port}`, '--web.shutdown-grace-period', '500ms', '--tls.cert-file', cert.certFile, '--tls.key-file', cert.keyFile],
      { env: cleanEnv({ PROMGATE_UPSTREAM_URL: upstream.url }) },
    );
    try {
      await cli.listening;
      const inFlight = hangingRequest(port, cert.cert);
      await upstream.nextRequest();
      const started = Date.now();
      const code = await cli.stop('SIGTERM');
      assert.equal(code, 0, cli.logs());
      assert.ok(Date.now() - started < 3000);
      assert.equal(await inFlight.outcome, 'ECONNRESET');
      assert.match(cli.logs(), /shutdown grace period over/);
    } finally {
      await cli.stop('SIGKILL');
      await upstream.close();
    }
  });
});

describe('shutdown with slow or idle clients (found in review)', () => {
  it('does not wait past the grace period for a connection stuck before its TLS handshake', async () => {
    const gateway = await startTestGateway({ upstream: 'http://127.0.0.1:1', web: { listenAddress: '127.0.0.1:0', shutdownGracePeriod: '300ms' } });
    const { connect } = await import('node:net');
    const idle = connect(gateway.handle.address.port, '127.0.0.1');
    idle.on('error', () => undefined);
    await new Promise((resolve) => idle.once('connect', resolve));
    const started = Date.now();
    await gateway.close();
    assert.ok(Date.now() - started < 3000, `close took ${Date.now() - started} ms`);
    idle.destroy();
  });

  it('tells keep-alive clients to go elsewhere once shutdown began', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const upstream = await startUpstream((req, res) => void (req.url?.includes('slow') ? released : Promise.resolve()).then(() => res.end('{}')));
    const gateway = await startTestGateway({ upstream: upstream.url, web: { listenAddress: '127.0.0.1:0', shutdownGracePeriod: '5s' } });
    const { Agent } = await import('node:https');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await gateway.request('/prometheus/api/v1/query', { agent });
      assert.notEqual(before.headers.connection, 'close');
      // A request in flight on a keep-alive connection when shutdown begins.
      const inFlight = gateway.request('/prometheus/api/v1/slow', { agent });
      await upstream.nextRequest();
      const closing = gateway.close();
      release();
      const during = await inFlight;
      assert.equal(during.status, 200);
      assert.equal(during.headers.connection, 'close');
      await closing;
    } finally {
      agent.destroy();
      await upstream.close();
    }
  });
});

describe('answers outside the base path', () => {
  it('carry the security headers too', async () => {
    const gateway = await startTestGateway({ upstream: 'http://127.0.0.1:1' });
    try {
      const response = await gateway.request('/');
      assert.equal(response.status, 404);
      assert.equal(response.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.ok(response.headers['content-security-policy']);
    } finally {
      await gateway.close();
    }
  });
});
