// The proof against a real Prometheus holding several tenants' series, rules and exemplars: for
// each user, every endpoint a tenant may use returns exactly that tenant's data (the series,
// label values, alerts and rules in its scope, nothing else), the others are refused, and the
// admin sees everything. Assertions are on the data, not only on status codes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PROMETHEUS_BINARY } from '../helpers/prometheus.ts';
import { requireCommands } from '../helpers/requirements.ts';
import {
  ENVS,
  NAMESPACES,
  PROMTOOL_BINARY,
  queueDepth,
  startTenantPrometheus,
  type TenantPrometheus,
  type TenantUser,
  visibleTo,
} from '../helpers/tenants.ts';

type Labels = Record<string, string>;
const USERS = ['alice', 'bob', 'carol'] as const;

/** Every namespace/env pair the fixture holds that `user` may see, as `ns/env`, sorted. */
const pairsOf = (user: TenantUser) =>
  NAMESPACES.flatMap((namespace) => ENVS.map((env) => ({ namespace, env })))
    .filter((labels) => visibleTo(user, labels))
    .map(({ namespace, env }) => `${namespace}/${env}`)
    .sort();
const pairs = (sets: Labels[]) => [...new Set(sets.map((labels) => `${labels.namespace}/${labels.env}`))].sort();

function assertAllVisible(user: TenantUser, sets: Labels[], what: string): void {
  for (const labels of sets) assert.ok(visibleTo(user, labels), `${user} got ${what} ${JSON.stringify(labels)}`);
}

/** `name{a="b",...} value` lines of the text exposition format, as label sets with __name__. */
function federatedSeries(text: string): Labels[] {
  const series: Labels[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    assert.ok(match, `unreadable federate line ${line}`);
    const labels: Labels = { __name__: match[1]! };
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!;
    series.push(labels);
  }
  return series;
}

