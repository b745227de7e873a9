// The PromQL rewriter's cost per query: parse, add a tenant's matchers, print, and parse again to
// verify (enforceQuery), next to the grammar's parse alone; median microseconds over many batches
// of typical Grafana queries. Run: npm run bench:promql
import { parser } from '@prometheus-io/lezer-promql';
import { enforceQuery } from '../middleware/tenancy/promql/index.ts';
import { median } from './lib.ts';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const WARMUP = 2_000;
const SCOPE = { namespace: ['team-a', 'shared'] };

const QUERIES = [
  'up',
  'up{job="node"} == 0',
  'sum by (namespace) (rate(container_cpu_usage_seconds_total{container!="", image!=""}[5m]))',
  'histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket{job="api"}[5m])))',
  '100 - (avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) * 100)',
  'topk(10, sum by (pod) (container_memory_working_set_bytes{namespace="default"}))',
  'sum(rate(http_requests_total{code=~"5.."}[5m])) / ignoring (code) group_left sum(rate(http_requests_total[5m]))',
  'predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"}[6h], 4 * 3600) < 0',
  'max_over_time(deriv(rate(http_requests_total[1m])[5m:1m])[1h:])',
  'avg_over_time(up[1h]) * on (instance) group_left (nodename) node_uname_info',
];

const strict = parser.configure({ strict: true });

/** Median microseconds per call of `run`, over BATCHES batches of BATCH calls. */
function measure(run: () => unknown): number {
  for (let i = 0; i < WARMUP; i++) run();
  const perCall: number[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) run();
    perCall.push(Number(process.hrtime.bigint() - started) / 1_000 / BATCH);
  }
  return median(perCall);
}

const rows = QUERIES.map((query) => ({
  query: query.length > 70 ? `${query.slice(0, 67)}...` : query,
  parse: measure(() => strict.parse(query)),
  enforce: measure(() => enforceQuery(query, SCOPE)),
}));
console.log(`median microseconds per query (${BATCHES} batches of ${BATCH}; Node ${process.version})`);
console.log(`${'lezer parse'.padStart(12)} ${'enforceQuery'.padStart(12)}  query`);
for (const row of rows)
  console.log(`${row.parse.toFixed(1).padStart(12)} ${row.enforce.toFixed(1).padStart(12)}  ${row.query}`);
console.log(
  `${'median'.padStart(12)} ${median(rows.map((row) => row.enforce))
    .toFixed(1)
    .padStart(12)}  (enforceQuery over the ${rows.length} queries)`,
);
