import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
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
    const req = request(
      { hostname: '127.0.0.1', port, path: '/prometheus/api/v1/query_range', ca, servername: 'localhost' },
      (res) => {
        res.resume();
        res.on('end', () => resolve(`status ${res.statusCode}`));
      },
    );
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
    const gateway = await startTestGateway({
      upstream: upstream.url,
      web: { listenAddress: '127.0.0.1:0', shutdownGracePeriod: '400ms' },
    });
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
    const gateway = await startTestGateway({
      upstream: upstream.url,
      web: { listenAddress: '127.0.0.1:0', shutdownGracePeriod: '5s' },
    });
    try {
      const inFlight = hangingRequest(gateway.handle.address.port, gateway.cert.cert);
      await upstream.nextRequest();
      const closing = gateway.close();
      setTimeout(release, 200); // kept: the answer must come while close() waits, not before it began
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
      [
        '--web.listen-address',
        `127.0.0.1:${port}`,
        '--web.shutdown-grace-period',
        '500ms',
        '--tls.cert-file',
        cert.certFile,
        '--tls.key-file',
        cert.keyFile,
      ],
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
    const gateway = await startTestGateway({
      upstream: 'http://127.0.0.1:1',
      web: { listenAddress: '127.0.0.1:0', shutdownGracePeriod: '300ms' },
    });
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
    const upstream = await startUpstream(
      (req, res) => void (req.url?.includes('slow') ? released : Promise.resolve()).then(() => res.end('{}')),
    );
    const gateway = await startTestGateway({
      upstream: upstream.url,
      web: { listenAddress: '127.0.0.1:0', shutdownGracePeriod: '5s' },
    });
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

interface Outcome {
  /** performance.now() when the request was sent and when it ended */
  started: number;
  ended: number;
  status?: number;
  /** the body arrived whole and is the upstream's answer to this very request */
  intact?: boolean;
  /** set when the request failed; `afterHeaders` when the response had begun (a truncated answer) */
  error?: string;
  afterHeaders?: boolean;
}

/** One GET on a keep-alive agent to an echoing upstream; never rejects, resolves how it ended. */
function timedRequest(port: number, ca: string, agent: Agent, path: string): Promise<Outcome> {
  const started = performance.now();
  const outcome = (rest: Omit<Outcome, 'started' | 'ended'>): Outcome => ({
    started,
    ended: performance.now(),
    ...rest,
  });
  return new Promise((resolve) => {
    const req = request({ hostname: '127.0.0.1', port, path, ca, servername: 'localhost', agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error: NodeJS.ErrnoException) =>
        resolve(outcome({ status: res.statusCode, error: error.code ?? error.message, afterHeaders: true })),
      );
      res.on('end', () => {
        const query = path.slice(path.indexOf('?'));
        const intact =
          Buffer.concat(chunks).toString() ===
          JSON.stringify({ status: 'success', data: { url: `/api/v1/query${query}` } });
        resolve(outcome({ status: res.statusCode, intact }));
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve(outcome({ error: error.code ?? error.message, afterHeaders: false })),
    );
    req.end();
  });
}

describe('shutdown under load', () => {
  it('SIGTERM during a stream of requests: none fails except those arriving after close', {
    timeout: 30_000,
  }, async (t) => {
    const STREAMS = 8;
    // The signal goes out once every stream has a request at the upstream, none between two requests.
    let allBusy!: () => void;
    const busy = new Promise<void>((resolve) => (allBusy = resolve));
    let atUpstream = 0;
    const upstream = await startUpstream((req, res) => {
      const body = JSON.stringify({ status: 'success', data: { url: req.url } });
      if (++atUpstream === STREAMS && upstream.requests.length >= 40) allBusy();
      setTimeout(
        () => {
          atUpstream--;
          res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        },
        100 + Math.random() * 200,
      );
    });
    const cert = await makeTestCertificate();
    const port = await freePort();
    const cli = startCli(
      [
        '--web.listen-address',
        `127.0.0.1:${port}`,
        '--web.shutdown-grace-period',
        '5s',
        '--tls.cert-file',
        cert.certFile,
        '--tls.key-file',
        cert.keyFile,
      ],
      { env: cleanEnv({ PROMGATE_UPSTREAM_URL: upstream.url }) },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: STREAMS });
    try {
      await cli.listening;
      let signalled = false;
      let exited = false;
      const outcomes: Outcome[] = [];
      const stream = async (id: number) => {
        for (let n = 0; !exited; n++) {
          const outcome = await timedRequest(port, cert.cert, agent, `/prometheus/api/v1/query?stream=${id}&n=${n}`);
          outcomes.push(outcome);
          if (outcome.error && signalled) return; // the listener is gone
        }
      };
      const streams = Array.from({ length: STREAMS }, (_, id) => stream(id));
      await busy;
      const signalAt = performance.now();
      signalled = true;
      cli.child.kill('SIGTERM');
      const code = await cli.exited;
      const exitedAfter = performance.now() - signalAt;
      exited = true;
      await Promise.all(streams);
      const before = outcomes.filter((outcome) => outcome.started < signalAt);
      const after = outcomes.filter((outcome) => outcome.started >= signalAt);
      const inFlight = before.filter((outcome) => outcome.ended >= signalAt);
      t.diagnostic(
        `${before.length} requests before the signal (${inFlight.length} in flight), ${after.length} after; exit ${Math.round(exitedAfter)} ms after SIGTERM`,
      );
      t.diagnostic(
        `after the signal: ${JSON.stringify(after.map(({ started, status, error }) => `+${Math.round(started - signalAt)}ms ${status ?? error}`))}`,
      );

      assert.equal(code, 0, cli.logs());
      assert.ok(exitedAfter < 5000, `exited ${Math.round(exitedAfter)} ms after SIGTERM`);
      assert.doesNotMatch(cli.logs(), /shutdown grace period over/);
      assert.equal(inFlight.length, STREAMS, 'requests in flight at the signal');
      assert.deepEqual(
        before.filter((outcome) => outcome.status !== 200 || !outcome.intact),
        [],
        'a request started before SIGTERM failed',
      );
      const connectionErrors = new Set(['ECONNREFUSED', 'ECONNRESET']); // ECONNRESET: also "socket hang up"
      const served = (outcome: Outcome) => outcome.status === 200 && outcome.intact;
      const refused = (outcome: Outcome) => outcome.afterHeaders === false && connectionErrors.has(outcome.error ?? '');
      assert.deepEqual(
        after.filter((outcome) => !served(outcome) && !refused(outcome)),
        [],
        'a request after SIGTERM got neither a 200 nor a connection error',
      );
    } finally {
      agent.destroy();
      await cli.stop('SIGKILL');
      await upstream.close();
    }
  });
});

describe('shutdown and keep-alive races (found in review)', () => {
  it('answers a request written on an idle keep-alive connection just before shutdown began', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({
      upstream: upstream.url,
      web: { listenAddress: '127.0.0.1:0', shutdownGracePeriod: '5s' },
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await gateway.request('/prometheus/api/v1/query?n=1', { agent })).headers.connection, 'keep-alive');
      let closing: Promise<void> | undefined;
      const second = await new Promise<string>((resolve) => {
        const req = request(
          {
            hostname: '127.0.0.1',
            port: gateway.handle.address.port,
            path: '/prometheus/api/v1/query?n=2',
            ca: gateway.cert.cert,
            servername: 'localhost',
            agent,
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(`${res.statusCode} ${res.headers.connection}`));
          },
        );
        req.on('error', (error: NodeJS.ErrnoException) =>
          resolve(`error ${error.code}; reused socket: ${req.reusedSocket}`),
        );
        req.on('finish', () => (closing = gateway.close())); // written to the idle connection; then shutdown begins
        req.end();
      });
      assert.equal(second, '200 close', 'answered, and told to go elsewhere');
      assert.ok(upstream.requests.some((recorded) => recorded.url.includes('n=2')));
      await closing;
    } finally {
      agent.destroy();
      await gateway.close();
      await upstream.close();
    }
  });
});
