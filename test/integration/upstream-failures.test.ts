import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { describe, it } from 'node:test';
import { startTestGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('upstream failures', () => {
  it('answers 502 with Prometheus API error JSON under /api/ when the upstream refuses', async () => {
    const gateway = await startTestGateway({ upstream: `http://127.0.0.1:${await closedPort()}` });
    try {
      const api = await gateway.request('/prometheus/api/v1/query?query=up');
      assert.equal(api.status, 502);
      assert.equal(api.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(api.text), {
        status: 'error',
        errorType: 'unavailable',
        error: 'upstream unavailable: connection refused',
      });
      const ui = await gateway.request('/prometheus/graph');
      assert.equal(ui.status, 502);
      assert.match(ui.text, /^502 Bad Gateway: upstream unavailable: connection refused/);
    } finally {
      await gateway.close();
    }
  });

  it('answers 504 when the upstream stays silent past the timeout', async () => {
    const upstream = await startUpstream(() => {
      /* never answers */
    });
    const gateway = await startTestGateway({ upstream: { url: upstream.url, timeout: '300ms' } });
    try {
      const api = await gateway.request('/prometheus/api/v1/query?query=up');
      assert.equal(api.status, 504);
      assert.equal(JSON.parse(api.text).errorType, 'timeout');
      const ui = await gateway.request('/prometheus/graph');
      assert.equal(ui.status, 504);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('breaks the client response when the upstream dies mid-body instead of ending it as complete', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"status":"succ');
      setImmediate(() => res.socket?.destroy());
    });
    const gateway = await startTestGateway({ upstream: upstream.url });
    try {
      const outcome = await new Promise<string>((resolve) => {
        const req = request(
          {
            hostname: '127.0.0.1',
            port: gateway.handle.address.port,
            path: '/prometheus/api/v1/query',
            ca: gateway.cert.cert,
            servername: 'localhost',
          },
          (res) => {
            res.on('error', () => resolve('broken'));
            res.on('aborted', () => resolve('broken'));
            res.on('end', () => resolve('complete'));
            res.resume();
          },
        );
        req.on('error', () => resolve('broken'));
        req.end();
      });
      assert.equal(outcome, 'broken');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('cancels the upstream request when the client goes away', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    const upstream = await startUpstream();
    upstream.server.prependListener('request', (_req, res) => res.on('close', () => upstreamClosed()));
    upstream.handle(() => {
      /* a slow query: never answers */
    });
    const gateway = await startTestGateway({ upstream: upstream.url });
    try {
      const req = request({
        hostname: '127.0.0.1',
        port: gateway.handle.address.port,
        path: '/prometheus/api/v1/query_range',
        ca: gateway.cert.cert,
        servername: 'localhost',
      });
      req.on('error', () => undefined);
      req.end();
      await upstream.nextRequest();
      req.destroy();
      await closed; // resolves only if the gateway closed its upstream request
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('requests with Expect: 100-continue', () => {
  it('still time out with 504 (the header is not forwarded)', async () => {
    const upstream = await startUpstream(() => {
      /* never answers */
    });
    const gateway = await startTestGateway({ upstream: { url: upstream.url, timeout: '300ms' } });
    try {
      const response = await gateway.request('/prometheus/api/v1/query', {
        method: 'POST',
        headers: { expect: '100-continue', 'content-type': 'application/x-www-form-urlencoded', 'content-length': '8' },
        body: 'query=up',
      });
      assert.equal(response.status, 504);
      assert.equal(upstream.requests.at(-1)?.headers.expect, undefined);
      assert.equal(upstream.requests.at(-1)?.body.toString(), 'query=up');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('hostile or broken upstream responses (found in review)', () => {
  it('a 504 after the upstream sent headers carries none of them', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, 'All Good', {
        'content-encoding': 'gzip',
        'cache-control': 'max-age=3600',
        etag: '"x"',
        'set-cookie': 'a=b',
        'content-type': 'application/json',
      });
      res.flushHeaders(); // then stalls
    });
    const gateway = await startTestGateway({ upstream: { url: upstream.url, timeout: '300ms' } });
    try {
      // The timeout fires only before the first byte reaches the client, so headers are still ours to drop.
      const response = await gateway.request('/prometheus/api/v1/query');
      assert.equal(response.status, 504);
      for (const name of ['content-encoding', 'cache-control', 'etag', 'set-cookie'])
        assert.equal(response.headers[name], undefined, name);
      assert.equal(response.headers['content-type'], 'application/json');
      assert.equal(response.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      assert.equal(JSON.parse(response.text).errorType, 'timeout');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('an invalid reason phrase does not crash the gateway', async () => {
    const { createServer: createNetServer } = await import('node:net');
    const raw = createNetServer((socket) =>
      socket.once('data', () => socket.end('HTTP/1.1 200 O\x7fK\r\ncontent-length: 2\r\n\r\n{}')),
    );
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const gateway = await startTestGateway({
      upstream: `http://127.0.0.1:${(raw.address() as { port: number }).port}`,
    });
    try {
      const response = await gateway.request('/prometheus/api/v1/query');
      assert.equal(response.status, 200);
      assert.equal(response.text, '{}');
      assert.equal((await gateway.request('/prometheus/api/v1/query')).status, 200, 'still serving');
    } finally {
      await gateway.close();
      raw.close();
    }
  });

  it('a throwing proxy event observer is logged, not fatal', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({
      upstream: upstream.url,
      on: {
        proxyReq: () => {
          throw new Error('observer bug');
        },
      },
    });
    try {
      assert.equal((await gateway.request('/prometheus/api/v1/query')).status, 200);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('upstream timeout while the body streams', () => {
  /** GETs the path and reads its body, pausing `pauseMs` after the first chunk; how it ended. */
  function download(gateway: Awaited<ReturnType<typeof startTestGateway>>, path: string, pauseMs = 0) {
    return new Promise<{ status: number | undefined; bytes: number; complete: boolean }>((resolve) => {
      const req = request(`${gateway.origin}${path}`, { ca: gateway.cert.cert }, (res) => {
        let bytes = 0;
        let paused = false;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (pauseMs > 0 && !paused) {
            paused = true;
            res.pause();
            setTimeout(() => res.resume(), pauseMs);
          }
        });
        res.on('end', () => resolve({ status: res.statusCode, bytes, complete: res.complete }));
        res.on('error', () => resolve({ status: res.statusCode, bytes, complete: false }));
      });
      req.on('error', () => resolve({ status: undefined, bytes: 0, complete: false }));
      req.end();
    });
  }

  it('cuts the response when the upstream goes silent in the middle of the body', async () => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('x'.repeat(100)); // then stalls
    });
    const gateway = await startTestGateway({ upstream: { url: upstream.url, timeout: '300ms' } });
    try {
      const started = performance.now();
      const outcome = await download(gateway, '/prometheus/api/v1/query');
      assert.equal(outcome.status, 200);
      assert.equal(outcome.complete, false);
      assert.ok(outcome.bytes < 1000, `${outcome.bytes} bytes`);
      assert.ok(performance.now() - started < 5000, 'cut after the timeout, not left hanging');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('does not cut a client that reads slower than the timeout while the upstream waits for it', async () => {
    const size = 32 << 20; // more than the socket buffers hold: the upstream has to wait for the client
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
      res.end(Buffer.alloc(size, 'x'));
    });
    const gateway = await startTestGateway({ upstream: { url: upstream.url, timeout: '300ms' } });
    try {
      const outcome = await download(gateway, '/prometheus/api/v1/export', 1000);
      assert.deepEqual(outcome, { status: 200, bytes: size, complete: true });
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
