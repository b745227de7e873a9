// promgate against the servers users would pick instead (the nginx recipe from Prometheus's guide,
// HAProxy, Prometheus's own TLS and basic auth), in one run, side by side: every server is started
// here, its RSS read once it answered its first health check, checked to answer 200 with the right
// body, then measured by wrk over TLS in alternating rounds (A B C, C B A, ...). Prints one table,
// the ratios against the issue's targets, each server's memory footprint, and writes
// bench/results/compare.json. Run: node bench/compare.ts (BENCH_QUICK=1: a smoke run).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { ANY_CORE, coreSpeed, describeErrors, LOAD_CORE, PIN, runWrk, SERVER_CORE, type Core } from './lib.ts';
import {
  coreLoad,
  cpuSeconds,
  createProcessGroup,
  peakRssMegabytes,
  processTree,
  resetPeakRss,
  rssMegabytes,
  runBench,
  waitForQuiet,
  waitForQuietCore,
} from './processes.ts';
import { startHaproxy, startNginx, startPrometheusTls, type RunningProxy, type ProxyOptions } from './peers.ts';
import { printReport, summarize, type RunRecord } from './report.ts';
import { defineScenarios, type Endpoint, type Scenario, type Target, type Variant } from './scenarios.ts';
import {
  BASIC_AUTH_HEADER,
  fetchOnce,
  IMAGE_ENV,
  IMAGE_NODE_FLAGS,
  makeCertificate,
  makeHtpasswd,
  promgateEntry,
  promgateHasFlag,
  startPrometheus,
  startPromgate,
  startStaticUpstream,
  versions,
} from './servers.ts';
import { HEALTHY_PATH } from '../middleware/health/index.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const env = (name: string, full: number, quick: number) => Number(process.env[name] ?? (QUICK ? quick : full));
const PARAMETERS = {
  quick: QUICK,
  rounds: env('BENCH_ROUNDS', 4, 2),
  // One 4 s round's p99 swings by up to 2x here (0.5 ms decides the target): 8 rounds, so that
  // one or two spikes do not set the median.
  smallRounds: env('BENCH_SMALL_ROUNDS', Number(process.env.BENCH_ROUNDS ?? 8), 2),
  seconds: env('BENCH_SECONDS', 4, 1),
  // Long enough for V8 to finish optimizing promgate's request path (at 2 s it was still
  // compiling: small-API runs varied from 4.5k to 7k req/s); servers run for days, not seconds.
  warmUpSeconds: env('BENCH_WARMUP_SECONDS', 6, 2),
  // A server process's first warm-up: V8 sizes promgate's young generation over its first ~15-20 s
  // of load (16 -> 64 MiB), and until then scavenges and mark-compacts are more frequent. Each
  // warm-up's figures are kept in the result file (warmUps), so the cold start stays visible.
  firstWarmUpSeconds: env('BENCH_FIRST_WARMUP_SECONDS', 20, 2),
  authSeconds: env('BENCH_AUTH_SECONDS', 5, 3),
  memoryRounds: env('BENCH_MEMORY_ROUNDS', 2, 1),
  memorySeconds: env('BENCH_MEMORY_SECONDS', 6, 3),
  smallConnections: env('BENCH_CONNECTIONS', 32, 32),
  largeConnections: env('BENCH_LARGE_CONNECTIONS', 8, 8),
  memoryConnections: 64,
  uploadBytes: 1024 * 1024,
  pinned: PIN,
  serverCore: PIN ? SERVER_CORE : 'any',
  loadCore: PIN ? LOAD_CORE : 'any',
};
const root = join(import.meta.dirname, '..');

/** Below this share of its speed at the start, a run is flagged: the machine, not the server, changed. */
const SLOW_MACHINE = 0.9;
/** The server core's speed at the first run: later runs' machineSpeed is relative to it. */
let baseSpeed: number | undefined;

