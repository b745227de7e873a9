import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startTestGateway, useGatewayWithUpstream } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';

describe('request header hygiene', () => {
  const env = useGatewayWithUpstream();

  it('sets X-Forwarded-* itself and drops what an untrusted client sent', async () => {
    await env.gateway.request('/prometheus/api/v1/query', {
      headers: {
        host: 'prom.example.com',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example.com',
        'x-forwarded-proto': 'http',
        'x-forwarded-prefix': '/evil',
        'x-real-ip': '6.6.6.6',
        forwarded: 'for=6.6.6.6',
      },
    });
    const { headers } = env.upstream.requests.at(-1)!;
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers['x-forwarded-host'], 'prom.example.com');
    assert.equal(headers['x-forwarded-proto'], 'https');
    assert.equal(headers['x-forwarded-prefix'], '/prometheus');
    assert.equal(headers['x-real-ip'], undefined);
    assert.equal(headers.forwarded, undefined);
    assert.equal(headers.host, `127.0.0.1:${env.upstream.port}`, 'Host is the upstream, like nginx proxy_pass');
  });

  it('does not forward Authorization by default', async () => {
    await env.gateway.request('/prometheus/api/v1/query', { headers: { authorization: 'Basic dXNlcjpzZWNyZXQ=' } });
    assert.equal(env.upstream.requests.at(-1)?.headers.authorization, undefined);
  });

  it('removes hop-by-hop headers and those the client lists in Connection', async () => {
    await env.gateway.request('/prometheus/api/v1/query', {
      headers: {
        connection: 'keep-alive, x-hop',
        'x-hop': 'secret',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic eDp5',
        te: 'trailers',
        'x-end-to-end': 'kept',
      },
    });
    const { headers } = env.upstream.requests.at(-1)!;
    assert.equal(headers['x-hop'], undefined);
    assert.equal(headers['proxy-authorization'], undefined);
    assert.equal(headers.te, undefined);
    assert.equal(headers['x-end-to-end'], 'kept');
  });

  it('reuses upstream connections (keep-alive)', async () => {
    const sockets = new Set<unknown>();
    const onConnection = (socket: unknown) => sockets.add(socket);
    env.upstream.server.on('connection', onConnection);
    for (let i = 0; i < 5; i++) await env.gateway.request('/prometheus/api/v1/query');
    env.upstream.server.off('connection', onConnection);
    assert.ok(sockets.size <= 1, `5 sequential requests opened ${sockets.size} upstream connections`);
  });
});

describe('trusted proxies and forwarded Authorization', () => {
  it('extends X-Forwarded-For and keeps the proxy-given host and proto from a trusted peer', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({
      upstream: { url: upstream.url, forwardAuthorization: true },
      trustProxy: ['127.0.0.0/8'],
    });
    try {
      await gateway.request('/prometheus/api/v1/query', {
        headers: {
          'x-forwarded-for': '203.0.113.7',
          'x-forwarded-host': 'outer.example.com',
          'x-forwarded-proto': 'https',
          authorization: 'Bearer t',
        },
      });
      const { headers } = upstream.requests.at(-1)!;
      assert.equal(headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
      assert.equal(headers['x-forwarded-host'], 'outer.example.com');
      assert.equal(headers.authorization, 'Bearer t');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('headers a trusted proxy names in Connection', () => {
  it('are meant for that hop only: its X-Forwarded-For is not extended but replaced', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({ upstream: upstream.url, trustProxy: ['127.0.0.0/8'] });
    try {
      await gateway.request('/prometheus/api/v1/query', {
        headers: {
          connection: 'keep-alive, X-Forwarded-For',
          'x-forwarded-for': '203.0.113.7',
          'x-forwarded-host': 'outer.example.com',
        },
      });
      const { headers } = upstream.requests.at(-1)!;
      assert.equal(headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(headers['x-forwarded-host'], 'outer.example.com');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('upstream responses', () => {
  const env = useGatewayWithUpstream();

  const redirects: Array<[string, string]> = [
    ['/graph/', '/prometheus/graph/'],
    ['/prometheus/classic/graph', '/prometheus/classic/graph'],
    ['https://elsewhere.example.com/', 'https://elsewhere.example.com/'],
  ];
  for (const [location, expected] of redirects) {
    it(`rewrites Location ${location} -> ${expected}`, async () => {
      env.upstream.handle((_req, res) => res.writeHead(302, { location }).end());
      const response = await env.gateway.request('/prometheus/');
      assert.equal(response.status, 302);
      assert.equal(response.headers.location, expected);
    });
  }

  it('rewrites an absolute Location on the upstream origin to the gateway origin', async () => {
    env.upstream.handle((_req, res) => res.writeHead(301, { location: `${env.upstream.url}/graph?x=1` }).end());
    const response = await env.gateway.request('/prometheus/', { headers: { host: 'prom.example.com' } });
    assert.equal(response.headers.location, 'https://prom.example.com/prometheus/graph?x=1');
  });

  it('keeps end-to-end headers, drops hop-by-hop ones, and the gateway security headers win', async () => {
    env.upstream.handle((_req, res) =>
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'x-prometheus-api': 'v1',
          'x-frame-options': 'ALLOWALL',
          connection: 'x-internal',
          'x-internal': 'no',
        })
        .end('{}'),
    );
    const response = await env.gateway.request('/prometheus/api/v1/status/config');
    assert.equal(response.headers['x-prometheus-api'], 'v1');
    assert.equal(response.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(response.headers['x-internal'], undefined);
    assert.equal(response.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    assert.equal(response.headers['x-powered-by'], undefined);
  });

  it('adds the hash of the inline script of a gzipped HTML page to its CSP, body untouched', async () => {
    const script = '\n var PATH_PREFIX = "\\/prometheus";\n';
    const html = Buffer.from(
      `<!DOCTYPE html><html><head><script src="/static/a.js"></script><script>${script}</script></head><body></body></html>`,
    );
    const compressed = gzipSync(html);
    env.upstream.handle((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip' }).end(compressed),
    );
    const response = await env.gateway.request('/prometheus/classic/graph', { headers: { 'accept-encoding': 'gzip' } });
    assert.deepEqual(response.body, compressed, 'the compressed bytes pass through unchanged');
    const hash = createHash('sha256').update(script).digest('base64');
    const csp = String(response.headers['content-security-policy']);
    assert.match(csp, new RegExp(`script-src 'self' 'sha256-${hash.replace(/[+/]/g, (c) => `\\${c}`)}'`));
  });

  it('keeps the fixed CSP on non-HTML responses', async () => {
    env.upstream.handle((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success"}'),
    );
    const response = await env.gateway.request('/prometheus/api/v1/query');
    assert.doesNotMatch(String(response.headers['content-security-policy']), /sha256-/);
  });
});

describe('header overrides', () => {
  it("replaces or removes preset headers and leaves HTML alone when the CSP is the user's", async () => {
    const upstream = await startUpstream((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<script>x()</script>'),
    );
    const gateway = await startTestGateway({
      upstream: upstream.url,
      headers: {
        'Content-Security-Policy': "default-src 'self' 'unsafe-inline'",
        'X-Frame-Options': 'DENY',
        'Referrer-Policy': '',
      },
    });
    try {
      const response = await gateway.request('/prometheus/graph');
      assert.equal(response.headers['content-security-policy'], "default-src 'self' 'unsafe-inline'");
      assert.equal(response.headers['x-frame-options'], 'DENY');
      assert.equal(response.headers['referrer-policy'], undefined);
      assert.equal(response.text, '<script>x()</script>');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
