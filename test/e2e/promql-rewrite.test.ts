// The rewriter against a real Prometheus: scoped to everything there is, a rewritten query must
// answer exactly what the original answers (and Prometheus must accept its text); scoped to a
// tenant with no data, escape attempts must find nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enforceQuery } from '../../middleware/tenancy/promql/index.ts';
import type { TenantScope } from '../../src/kernel/request-state.ts';
import { freePort } from '../helpers/ports.ts';
import { PROMETHEUS_BINARY, startPrometheus, type TestPrometheus } from '../helpers/prometheus.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

interface QueryData {
  resultType: string;
  result: unknown;
}

describe('PromQL rewriting against a real Prometheus', { skip: requireCommands(PROMETHEUS_BINARY) }, () => {
  let prometheus: TestPrometheus;
  /** One evaluation time for every query, with a few seconds of self-scraped samples before it. */
  let time: number;

  async function query(expression: string): Promise<QueryData> {
    const url = `${prometheus.url}/api/v1/query?${new URLSearchParams({ query: expression, time: String(time) })}`;
    const response = await fetch(url);
    const body = (await response.json()) as { status: string; data: QueryData; error?: string };
    assert.equal(body.status, 'success', `${expression}: ${body.error}`);
    if (Array.isArray(body.data.result)) {
      body.data.result.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    }
    return body.data;
  }

  before(async () => {
    const port = await freePort();
    prometheus = await startPrometheus({ port, externalUrl: `http://127.0.0.1:${port}/` });
    await waitFor(
      async () => {
        time = Math.floor(Date.now() / 1000) - 1;
        const data = await query('count_over_time(up[1m])');
        return Number((data.result as Array<{ value: [number, string] }>)[0]?.value[1] ?? 0) >= 4;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: 'four samples of up' },
    );
  });
  after(() => prometheus?.stop());

  const same = [
    'up',
    '1+1',
    '"a string"',
    '0x10 + Inf',
    'up == 1',
    "up{job='prometheus'}",
    'up{job=`prometheus`} # a comment',
    'sum by (job) (rate(prometheus_http_requests_total[1m]))',
    'sum(rate(prometheus_http_requests_total[1m])) by (handler)',
    'histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[1m])))',
    'topk(3, prometheus_http_requests_total)',
    'bottomk(2, scrape_duration_seconds) or up',
    'count(count by (handler) (prometheus_http_requests_total))',
    'max_over_time(rate(prometheus_http_requests_total[30s])[1m:5s])',
    'min_over_time(up[30s:1s] offset 2s)',
    'up offset 2s',
    'up offset -1s',
    'up @ start()',
    'rate(up[1m] @ end())',
    'up unless on (job) (up offset 1s)',
    'rate(no_such_metric_total[1m]) or vector(0)',
    'label_replace(up, "host", "$1", "instance", "([^:]+):.*")',
    'label_join(up, "id", "/", "job", "instance")',
    'count_values("version", prometheus_build_info)',
    'scalar(sum(up)) > bool 0',
    '-up ^ 2',
    '- 2 ^ 2',
    'up * on (instance) group_left (version) prometheus_build_info',
    'up + ignoring (version) group_right prometheus_build_info',
    '{__name__=~"up|scrape_samples_scraped"}',
    'sum without (instance) (scrape_duration_seconds)',
    'time() - process_start_time_seconds',
    'timestamp(up) > 0',
    'sort_desc(sum by (code) (rate(prometheus_http_requests_total[1m])))',
    'quantile(0.5, scrape_duration_seconds)',
    'avg_over_time(up[1m]) and on () vector(1) > 0',
    'deriv(process_resident_memory_bytes[1m]) * 0',
    'sum(up{job="prometheus", instance=~".+"}) by (job)',
  ];
  // A quoted name (Prometheus 3) comes out as __name__, which 2.42 reads too.
  const equivalent = [
    ['{"__name__"="up"}', 'up'],
    ['{"up", "job"="prometheus"}', 'up'],
  ];
  const scopes: Array<[string, TenantScope]> = [
    ['one value', { job: ['prometheus'] }],
    ['several values', { job: ['prometheus', 'other.job'] }],
  ];
  for (const [what, scope] of scopes) {
    it(`answers every rewritten query as the original, scoped to all data with ${what}`, async () => {
      for (const original of same) {
        const rewritten = enforceQuery(original, scope);
        assert.deepEqual(await query(rewritten), await query(original), `${original} -> ${rewritten}`);
      }
      for (const [quoted, original] of equivalent) {
        assert.deepEqual(await query(enforceQuery(quoted!, scope)), await query(original!), quoted);
      }
    });
  }

  it("labels absent()'s answer from the tenant's matchers, as Prometheus labels it from equality matchers", async () => {
    const labelsOf = async (expression: string) =>
      ((await query(expression)).result as Array<{ metric: unknown }>).map((sample) => sample.metric);
    const one = { job: ['prometheus'] };
    assert.deepEqual(await labelsOf(enforceQuery('absent(up{job="prometheus"})', one)), []);
    assert.deepEqual(await labelsOf(enforceQuery('absent(nothing{job="prometheus"})', one)), [{ job: 'prometheus' }]);
    assert.deepEqual(await labelsOf(enforceQuery('absent(nothing)', one)), [{ job: 'prometheus' }]);
    // A label matched twice (the query's `=` and the tenant's `=~`) is left out, by Prometheus's rule.
    const several = { job: ['prometheus', 'other'] };
    assert.deepEqual(await labelsOf(enforceQuery('absent(nothing{job="prometheus"})', several)), [{}]);
  });

  it('finds nothing for escape attempts scoped to a tenant without data', async () => {
    const empty = { job: ['nobody'] };
    const attempts = [
      'up',
      '{__name__=~".+"}',
      '{job=~".*"}',
      '{job="prometheus"}',
      '{"job"="prometheus"}',
      '{job!="nobody"}',
      'vector(0) and up or {job="prometheus"}',
      'up or {job="prometheus"}',
      'count_values("job", {__name__=~".+"})',
      'label_replace({__name__=~".+"}, "job", "nobody", "job", ".*")',
      'label_join(up, "job", "", "instance")',
      'sum by (job) ({__name__=~".+"})',
      'max_over_time(up[1m:1s])',
      'up @ start()',
      'up # } or {job="prometheus"}',
      'up{job=`"} or {job="prometheus"} # `}',
      'up{job="\\"} or {job=\\"prometheus\\"}"}',
      'sort_desc(up) unless on () {job="nobody"}',
    ];
    for (const attempt of attempts) {
      const data = await query(enforceQuery(attempt, empty));
      assert.deepEqual(data.result, [], attempt);
    }
    // absent() of a scoped selector says the tenant has no such series.
    const absent = await query(enforceQuery('absent(up)', empty));
    assert.deepEqual(
      (absent.result as Array<{ metric: unknown }>).map((sample) => sample.metric),
      [{ job: 'nobody' }],
    );
  });
});
