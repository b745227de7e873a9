import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import type { ServerOptions } from '../../src/index.ts';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway, useGatewayWithUpstream } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { requireCommands } from '../helpers/requirements.ts';
import type { UpstreamHandler } from '../helpers/upstream.ts';

const GRAFANA = 'https://grafana.example.com';
const OTHER_SITE = 'https://evil.example.net';
const QUERY = '/prometheus/api/v1/query';
const CREDENTIALS = { authorization: basicAuth('alice', 'secret') };
const withAuth = (): Pick<ServerOptions, 'auth'> => ({
  auth: { htpasswdFile: writeHtpasswd([{ user: 'alice', password: 'secret', flag: '-B' }]) },
});

/** What a browser sends before a cross-origin POST with basic auth: never any credentials. */
function preflight(origin = GRAFANA) {
  return {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
  };
}

function corsHeaderNames(headers: IncomingHttpHeaders): string[] {
  return Object.keys(headers).filter((name) => name.startsWith('access-control-'));
}

/** Prometheus's own CORS headers (web/api/v1 httputil.SetCORS with the default --web.cors.origin=".*"). */
const prometheusApi: UpstreamHandler = (req, res) => {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (req.headers.origin) {
    Object.assign(headers, {
      'access-control-allow-headers': 'Accept, Authorization, Content-Type, Origin',
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'Date',
      vary: 'Origin',
    });
  }
  res.writeHead(200, headers).end('{"status":"success","data":{"resultType":"scalar","result":[0,"1"]}}');
};

describe('CORS not configured', { skip: requireCommands('htpasswd') }, () => {
  const setup = useGatewayWithUpstream((upstream) => ({ upstream: upstream.url, ...withAuth() }));

  it('drops the CORS headers Prometheus sends by default, so none reach the browser', async () => {
    setup.upstream.handle(prometheusApi);
    try {
      const response = await setup.gateway.request(`${QUERY}?query=1`, {
        headers: { origin: GRAFANA, ...CREDENTIALS },
      });
      assert.equal(response.status, 200);
      assert.deepEqual(corsHeaderNames(response.headers), []);
    } finally {
      setup.upstream.handle((req, res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'success', url: req.url })),
      );
    }
  });

  it('adds no access-control headers to a cross-origin request', async () => {
    const response = await setup.gateway.request(`${QUERY}?query=up`, { headers: { origin: GRAFANA, ...CREDENTIALS } });
    assert.equal(response.status, 200);
    assert.deepEqual(corsHeaderNames(response.headers), []);
  });

  it('leaves a preflight to basic auth, which refuses it', async () => {
    const response = await setup.gateway.request(QUERY, preflight());
    assert.equal(response.status, 401);
    assert.deepEqual(corsHeaderNames(response.headers), []);
    assert.equal(setup.upstream.requests.filter((request) => request.method === 'OPTIONS').length, 0);
  });
});

describe('CORS not configured, without auth', () => {
  const setup = useGatewayWithUpstream((upstream) => ({ upstream: upstream.url }));

  it('forwards a preflight to the upstream like any other request', async () => {
    const reached = setup.upstream.nextRequest();
    const response = await setup.gateway.request(QUERY, preflight());
    assert.equal(response.status, 200, 'the recording upstream answered');
    assert.deepEqual(corsHeaderNames(response.headers), []);
    const request = await reached;
    assert.equal(request.method, 'OPTIONS');
    assert.equal(request.url, '/api/v1/query');
    assert.equal(request.headers['access-control-request-method'], 'POST');
  });
});

describe('CORS for listed origins, with basic auth', { skip: requireCommands('htpasswd') }, () => {
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    ...withAuth(),
    cors: { allowedOrigins: [GRAFANA] },
  }));

  it('answers a preflight without credentials, 204, and never forwards it (exporter-toolkit#71)', async () => {
    const forwardedBefore = setup.upstream.requests.length;
    const response = await setup.gateway.request(QUERY, preflight());
    assert.equal(response.status, 204);
    assert.equal(response.body.length, 0);
    assert.equal(response.headers['access-control-allow-origin'], GRAFANA);
    assert.ok(
      response.headers['access-control-allow-methods']?.split(',').includes('POST'),
      response.headers['access-control-allow-methods'],
    );
    assert.ok(
      response.headers['access-control-allow-headers']?.split(',').includes('Authorization'),
      response.headers['access-control-allow-headers'],
    );
    assert.equal(response.headers['access-control-max-age'], '600', 'maxAge 10m by default');
    assert.equal(
      response.headers['access-control-allow-credentials'],
      undefined,
      'allowCredentials is false by default',
    );
    assert.equal(response.headers.vary, 'Origin');
    assert.equal(response.headers['www-authenticate'], undefined);
    assert.equal(response.headers['x-content-type-options'], 'nosniff', 'the security headers apply');
    assert.equal(setup.upstream.requests.length, forwardedBefore, 'answered by the gateway itself');
  });

  it('lets an authenticated cross-origin GET through with the origin allowed', async () => {
    const response = await setup.gateway.request(`${QUERY}?query=up`, { headers: { origin: GRAFANA, ...CREDENTIALS } });
    assert.equal(response.status, 200);
    assert.equal(response.headers['access-control-allow-origin'], GRAFANA);
    assert.equal(response.headers.vary, 'Origin');
    assert.equal(setup.upstream.requests.at(-1)?.url, '/api/v1/query?query=up');
  });

  it('still refuses a cross-origin GET without credentials, with the CORS headers so the page can read the 401', async () => {
    const forwardedBefore = setup.upstream.requests.length;
    const response = await setup.gateway.request(`${QUERY}?query=up`, { headers: { origin: GRAFANA } });
    assert.equal(response.status, 401);
    assert.match(response.headers['www-authenticate'] ?? '', /^Basic realm="promgate"/);
    assert.equal(response.headers['access-control-allow-origin'], GRAFANA);
    assert.equal(response.headers.vary, 'Origin');
    assert.equal(setup.upstream.requests.length, forwardedBefore);
  });

  it('does not allow an origin that is not listed, in a preflight or a GET', async () => {
    const forwardedBefore = setup.upstream.requests.length;
    const refused = await setup.gateway.request(QUERY, preflight(OTHER_SITE));
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    assert.equal(refused.headers.vary, 'Origin');
    assert.equal(setup.upstream.requests.length, forwardedBefore, 'nor forwarded to the upstream');
    // CORS only tells browsers what a page may read: the request itself is served, the browser hides it.
    const read = await setup.gateway.request(`${QUERY}?query=up`, { headers: { origin: OTHER_SITE, ...CREDENTIALS } });
    assert.equal(read.status, 200);
    assert.equal(read.headers['access-control-allow-origin'], undefined);
    assert.equal(read.headers.vary, 'Origin');
  });
});