const group = createProcessGroup();
const notes: string[] = [];
await runBench(async () => {
  const work = group.tempDir('promgate-compare-');
  chmodSync(work, 0o755); // nginx's worker (nobody) reads the htpasswd file and writes temp files here
  const { entry, note } = promgateEntry(root);
  notes.push(
    `promgate runs as the image runs it: ${[...Object.entries(IMAGE_ENV).map(([name, value]) => `${name}=${value}`), 'node', ...IMAGE_NODE_FLAGS, note].join(' ')}`,
  );
  const { cert, key } = makeCertificate(root, work);
  const ca = readFileSync(cert);
  const htpasswd = makeHtpasswd(work);
  console.log(
    `starting servers in ${work} (${PIN ? `servers on core ${SERVER_CORE}, wrk and upstreams on core ${LOAD_CORE}` : 'unpinned'})...`,
  );

  const [prometheus, upstream] = await Promise.all([startPrometheus(group, work), startStaticUpstream(group, work)]);
  const upstreamPorts: Record<Target, number> = { prometheus: prometheus.port, static: upstream.port };
  const variants: Variant[] = [
    {
      id: 'upstream',
      label: 'upstream direct (plain HTTP)',
      headers: {},
      requiresAuth: false,
      endpoints: {
        prometheus: { base: `http://127.0.0.1:${prometheus.port}`, pid: prometheus.pid },
        static: { base: `http://127.0.0.1:${upstream.port}`, pid: upstream.pid },
      },
    },
  ];
  const targets = ['prometheus', 'static'] as const;
  const proxyOptions: ProxyOptions = {
    core: SERVER_CORE,
    dir: work,
    cert,
    key,
    htpasswd,
    upstreams: targets.map((target) => upstreamPorts[target]),
  };
  const proxies: { id: string; label: string; auth: boolean; start: () => Promise<RunningProxy> }[] = [
    {
      id: 'nginx',
      label: 'nginx recipe',
      auth: false,
      start: () => startNginx(group, { ...proxyOptions, kind: 'recipe' }),
    },
    {
      id: 'nginx-tuned',
      label: 'nginx tuned (keepalive 32)',
      auth: false,
      start: () => startNginx(group, { ...proxyOptions, kind: 'tuned' }),
    },
    {
      id: 'nginx-auth',
      label: 'nginx recipe + auth_basic',
      auth: true,
      start: () => startNginx(group, { ...proxyOptions, kind: 'auth' }),
    },
    {
      id: 'haproxy',
      label: 'HAProxy (1 thread, connection reuse)',
      auth: false,
      start: () => startHaproxy(group, { ...proxyOptions, auth: false }),
    },
    {
      id: 'haproxy-auth',
      label: 'HAProxy + basic auth (bcrypt-10 userlist)',
      auth: true,
      start: () => startHaproxy(group, { ...proxyOptions, auth: true }),
    },
  ];
  for (const { id, label, auth, start } of proxies) {
    const proxy = await start();
    const endpoints = Object.fromEntries(
      targets.map((target, index) => [
        target,
        { base: `https://127.0.0.1:${proxy.ports[index]}/prometheus`, pid: proxy.pid },
      ]),
    );
    const headers = auth ? BASIC_AUTH_HEADER : {};
    // Prometheus's own health endpoint, through the proxy.
    const idleRssMb = await idleRss(`${endpoints.prometheus!.base}/-/healthy`, headers, ca, proxy.pid);
    variants.push({ id, label, headers, requiresAuth: auth, endpoints, idleRssMb });
  }
  // Only the small API: it cannot serve the static upstream's answers.
  const prometheusTls = await startPrometheusTls(group, { core: SERVER_CORE, dir: work, cert, key, htpasswd });
  variants.push({
    id: 'prometheus-tls',
    label: "Prometheus's own TLS + basic auth",
    headers: BASIC_AUTH_HEADER,
    requiresAuth: true,
    endpoints: { prometheus: { base: `https://127.0.0.1:${prometheusTls.port}`, pid: prometheusTls.pid } },
    idleRssMb: await idleRss(
      `https://127.0.0.1:${prometheusTls.port}/-/healthy`,
      BASIC_AUTH_HEADER,
      ca,
      prometheusTls.pid,
    ),
  });
  const promgateVariants: {
    id: string;
    label: string;
    auth: boolean;
    extra: string[];
    core: Core;
    workers: number;
    targets: readonly Target[];
  }[] = [
    {
      id: 'promgate-auth',
      label: 'promgate full chain (basic auth)',
      auth: true,
      extra: [],
      core: SERVER_CORE,
      workers: 1,
      targets,
    },
    {
      id: 'promgate-auth-nolog',
      label: 'promgate full chain, --no-log.access-log',
      auth: true,
      extra: ['--no-log.access-log'],
      core: SERVER_CORE,
      workers: 1,
      targets,
    },
    { id: 'promgate', label: 'promgate without auth', auth: false, extra: [], core: SERVER_CORE, workers: 1, targets },
    // Untouched until the memory scenario, so their peak is that load's, not an earlier scenario's heap.
    {
      id: 'promgate-auth-fresh',
      label: 'promgate full chain, fresh process',
      auth: true,
      extra: [],
      core: SERVER_CORE,
      workers: 1,
      targets: ['static'],
    },
    {
      id: 'promgate-fresh',
      label: 'promgate without auth, fresh process',
      auth: false,
      extra: [],
      core: SERVER_CORE,
      workers: 1,
      targets: ['static'],
    },
  ];
  if (promgateHasFlag(entry, '--workers')) {
    // Pinned to one core, a second worker has nothing to run on: this pair runs unpinned.
    const unpinned = { auth: true, core: ANY_CORE, targets: ['static'] as const };
    promgateVariants.push(
      {
        ...unpinned,
        id: 'promgate-1w-unpinned',
        label: 'promgate full chain, 1 worker, unpinned',
        extra: [],
        workers: 1,
      },
      {
        ...unpinned,
        id: 'promgate-2w-unpinned',
        label: 'promgate full chain, --workers=2, unpinned',
        extra: ['--workers=2'],
        workers: 2,
      },
    );
  } else {
    notes.push('promgate --help lists no --workers flag: the --workers=2 comparison was skipped');
  }
  const started = await Promise.all(
    promgateVariants.map(async (variant) => {
      const endpoints: Partial<Record<Target, Endpoint>> = {};
      let idleRssMb: number | undefined;
      for (const target of variant.targets) {
        const extra = [...(variant.auth ? [`--auth.htpasswd-file=${htpasswd}`] : []), ...variant.extra];
        const server = await startPromgate(group, {
          entry,
          core: variant.core,
          dir: work,
          name: variant.id,
          upstream: upstreamPorts[target],
          cert,
          key,
          extra,
          workers: variant.workers,
        });
        endpoints[target] = { base: `https://127.0.0.1:${server.port}/prometheus`, pid: server.pid };
        // The first target's process: the small API's when the variant serves both.
        idleRssMb ??= await idleRss(`https://127.0.0.1:${server.port}${HEALTHY_PATH}`, {}, ca, server.pid);
      }
      return {
        id: variant.id,
        label: variant.label,
        headers: variant.auth ? BASIC_AUTH_HEADER : {},
        requiresAuth: variant.auth,
        endpoints,
        idleRssMb,
      };
    }),
  );
  variants.push(...started);

  const only = process.env.BENCH_ONLY?.split(',');
  const scenarios = defineScenarios(PARAMETERS, upstream.largeBytes, variants).filter(
    (scenario) => !only || only.includes(scenario.id),
  );
  const records: RunRecord[] = [];
  const warmUps: RunRecord[] = [];
  const warmedUp = new Set<number>(); // server processes that had their first warm-up
  for (const scenario of scenarios) {
    const scenarioStarted = performance.now();
    const members = scenario.variants.map((id) => variants.find((variant) => variant.id === id)!);
    for (const variant of members) await verify(scenario, variant, ca);
    console.log(`\n${scenario.label}: ${members.map((variant) => variant.label).join(' | ')}`);
    if (scenario.warmUp) {
      for (const variant of members) {
        const pid = variant.endpoints[scenario.target]!.pid;
        // A process's first warm-up is two runs: when the first load's connections close, Node 24
        // throws away the optimized code of much of its HTTP, stream and socket path once (~70
        // functions, "dependent prototype chain changed"; a bare https server does it too), and V8
        // optimizes it again under the next load. Without the second run that fell in round 1.
        const runs = warmedUp.has(pid)
          ? [PARAMETERS.warmUpSeconds]
          : [PARAMETERS.firstWarmUpSeconds, PARAMETERS.warmUpSeconds];
        warmedUp.add(pid);
        for (const seconds of runs) {
          const record = {
            scenario: scenario.id,
            variant: variant.id,
            round: -1,
            ...(await measure(scenario, variant, seconds)),
          };
          warmUps.push(record);
          console.log(
            `  warm-up ${seconds} s ${variant.label}: ${Math.round(record.wrk.requestsPerSecond)} req/s, p99 ${record.wrk.p99Ms.toFixed(2)} ms`,
          );
        }
      }
    }
    for (let round = 0; round < scenario.rounds; round++) {
      // Forward, then backward: no variant always runs right after the same neighbour.
      for (const variant of round % 2 === 0 ? members : [...members].reverse()) {
        const record = {
          scenario: scenario.id,
          variant: variant.id,
          round,
          ...(await measure(scenario, variant, scenario.seconds)),
        };
        records.push(record);
        const flag = record.wrk.errors > 0 ? `  ERRORS: ${describeErrors(record.wrk)}` : '';
        const other =
          record.otherOnServerCorePercent > 0
            ? `, other work on the server core ${Math.round(record.otherOnServerCorePercent)}%`
            : '';
        const load = Number.isNaN(record.loadCorePercent) ? '' : `, load core ${Math.round(record.loadCorePercent)}%`;
        const speed =
          record.machineSpeed < SLOW_MACHINE
            ? `, MACHINE SLOW: ${record.machineSpeed.toFixed(2)}x of its speed at the start`
            : '';
        console.log(
          `  round ${round + 1} ${variant.label}: ${Math.round(record.wrk.requestsPerSecond)} req/s, p99 ${record.wrk.p99Ms.toFixed(2)} ms, ${record.megabytesPerSecond.toFixed(1)} MB/s, CPU ${Math.round(record.cpuPercent)}%${other}${load}, peak RSS ${record.peakRssMb.toFixed(0)} MB${speed}${flag}`,
        );
      }
    }
    console.log(`  (${((performance.now() - scenarioStarted) / 1000).toFixed(0)} s)`);
  }

  const slow = records.filter((record) => record.machineSpeed < SLOW_MACHINE);
  if (slow.length > 0) {
    notes.push(
      `the machine ran slower than at the start (speed probe < ${SLOW_MACHINE}x) before ${slow.length} of ${records.length} runs: ${slow.map((record) => `${record.scenario} ${record.variant} round ${record.round + 1} (${record.machineSpeed.toFixed(2)}x)`).join(', ')}`,
    );
  }
  const rows = summarize(scenarios, records);
  const { targets: targetsReport, footprint } = printReport(scenarios, variants, rows, PARAMETERS, notes);
  const result = {
    date: new Date().toISOString(),
    versions: versions(entry),
    machine: { cores: availableParallelism(), cpuModel: cpus()[0]?.model },
    parameters: PARAMETERS,
    notes,
    scenarios: scenarios.map(({ check: _check, ...scenario }) => scenario),
    variants: variants.map(({ id, label, idleRssMb }) => ({ id, label, idleRssMb })),
    rows,
    targets: targetsReport,
    footprint,
    runs: records,
    warmUps,
  };
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(
    root,
    'bench/results',
    QUICK ? 'compare-quick.json' : only ? 'compare-partial.json' : 'compare.json',
  );
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}, group);