describe('tenancy in front of a real Prometheus with several tenants', {
  skip: requireCommands(PROMETHEUS_BINARY, PROMTOOL_BINARY, 'htpasswd'),
}, () => {
  let setup: TenantPrometheus;
  before(async () => {
    setup = await startTenantPrometheus();
  });
  after(async () => {
    await setup?.close();
  });

  const json = async (user: TenantUser, path: string, options: { method?: string; body?: string } = {}) => {
    const response = await setup.request(user, path, {
      ...options,
      ...(options.body === undefined ? {} : { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    });
    assert.equal(response.status, 200, `${user} ${path}: ${response.text}`);
    const body = JSON.parse(response.text) as { status: string; data: unknown };
    assert.equal(body.status, 'success');
    return body.data;
  };
  const now = () => Math.floor(Date.now() / 1000);

  for (const user of USERS) {
    describe(`as ${user}`, () => {
      test('an instant query returns exactly the series in scope, with their values', async () => {
        const data = (await json(user, '/api/v1/query?query=app_queue_depth')) as {
          result: Array<{ metric: Labels; value: [number, string] }>;
        };
        assertAllVisible(
          user,
          data.result.map((sample) => sample.metric),
          'series',
        );
        assert.deepEqual(pairs(data.result.map((sample) => sample.metric)), pairsOf(user));
        for (const { metric, value } of data.result)
          assert.equal(value[1], String(queueDepth(metric.namespace!, metric.env!)));
      });

      test('an aggregation sums only the series in scope', async () => {
        const data = (await json(user, `/api/v1/query?${new URLSearchParams({ query: 'sum(app_queue_depth)' })}`)) as {
          result: Array<{ value: [number, string] }>;
        };
        const expected = pairsOf(user)
          .map((pair) => pair.split('/') as [string, string])
          .reduce((sum, [namespace, env]) => sum + queueDepth(namespace, env), 0);
        assert.equal(data.result[0]?.value[1], String(expected));
      });

      test('a POSTed range query returns only the series in scope', async () => {
        const body = new URLSearchParams({
          query: 'rate(http_requests_total[5m])',
          start: String(now() - 600),
          end: String(now()),
          step: '60',
        }).toString();
        const data = (await json(user, '/api/v1/query_range', { method: 'POST', body })) as {
          result: Array<{ metric: Labels; values: unknown[] }>;
        };
        assertAllVisible(
          user,
          data.result.map((series) => series.metric),
          'series',
        );
        assert.deepEqual(pairs(data.result.map((series) => series.metric)), pairsOf(user));
        assert.ok(data.result.every((series) => series.values.length > 0));
      });

      test('histogram quantiles come from the buckets in scope', async () => {
        const query =
          'histogram_quantile(0.9, sum by (le, namespace, env) (rate(http_request_duration_seconds_bucket[10m])))';
        const data = (await json(user, `/api/v1/query?${new URLSearchParams({ query })}`)) as {
          result: Array<{ metric: Labels }>;
        };
        assert.deepEqual(pairs(data.result.map((sample) => sample.metric)), pairsOf(user));
      });

      test('exemplars are only those of series in scope', async () => {
        const params = new URLSearchParams({
          query: 'checkout_latency_seconds_bucket',
          start: String(now() - 3600),
          end: String(now() + 60),
        });
        const data = (await json(user, `/api/v1/query_exemplars?${params}`)) as Array<{
          seriesLabels: Labels;
          exemplars: Array<{ labels: { trace_id: string } }>;
        }>;
        assertAllVisible(
          user,
          data.map((entry) => entry.seriesLabels),
          'exemplars of',
        );
        assert.deepEqual(pairs(data.map((entry) => entry.seriesLabels)), pairsOf(user));
        for (const entry of data)
          for (const exemplar of entry.exemplars)
            assert.equal(exemplar.labels.trace_id, `trace-${entry.seriesLabels.namespace}-${entry.seriesLabels.env}`);
      });

      test('series, with and without a time range, are only those in scope', async () => {
        for (const query of [
          'match[]=app_queue_depth',
          `match[]=http_requests_total&start=${now() - 3600}&end=${now()}`,
          'match[]={__name__=~".%2B"}',
        ]) {
          const data = (await json(user, `/api/v1/series?${query}`)) as Labels[];
          assertAllVisible(user, data, 'series');
          assert.ok(data.length > 0, query);
          if (user !== 'carol') assert.deepEqual(pairs(data), pairsOf(user), query);
        }
        const names = ((await json(user, '/api/v1/series?match[]={__name__=~".%2B"}')) as Labels[]).map(
          (labels) => labels.__name__,
        );
        assert.equal(names.includes('build_info'), user === 'carol', 'build_info has no namespace');
      });

      test('label names are those of the series in scope', async () => {
        for (const query of ['', '?match[]=app_queue_depth']) {
          const names = (await json(user, `/api/v1/labels${query}`)) as string[];
          assert.ok(names.includes('namespace'));
          // Only build_info carries `version`, and it has no namespace.
          if (query === '') assert.equal(names.includes('version'), user === 'carol');
        }
      });

      test('label values, with and without match[], are those in scope', async () => {
        const expectedNamespaces = [...new Set(pairsOf(user).map((pair) => pair.split('/')[0]!))].sort();
        const expectedEnvs = [...new Set(pairsOf(user).map((pair) => pair.split('/')[1]!))].sort();
        for (const query of ['', '?match[]=app_queue_depth', `?match[]=http_requests_total&start=${now() - 600}`]) {
          assert.deepEqual(await json(user, `/api/v1/label/namespace/values${query}`), expectedNamespaces, query);
          assert.deepEqual(await json(user, `/api/v1/label/env/values${query}`), expectedEnvs, query);
        }
        const versions = (await json(user, '/api/v1/label/version/values')) as string[];
        assert.deepEqual(versions, user === 'carol' ? ['1.2.3'] : []);
        const traces = (await json(user, '/api/v1/label/__name__/values')) as string[];
        assert.equal(traces.includes('build_info'), user === 'carol');
      });

      test('federation returns only the series in scope', async () => {
        const response = await setup.request(
          user,
          `/federate?${new URLSearchParams({ 'match[]': '{__name__=~".+"}' })}`,
        );
        assert.equal(response.status, 200, response.text);
        const series = federatedSeries(response.text);
        assertAllVisible(user, series, 'federated series');
        assert.deepEqual(pairs(series.filter((labels) => labels.__name__ === 'app_queue_depth')), pairsOf(user));
      });

      test('alerts are those of the series in scope', async () => {
        const data = (await json(user, '/api/v1/alerts')) as { alerts: Array<{ labels: Labels; state: string }> };
        assertAllVisible(
          user,
          data.alerts.map((alert) => alert.labels),
          'alert',
        );
        for (const alertname of ['QueueBacklog', 'TenantErrors'])
          assert.deepEqual(
            pairs(data.alerts.filter((alert) => alert.labels.alertname === alertname).map((alert) => alert.labels)),
            pairsOf(user),
            alertname,
          );
      });

      test('rules are those labelled in scope, their alerts too', async () => {
        const data = (await json(user, '/api/v1/rules')) as {
          groups: Array<{
            name: string;
            rules: Array<{ name: string; labels?: Labels; alerts?: Array<{ labels: Labels }> }>;
          }>;
        };
        const rules = data.groups.flatMap((group) => group.rules);
        for (const rule of rules) {
          if (user !== 'carol')
            assert.ok(
              visibleTo(user, rule.labels ?? {}),
              `${user} got rule ${rule.name} ${JSON.stringify(rule.labels)}`,
            );
          assertAllVisible(
            user,
            (rule.alerts ?? []).map((alert) => alert.labels),
            `alert of ${rule.name}`,
          );
        }
        const tenantRules = rules.filter(
          (rule) => rule.labels?.namespace !== undefined && rule.labels.env !== undefined,
        );
        assert.deepEqual(
          pairs(tenantRules.filter((rule) => rule.name === 'TenantErrors').map((rule) => rule.labels!)),
          pairsOf(user),
        );
        assert.equal(
          rules.some((rule) => rule.name === 'fleet:http_requests:rate1h'),
          user === 'carol',
        );
      });

      test('recorded series are those in scope', async () => {
        const data = (await json(user, '/api/v1/query?query=namespace_env:http_requests:rate1h')) as {
          result: Array<{ metric: Labels }>;
        };
        assert.deepEqual(pairs(data.result.map((sample) => sample.metric)), pairsOf(user));
        const fleet = (await json(user, '/api/v1/query?query=fleet:http_requests:rate1h')) as { result: unknown[] };
        assert.equal(fleet.result.length, user === 'carol' ? 1 : 0);
      });

      for (const path of [
        '/api/v1/targets',
        '/api/v1/metadata',
        '/api/v1/targets/metadata',
        '/api/v1/status/tsdb',
        '/api/v1/status/config',
        '/api/v1/status/flags',
        '/api/v1/alertmanagers',
        '/metrics',
      ]) {
        test(`${path} is ${user === 'carol' ? 'served' : 'refused'}`, async () => {
          const response = await setup.request(user, path);
          if (user === 'carol') return assert.equal(response.status, 200, response.text);
          assert.equal(response.status, 403, response.text);
          assert.doesNotMatch(response.text, /namespace|app_queue_depth/);
        });
      }
    });
  }

  test("the tenants' data is all there when asked of Prometheus directly (the fixture is what the proof assumes)", async () => {
    const response = await fetch(`${setup.url}/api/v1/query?query=app_queue_depth`);
    const data = ((await response.json()) as { data: { result: Array<{ metric: Labels }> } }).data;
    assert.deepEqual(pairs(data.result.map((sample) => sample.metric)), pairsOf('carol'));
  });
});
