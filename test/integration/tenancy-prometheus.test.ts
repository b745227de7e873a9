import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { received, UNRESTRICTED, useTenantGateway } from '../helpers/tenant-gateway.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const A = '{namespace="a"}';

interface Case {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** What reaches the upstream: method, path, query-string parameters and body parameters. */
  upstream: { method: string; path: string; query?: string[][]; body?: string[][] };
}

const FORWARDED: Case[] = [
  {
    name: 'an instant query by GET',
    path: '/api/v1/query?query=up&time=1700000000',
    upstream: {
      method: 'GET',
      path: '/api/v1/query',
      query: [
        ['query', `up${A}`],
        ['time', '1700000000'],
      ],
    },
  },
  {
    name: "Grafana's range query, POSTed as a form",
    method: 'POST',
    path: '/api/v1/query_range',
    headers: FORM,
    body: 'query=sum+by+(job)+(rate(http_requests_total%5B5m%5D))&start=1700000000&end=1700003600&step=15',
    upstream: {
      method: 'POST',
      path: '/api/v1/query_range',
      body: [
        ['query', `sum by (job) (rate(http_requests_total${A}[5m]))`],
        ['start', '1700000000'],
        ['end', '1700003600'],
        ['step', '15'],
      ],
    },
  },
  {
    name: 'a POST with the query in the body and the time in the query string: one form',
    method: 'POST',
    path: '/api/v1/query?time=5&stats=all',
    headers: FORM,
    body: 'query=up&timeout=10s&limit=3',
    upstream: {
      method: 'POST',
      path: '/api/v1/query',
      body: [
        ['query', `up${A}`],
        ['timeout', '10s'],
        ['limit', '3'],
        ['time', '5'],
        ['stats', 'all'],
      ],
    },
  },
  {
    name: 'a POST without a body: the query string becomes the form',
    method: 'POST',
    path: '/api/v1/query?query=up',
    upstream: { method: 'POST', path: '/api/v1/query', body: [['query', `up${A}`]] },
  },
  {
    name: "Grafana's connectivity test, 1+1",
    path: '/api/v1/query?query=1%2B1',
    upstream: { method: 'GET', path: '/api/v1/query', query: [['query', '1 + 1']] },
  },
  {
    name: 'exemplars, POSTed',
    method: 'POST',
    path: '/api/v1/query_exemplars',
    headers: FORM,
    body: 'query=http_request_duration_seconds_bucket&start=1&end=2',
    upstream: {
      method: 'POST',
      path: '/api/v1/query_exemplars',
      body: [
        ['query', `http_request_duration_seconds_bucket${A}`],
        ['start', '1'],
        ['end', '2'],
      ],
    },
  },
  {
    name: 'a trailing slash: sent to the endpoint itself',
    path: '/api/v1/query/?query=up',
    upstream: { method: 'GET', path: '/api/v1/query', query: [['query', `up${A}`]] },
  },
  {
    name: 'series with match[] and a time range',
    path: '/api/v1/series?match%5B%5D=up&match[]=process_start_time_seconds%7Bjob%3D%22x%22%7D&start=1&end=2',
    upstream: {
      method: 'GET',
      path: '/api/v1/series',
      query: [
        ['start', '1'],
        ['end', '2'],
        ['match[]', `up${A}`],
        ['match[]', 'process_start_time_seconds{job="x",namespace="a"}'],
      ],
    },
  },
  {
    name: 'label names without match[]: the tenant selector is added',
    path: '/api/v1/labels?start=1',
    upstream: {
      method: 'GET',
      path: '/api/v1/labels',
      query: [
        ['start', '1'],
        ['match[]', A],
      ],
    },
  },
  {
    name: 'label names by POST',
    method: 'POST',
    path: '/api/v1/labels',
    headers: FORM,
    body: 'match[]=up',
    upstream: { method: 'POST', path: '/api/v1/labels', body: [['match[]', `up${A}`]] },
  },
  {
    name: 'label values with match[], as Grafana 11 asks',
    path: '/api/v1/label/job/values?match[]=up&start=1&end=2',
    upstream: {
      method: 'GET',
      path: '/api/v1/label/job/values',
      query: [
        ['start', '1'],
        ['end', '2'],
        ['match[]', `up${A}`],
      ],
    },
  },
  {
    name: 'label values without match[]',
    path: '/api/v1/label/__name__/values',
    upstream: { method: 'GET', path: '/api/v1/label/__name__/values', query: [['match[]', A]] },
  },
  {
    name: 'federation',
    path: '/federate?match[]=%7Bjob%3D%22node%22%7D',
    upstream: { method: 'GET', path: '/federate', query: [['match[]', '{job="node",namespace="a"}']] },
  },
  {
    name: 'the build information Grafana reads',
    path: '/api/v1/status/buildinfo',
    upstream: { method: 'GET', path: '/api/v1/status/buildinfo' },
  },
  {
    name: 'a UI page',
    path: '/graph?g0.expr=up',
    upstream: { method: 'GET', path: '/graph', query: [['g0.expr', 'up']] },
  },
];

const REFUSED: Array<{
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  status: number;
  error: RegExp;
}> = [
  { name: 'a query that does not parse', path: '/api/v1/query?query=sum(', status: 400, error: /parse error/ },
  { name: 'no query at all', path: '/api/v1/query?time=1', status: 400, error: /query/ },
  { name: 'an empty query', path: '/api/v1/query?query=', status: 400, error: /query/ },
  { name: 'federation without match[]', path: '/federate', status: 400, error: /match\[\]/ },
  {
    name: 'a series selector that does not parse',
    path: '/api/v1/series?match[]=up%7B',
    status: 400,
    error: /parse error|unexpected/,
  },
  {
    name: 'an encoded path to the query endpoint',
    path: '/api/v1/%71uery?query=up',
    status: 403,
    error: /forbidden|not available/,
  },
  { name: 'the metadata endpoint', path: '/api/v1/metadata', status: 403, error: /metadata/ },
];

