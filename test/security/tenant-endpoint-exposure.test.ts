// Endpoints that show or change data across tenants must stay closed to a tenant role whatever the
// spelling of the path (Prometheus's router matches the decoded path) and the method: metadata,
// targets, status, notifications, remote read/write, OTLP, the admin API, console templates,
// Prometheus's own metrics and Go's debug handlers, and anything under /api/ not classified yet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UNRESTRICTED, useTenantGateway } from '../helpers/tenant-gateway.ts';

const REFUSED_PATHS = [
  '/api/v1/metadata',
  '/api/v1/metadata?metric=up',
  '/api/v1/targets',
  '/api/v1/targets?state=active',
  '/api/v1/targets/metadata?match_target={job="x"}',
  '/api/v1/targets/relabel_steps',
  '/api/v1/scrape_pools',
  '/api/v1/alertmanagers',
  '/api/v1/status/config',
  '/api/v1/status/flags',
  '/api/v1/status/runtimeinfo',
  '/api/v1/status/tsdb',
  '/api/v1/status/tsdb/blocks',
  '/api/v1/status/walreplay',
  '/api/v1/notifications',
  '/api/v1/notifications/live',
  '/api/v1/read',
  '/api/v1/write',
  '/api/v1/otlp/v1/metrics',
  '/api/v1/admin/tsdb/snapshot',
  '/api/v1/admin/tsdb/delete_series?match[]=up',
  '/api/v1/something_new',
  '/api/v2/anything',
  '/api',
  '/consoles/index.html',
  '/metrics',
  '/debug/pprof/heap',
];

/** Spellings of one path that Prometheus's router (or another upstream) reads as the same endpoint. */
function spellings(path: string): string[] {
  const [rawPath = '', query] = path.split('?', 2);
  const suffix = query === undefined ? '' : `?${query}`;
  const last = rawPath.lastIndexOf('/');
  const encodedLetter = `${rawPath.slice(0, last + 1)}%${rawPath.charCodeAt(last + 1).toString(16)}${rawPath.slice(last + 2)}`;
  return [
    path,
    `${rawPath}/${suffix}`,
    `${encodedLetter}${suffix}`,
    `${rawPath.replace('/api/', '/API/')}${suffix}`,
    `${rawPath.replace(/\//g, '%2F').replace(/^%2F/, '/')}${suffix}`,
  ];
}

/** Endpoints rewritten or filtered for tenants, reached by a spelling that would skip the rewrite. */
const DISGUISED_ENFORCED = [
  '/api/v1/%71uery?query=up',
  '/api/v1/query%2F?query=up',
  '/api/v1/%2571uery?query=up',
  '/api/v1/serie%73?match[]=up',
  '/api/v1/label/job%2Fvalues',
  '/api/v1/label/%6Aob/values',
  '/%66ederate?match[]=up',
  '/api/v1/rule%73',
  '/api/v1/alert%73',
];

describe('tenant endpoint exposure', () => {
  const env = useTenantGateway();

  for (const path of REFUSED_PATHS) {
    for (const spelling of spellings(path)) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
        it(`refuses ${method} ${spelling}`, async () => {
          const before = env.upstream.requests.length;
          const response = await env.gateway.request(`/prometheus${spelling}`, { method });
          assert.ok(response.status === 403 || response.status === 400, `${response.status} ${response.text}`);
          assert.equal(env.upstream.requests.length, before, 'nothing reached the upstream');
        });
      }
    }
  }

  for (const path of DISGUISED_ENFORCED) {
    it(`refuses ${path}, which would skip the rewrite or the filter`, async () => {
      const before = env.upstream.requests.length;
      const response = await env.gateway.request(`/prometheus${path}`);
      assert.ok(response.status === 403 || response.status === 400, `${response.status} ${response.text}`);
      assert.equal(env.upstream.requests.length, before, 'nothing reached the upstream');
    });
  }

  it('scopes a spelling every reading agrees on, sending it to the endpoint itself', async () => {
    for (const path of ['/api/v1/query;x=1?query=up', '/api/v1/query/?query=up', '/API/v1/Query?query=up']) {
      const response = await env.gateway.request(`/prometheus${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(env.upstream.requests.at(-1)?.url, '/api/v1/query?query=up%7Bnamespace%3D%22a%22%7D', path);
    }
  });

  it('refuses methods Prometheus does not serve on enforced endpoints', async () => {
    for (const [method, path] of [
      ['DELETE', '/api/v1/series?match[]=up'],
      ['PUT', '/api/v1/query?query=up'],
      ['POST', '/api/v1/label/job/values'],
      ['POST', '/api/v1/rules'],
      ['POST', '/federate?match[]=up'],
    ] as const) {
      const before = env.upstream.requests.length;
      const response = await env.gateway.request(`/prometheus${path}`, { method });
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.equal(env.upstream.requests.length, before);
    }
  });

  it('still serves these endpoints to roles without a tenant', async () => {
    for (const path of ['/api/v1/metadata', '/api/v1/targets', '/api/v1/status/tsdb', '/metrics']) {
      const response = await env.gateway.request(`/prometheus${path}`, { headers: UNRESTRICTED });
      assert.equal(response.status, 200, path);
    }
  });
});