/** RSS of the server's processes right after start, once it answered its first health check. */
async function idleRss(url: string, headers: Record<string, string>, ca: Buffer, pid: number): Promise<number> {
  const answer = await fetchOnce(url, { headers, ca });
  if (answer.status !== 200)
    throw new Error(`health check ${url} answered ${answer.status}: ${answer.body.toString().slice(0, 200)}`);
  return rssMegabytes(processTree(pid));
}

/** One request before measuring: a fast variant answering 401, 404 or 502 is not fast. */
async function verify(scenario: Scenario, variant: Variant, ca: Buffer): Promise<void> {
  const url = urlOf(scenario, variant);
  const body = scenario.method === 'POST' ? Buffer.alloc(PARAMETERS.uploadBytes, 'x') : undefined;
  const headers = { ...variant.headers, ...(body ? { 'content-type': 'application/octet-stream' } : {}) };
  const answer = await fetchOnce(url, { method: scenario.method, headers, body, ca });
  let problem = answer.status === 200 ? undefined : `status ${answer.status}: ${answer.body.toString().slice(0, 200)}`;
  try {
    problem ??= scenario.check(answer);
  } catch (error) {
    problem = `unreadable answer (${error instanceof Error ? error.message : String(error)}): ${answer.body.toString().slice(0, 200)}`;
  }
  if (problem) throw new Error(`${variant.label}, ${scenario.id}: ${url} ${problem}`);
  if (variant.requiresAuth) {
    const anonymous = await fetchOnce(url, {
      method: scenario.method,
      headers: { 'content-type': 'application/octet-stream' },
      body,
      ca,
    });
    if (anonymous.status !== 401)
      throw new Error(
        `${variant.label}, ${scenario.id}: without credentials ${url} answered ${anonymous.status}, not 401`,
      );
  }
}