describe('CORS for any origin', { skip: requireCommands('htpasswd') }, () => {
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    ...withAuth(),
    cors: { allowedOrigins: ['*'] },
  }));

  it('allows "*" in preflights and responses, without credentials', async () => {
    const answered = await setup.gateway.request(QUERY, preflight(OTHER_SITE));
    assert.equal(answered.status, 204);
    assert.equal(answered.headers['access-control-allow-origin'], '*');
    assert.equal(answered.headers['access-control-allow-credentials'], undefined);
    const read = await setup.gateway.request(`${QUERY}?query=up`, { headers: { origin: OTHER_SITE, ...CREDENTIALS } });
    assert.equal(read.status, 200);
    assert.equal(read.headers['access-control-allow-origin'], '*');
  });
});

describe('CORS with credentials for a listed origin', { skip: requireCommands('htpasswd') }, () => {
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    ...withAuth(),
    cors: { allowedOrigins: [GRAFANA], allowCredentials: true, allowedMethods: ['GET', 'POST'], maxAge: '1h' },
  }));

  it('allows credentials in the preflight and the response, with the origin itself, never "*"', async () => {
    const answered = await setup.gateway.request(QUERY, preflight());
    assert.equal(answered.status, 204);
    assert.equal(answered.headers['access-control-allow-origin'], GRAFANA);
    assert.equal(answered.headers['access-control-allow-credentials'], 'true');
    assert.equal(answered.headers['access-control-allow-methods'], 'GET,POST');
    assert.equal(answered.headers['access-control-max-age'], '3600');
    const read = await setup.gateway.request(`${QUERY}?query=up`, { headers: { origin: GRAFANA, ...CREDENTIALS } });
    assert.equal(read.status, 200);
    assert.equal(read.headers['access-control-allow-origin'], GRAFANA);
    assert.equal(read.headers['access-control-allow-credentials'], 'true');
  });

  // Found in review: the proxy copied the upstream's access-control-* headers over the gateway's,
  // and Prometheus sends its own by default (--web.cors.origin=".*"). Seen with prometheus 2.42.
  it('keeps its CORS answer when Prometheus sends its own CORS headers', async () => {
    setup.upstream.handle(prometheusApi);
    const allowed = await setup.gateway.request(`${QUERY}?query=1`, { headers: { origin: GRAFANA, ...CREDENTIALS } });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['access-control-allow-origin'], GRAFANA, 'browsers refuse "*" with credentials');
    const other = await setup.gateway.request(`${QUERY}?query=1`, { headers: { origin: OTHER_SITE, ...CREDENTIALS } });
    assert.equal(
      other.headers['access-control-allow-origin'],
      undefined,
      'an origin that is not listed is not allowed',
    );
  });

  // Found in review, same copy: a cache keyed without Origin could hand one origin's answer to another.
  it('keeps Vary: Origin when the upstream sends a Vary of its own', async () => {
    setup.upstream.handle((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json', vary: 'Accept-Encoding' }).end('{}'),
    );
    const response = await setup.gateway.request(`${QUERY}?query=1`, { headers: { origin: GRAFANA, ...CREDENTIALS } });
    assert.equal(response.headers['access-control-allow-origin'], GRAFANA);
    assert.match(response.headers.vary ?? '', /\bOrigin\b/);
  });
});

describe('CORS settings that are refused', () => {
  const refuses = (cors: ServerOptions['cors'], message: RegExp) =>
    assert.rejects(startTestGateway({ upstream: 'http://127.0.0.1:9', cors }), (error: Error) => {
      assert.equal(error.name, 'ConfigError');
      assert.match(error.message, message);
      return true;
    });

  it('refuses allowCredentials with "*", naming cors.allowCredentials', async () => {
    await refuses({ allowedOrigins: ['*'], allowCredentials: true }, /cors\.allowCredentials: .*"\*"/);
  });

  it('refuses an origin without a scheme or with a path, naming cors.allowedOrigins.N', async () => {
    await refuses(
      { allowedOrigins: ['grafana.example.com'] },
      /cors\.allowedOrigins\.0: must be an origin such as https:\/\/grafana\.example\.com/,
    );
    await refuses({ allowedOrigins: [GRAFANA, 'https://grafana.example.com/'] }, /cors\.allowedOrigins\.1: /);
  });
});