describe('tenancy for Prometheus', () => {
  const env = useTenantGateway();

  for (const test of FORWARDED) {
    it(`forwards ${test.name}, scoped`, async () => {
      const before = env.upstream.requests.length;
      const response = await env.gateway.request(`/prometheus${test.path}`, {
        method: test.method ?? 'GET',
        headers: test.headers,
        body: test.body,
      });
      assert.equal(response.status, 200, response.text);
      assert.equal(env.upstream.requests.length, before + 1);
      const got = received(env.upstream.requests.at(-1)!);
      assert.deepEqual(got, { query: [], body: [], ...test.upstream });
    });
  }

  for (const test of REFUSED) {
    it(`refuses ${test.name} with ${test.status}, in Prometheus's error format under /api/`, async () => {
      const before = env.upstream.requests.length;
      const response = await env.gateway.request(`/prometheus${test.path}`, {
        method: test.method ?? 'GET',
        headers: test.headers,
        body: test.body,
      });
      assert.equal(response.status, test.status, response.text);
      if (test.path.startsWith('/api/')) {
        const answer = JSON.parse(response.text) as { status: string; errorType: string; error: string };
        assert.equal(answer.status, 'error');
        assert.equal(answer.errorType, test.status === 400 ? 'bad_data' : 'forbidden');
        assert.match(answer.error, test.error);
      } else assert.match(response.text, test.error);
      assert.equal(env.upstream.requests.length, before, 'nothing reached the upstream');
    });
  }

  it('leaves requests without a tenant untouched', async () => {
    await env.gateway.request('/prometheus/api/v1/query?query=up&query=x', { headers: UNRESTRICTED });
    assert.equal(env.upstream.requests.at(-1)?.url, '/api/v1/query?query=up&query=x');
    const metadata = await env.gateway.request('/prometheus/api/v1/metadata', { headers: UNRESTRICTED });
    assert.equal(metadata.status, 200);
  });

  it("drops the client's tenant headers for a tenant, and keeps them for others", async () => {
    const headers = { 'x-scope-orgid': 'b', 'thanos-tenant': 'b' };
    await env.gateway.request('/prometheus/api/v1/query?query=up', { headers });
    assert.equal(env.upstream.requests.at(-1)?.headers['x-scope-orgid'], undefined);
    assert.equal(env.upstream.requests.at(-1)?.headers['thanos-tenant'], undefined);
    await env.gateway.request('/prometheus/api/v1/query?query=up', { headers: { ...headers, ...UNRESTRICTED } });
    assert.equal(env.upstream.requests.at(-1)?.headers['x-scope-orgid'], 'b');
  });

  it("filters rules and alerts to the tenant's, even from a gzip answer", async () => {
    const rules = {
      status: 'success',
      data: {
        groups: [
          {
            name: 'mixed',
            rules: [
              { type: 'recording', name: 'a:up', query: 'up', labels: { namespace: 'a' } },
              { type: 'recording', name: 'b:up', query: 'up', labels: { namespace: 'b' } },
              {
                type: 'alerting',
                name: 'Down',
                query: 'up == 0',
                labels: { namespace: 'a' },
                alerts: [{ labels: { namespace: 'a', instance: 'x' } }, { labels: { namespace: 'b', instance: 'y' } }],
              },
            ],
          },
          { name: 'theirs', rules: [{ type: 'recording', name: 'c:up', query: 'up', labels: { namespace: 'c' } }] },
          { name: 'unlabelled', rules: [{ type: 'recording', name: 'all:up', query: 'sum(up)' }] },
        ],
      },
    };
    env.upstream.handle((_req, res) => {
      const body = gzipSync(JSON.stringify(rules));
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(body);
    });
    try {
      const response = await env.gateway.request('/prometheus/api/v1/rules');
      assert.equal(response.status, 200);
      const answer = JSON.parse(response.text) as typeof rules;
      assert.deepEqual(
        answer.data.groups.map((group) => [group.name, group.rules.map((rule) => rule.name)]),
        [['mixed', ['a:up', 'Down']]],
      );
      assert.deepEqual((answer.data.groups[0]!.rules[1] as { alerts: unknown[] }).alerts, [
        { labels: { namespace: 'a', instance: 'x' } },
      ]);
      const alerts = {
        status: 'success',
        data: { alerts: [{ labels: { namespace: 'a' } }, { labels: { namespace: 'b' } }, { labels: {} }] },
      };
      env.upstream.handle((_req, res) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(alerts)),
      );
      const alertsAnswer = await env.gateway.request('/prometheus/api/v1/alerts');
      assert.deepEqual(JSON.parse(alertsAnswer.text).data.alerts, [{ labels: { namespace: 'a' } }]);
    } finally {
      env.upstream.handle((req, res) => {
        const body = JSON.stringify({ status: 'success', data: { method: req.method, url: req.url } });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      });
    }
  });
});

describe('tenancy on a route without enforcement for its component', () => {
  const env = useTenantGateway(undefined, { preset: 'pushgateway' });

  it('refuses tenant roles with 403, and serves others', async () => {
    const before = env.upstream.requests.length;
    const response = await env.gateway.request('/prometheus/metrics');
    assert.equal(response.status, 403);
    assert.match(response.text, /not supported on a pushgateway route/);
    assert.equal(env.upstream.requests.length, before);
    assert.equal((await env.gateway.request('/prometheus/metrics', { headers: UNRESTRICTED })).status, 200);
  });
});
