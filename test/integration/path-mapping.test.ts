import assert from 'node:assert/strict';
import { request } from 'node:https';
import { describe, it } from 'node:test';
import { startTestGateway, useGatewayWithUpstream } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { BUFFERED_BODY_SIZE } from '../../middleware/proxy/request-body.ts';

describe('path mapping under /prometheus', () => {
  // Forwarding of every method is what is tested here, so the policy lets everything through (the
  // read-only default has its own tests).
  const env = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    accessControl: { defaultRole: 'admin' },
  }));

  it('redirects /prometheus to /prometheus/, keeping the query', async () => {
    const plain = await env.gateway.request('/prometheus');
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, '/prometheus/');
    const withQuery = await env.gateway.request('/prometheus?g0.expr=up&x=%2F');
    assert.equal(withQuery.headers.location, '/prometheus/?g0.expr=up&x=%2F');
    const post = await env.gateway.request('/prometheus', { method: 'POST' });
    assert.equal(post.status, 308, 'non-GET redirects keep their method');
    assert.equal(env.upstream.requests.length, 0);
  });

  it('strips the base path without leaving a double slash', async () => {
    const response = await env.gateway.request('/prometheus/api/v1/query?query=up');
    assert.equal(response.status, 200);
    assert.equal(env.upstream.requests.at(-1)?.url, '/api/v1/query?query=up');
    await env.gateway.request('/prometheus/');
    assert.equal(env.upstream.requests.at(-1)?.url, '/');
  });

  const byteForByte = [
    '/api/v1/label/job/values',
    '/api/v1/label/path/values?match[]=%7Bjob%3D%22a%2Fb%22%7D',
    '/api/v1/label/instance/values?match%5B%5D=up%7Binstance%3D%22host%3A9100%22%7D',
    '/api/v1/query?query=sum%20by%20(job)%20(rate(x%5B5m%5D))+%2B+1',
    '/api/v1/label/U__name_2e_with_2e_dots/values',
    '/api/v1/series?match[]=up{name="gr%C3%BC%C3%9Fe"}',
    '/api/v1/label/a%2Fb/values',
    '/graph?g0.expr=up&g0.tab=1',
  ];
  for (const path of byteForByte) {
    it(`forwards ${path} byte for byte`, async () => {
      await env.gateway.request(`/prometheus${path}`);
      assert.equal(env.upstream.requests.at(-1)?.url, path);
    });
  }

  it('answers 404 itself outside the base path, and case matters', async () => {
    const before = env.upstream.requests.length;
    for (const path of ['/', '/api/v1/query', '/prometheusx/api', '/PROMETHEUS/api/v1/query', '/prometheus%2Fapi']) {
      const response = await env.gateway.request(path);
      assert.equal(response.status, 404, path);
    }
    assert.equal(env.upstream.requests.length, before, 'nothing outside the base path reaches the upstream');
  });

  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD']) {
    it(`forwards ${method} with its body`, async () => {
      const body = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? undefined : 'query=up&time=1';
      const headers = body
        ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) }
        : {};
      const response = await env.gateway.request('/prometheus/api/v1/query', { method, headers, body });
      assert.equal(response.status, 200);
      const seen = env.upstream.requests.at(-1);
      assert.equal(seen?.method, method);
      assert.equal(seen?.body.toString(), body ?? '');
    });
  }

  // Bodies up to BUFFERED_BODY_SIZE are read whole first (slow-body-upstream-starvation.test.ts).
  it('streams request bodies larger than the buffered size to the upstream before the client has finished sending', async () => {
    let firstChunkArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (firstChunkArrived = resolve));
    env.upstream.server.prependOnceListener('request', (req) => req.once('data', () => firstChunkArrived()));
    const req = request({
      hostname: '127.0.0.1',
      port: env.gateway.handle.address.port,
      path: '/prometheus/api/v1/write',
      method: 'POST',
      ca: env.gateway.cert.cert,
      servername: 'localhost',
      headers: { 'transfer-encoding': 'chunked' },
    });
    const response = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => (res.resume(), res.on('end', () => resolve(res.statusCode ?? 0))));
      req.on('error', reject);
    });
    req.write(Buffer.alloc(BUFFERED_BODY_SIZE + 1, 1));
    await arrived; // the upstream saw data while the request is still open
    req.end(Buffer.alloc(1024, 2));
    assert.equal(await response, 200);
    assert.equal(env.upstream.requests.at(-1)?.body.length, BUFFERED_BODY_SIZE + 1 + 1024);
  });

  it('streams responses to the client before the upstream has finished', async () => {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    env.upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"success","data":[');
      void finished.then(() => res.end(']}'));
    });
    const firstBytes = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          hostname: '127.0.0.1',
          port: env.gateway.handle.address.port,
          path: '/prometheus/api/v1/slow',
          ca: env.gateway.cert.cert,
          servername: 'localhost',
        },
        (res) => res.once('data', (chunk: Buffer) => resolve(chunk.toString())).on('end', () => undefined),
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(firstBytes, '{"status":"success","data":[');
    finish();
    env.upstream.handle((req, res) => res.end(JSON.stringify({ url: req.url })));
  });
});

describe('base path "/"', () => {
  it('forwards everything as is', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({ upstream: upstream.url, basePath: '/' });
    try {
      const response = await gateway.request('/api/v1/query?query=up');
      assert.equal(response.status, 200);
      assert.equal(upstream.requests.at(-1)?.url, '/api/v1/query?query=up');
      assert.equal(upstream.requests.at(-1)?.headers['x-forwarded-prefix'], undefined);
      await gateway.request('/');
      assert.equal(upstream.requests.at(-1)?.url, '/');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('upstream with a path', () => {
  it('joins the upstream path and the rest with one slash', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({ upstream: `${upstream.url}/sub/`, basePath: '/metrics-gw' });
    try {
      await gateway.request('/metrics-gw/api/v1/query?query=up');
      assert.equal(upstream.requests.at(-1)?.url, '/sub/api/v1/query?query=up');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('absolute-form request targets', () => {
  it('forward the path in origin form', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({ upstream: upstream.url });
    try {
      const { connect } = await import('node:tls');
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(
          { host: '127.0.0.1', port: gateway.handle.address.port, ca: gateway.cert.cert, servername: 'localhost' },
          () => {
            socket.write(
              'GET https://elsewhere.example/prometheus/api/v1/query?query=up HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n',
            );
          },
        );
        let data = '';
        socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      assert.match(raw, /^HTTP\/1\.1 200/);
      assert.equal(upstream.requests.at(-1)?.url, '/api/v1/query?query=up');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