async function measure(
  scenario: Scenario,
  variant: Variant,
  seconds: number,
): Promise<Omit<RunRecord, 'scenario' | 'variant' | 'round'>> {
  const pids = processTree(variant.endpoints[scenario.target]!.pid);
  // Both cores idle before each run: a run that starts while another benchmark runs is noise.
  for (const core of PIN ? [SERVER_CORE, LOAD_CORE] : []) {
    if (!(await waitForQuietCore(core)))
      console.log(`  (core ${core} stayed busy for 10 s before this run: something else is running)`);
  }
  const speed = await coreSpeed(SERVER_CORE);
  baseSpeed ??= speed;
  const machineSpeed = speed / baseSpeed;
  const rssBeforeMb = rssMegabytes(pids);
  const peakReset = resetPeakRss(pids);
  const cpuBefore = cpuSeconds(pids);
  const cores = PIN ? coreLoad([SERVER_CORE, LOAD_CORE]) : undefined;
  const started = performance.now();
  const wrk = await runWrk(urlOf(scenario, variant), {
    connections: scenario.connections,
    threads: scenario.threads,
    seconds,
    headers: variant.headers,
    timeoutSeconds: scenario.timeoutSeconds,
    core: scenario.wrkCore,
    signal: group.signal,
    ...(scenario.method === 'POST' ? { script: join(import.meta.dirname, 'post-1mb.lua') } : {}),
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpuPercent = ((cpuSeconds(pids) - cpuBefore) / elapsed) * 100;
  const [serverCorePercent = Number.NaN, loadCorePercent = Number.NaN] = cores?.() ?? [];
  // Work on the server core that is not the server's: softirqs, or someone else's process (noise).
  const otherOnServerCorePercent = Math.max(0, serverCorePercent - cpuPercent);
  const peakRssMb = peakRssMegabytes(pids);
  await waitForQuiet(pids);
  const megabytesPerSecond = scenario.uploadBytes
    ? (wrk.requestsPerSecond * scenario.uploadBytes) / 1048576
    : wrk.megabytesPerSecond;
  return {
    wrk,
    megabytesPerSecond,
    cpuPercent,
    otherOnServerCorePercent,
    loadCorePercent,
    machineSpeed,
    peakRssMb,
    rssBeforeMb,
    peakReset,
  };
}

function urlOf(scenario: Scenario, variant: Variant): string {
  const endpoint = variant.endpoints[scenario.target];
  if (!endpoint) throw new Error(`${variant.label} has no server for the ${scenario.target} upstream`);
  return `${endpoint.base}${scenario.path}`;
}
