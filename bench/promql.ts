// The PromQL rewriter's cost per query: parse, add a tenant's matchers, print, and parse again to
// verify (enforceQuery), next to the grammar's parse alone, per typical Grafana query: this
// thread's CPU time per call (mean over all calls: steady on a busy machine, whose scheduler
// stretches wall time) and the median wall time per call over many batches.
// Run: npm run bench:promql
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

function cpuMicros(): number {
  const { user, system } = process.threadCpuUsage();
  return user + system;
}

/** Microseconds per call of `run`: mean thread CPU time, and median wall time over BATCHES batches of BATCH calls. */
function measure(run: () => unknown): { cpu: number; wall: number } {
  for (let i = 0; i < WARMUP; i++) run();
  const wall: number[] = [];
  const startedCpu = cpuMicros();
  for (let batch = 0; batch < BATCHES; batch++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) run();
    wall.push(Number(process.hrtime.bigint() - started) / 1_000 / BATCH);
  }
  return { cpu: (cpuMicros() - startedCpu) / (BATCHES * BATCH), wall: median(wall) };
}

const rows = QUERIES.map((query) => ({
  query: query.length > 60 ? `${query.slice(0, 57)}...` : query,
  parse: measure(() => strict.parse(query)),
  enforce: measure(() => enforceQuery(query, SCOPE)),
}));
const cell = (value: number) => value.toFixed(1).padStart(9);
console.log(`microseconds per query: CPU mean, wall median (${BATCHES} batches of ${BATCH}; Node ${process.version})`);
console.log(
  `${'parse cpu'.padStart(9)} ${'wall'.padStart(9)} ${'enforce cpu'.padStart(11)} ${'wall'.padStart(9)}  query`,
);
for (const { query, parse, enforce } of rows) {
  console.log(
    `${cell(parse.cpu)} ${cell(parse.wall)} ${cell(enforce.cpu).padStart(11)} ${cell(enforce.wall)}  ${query}`,
  );
}
const overall = (pick: (row: (typeof rows)[number]) => number) => median(rows.map(pick));
console.log(
  `${cell(overall((row) => row.parse.cpu))} ${cell(overall((row) => row.parse.wall))} ${cell(overall((row) => row.enforce.cpu)).padStart(11)} ${cell(overall((row) => row.enforce.wall))}  median of the ${rows.length} queries`,
);
