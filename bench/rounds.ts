// Round by round, what set promgate's p99: the nginx recipe and promgate's full chain take turns
// under the small-API load (real Prometheus, wrk -c32 over TLS). Each round shows both servers'
// p50/p90/p99, how busy the server core and the load core (wrk, Prometheus) were when pinned, and
// the GC cycles Prometheus ran meanwhile (GODEBUG=gctrace=1); each promgate round also the garbage
// collections it held (promgate runs with --trace-gc). A round whose p99 jumps without a long
// pause in it points outside V8: this is how the basic-auth cache's expiry showed.
//
//   npm run bench:rounds
//
// Knobs: ROUNDS_COUNT (10), ROUNDS_IDLE_SECONDS between rounds (0; the full bench leaves each
// server ~30 s idle), ROUNDS_ARGS (extra promgate flags, e.g. "--auth.cache-ttl=20s"),
// ROUNDS_NODE_ARGS (extra Node flags after the image's, e.g. "--single-threaded-gc").
import { readFileSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { resolve } from 'node:path';
import { LOAD_CORE, PIN, runWrk, SERVER_CORE, type WrkResult } from './lib.ts';
import { startNginx } from './peers.ts';
import { coreLoad, runBench } from './processes.ts';
import { API_PATH } from './scenarios.ts';
import {
  BASIC_AUTH_HEADER,
  makeCertificate,
  makeHtpasswd,
  promgateEntry,
  startPrometheus,
  startPromgate,
} from './servers.ts';

const ROUNDS = Number(process.env.ROUNDS_COUNT ?? 10);
const IDLE_SECONDS = Number(process.env.ROUNDS_IDLE_SECONDS ?? 0);
const SECONDS = 4;
/** A pause at least this long is listed by name and time. */
const LONG_PAUSE_MS = 4;
const root = resolve(import.meta.dirname, '..');

/** `--trace-gc` lines: `[pid:0x...]   1234 ms: Scavenge 10.1 (12.0) -> ..., 1.23 / 0.00 ms ...`. */
const GC_LINE = /\]\s+(\d+) ms: (Scavenge|Mark-Compact)\b[^\n]*?, ([\d.]+) \/ [\d.]+ ms/g;
/** Go's gctrace lines: `gc 12 @3.456s 2%: 0.01+8.1+0.02 ms clock, ...`; the middle figure is the concurrent mark. */
const GO_GC_LINE = /^gc \d+ @[\d.]+s \d+%: [\d.]+\+([\d.]+)\+[\d.]+ ms clock/gm;

await runBench(async (group) => {
  const work = group.tempDir('promgate-rounds-');
  const { cert, key } = makeCertificate(root, work);
  const htpasswd = makeHtpasswd(work);
  const prometheus = await startPrometheus(group, work, { GODEBUG: 'gctrace=1' });
  const prometheusLog = `${work}/prometheus.log`;
  /** Prometheus's GC cycles since `from` (a size of its log), and their concurrent-mark time. */
  const upstreamGc = (from: number) => {
    const marks = [...readFileSync(prometheusLog, 'utf8').slice(from).matchAll(GO_GC_LINE)].map((match) =>
      Number(match[1]),
    );
    return `upstream ${marks.length} GCs (${marks.reduce((sum, ms) => sum + ms, 0).toFixed(0)} ms marking)`;
  };
  const percentiles = (result: WrkResult) =>
    `p50 ${result.p50Ms.toFixed(2)} p90 ${result.p90Ms.toFixed(2)} p99 ${result.p99Ms.toFixed(2)} ms`;
  const nginx = await startNginx(group, {
    kind: 'recipe',
    core: SERVER_CORE,
    dir: work,
    cert,
    key,
    htpasswd,
    upstreams: [prometheus.port],
  });
  const extra = [`--auth.htpasswd-file=${htpasswd}`, ...(process.env.ROUNDS_ARGS ?? '').split(' ').filter(Boolean)];
  const gateway = await startPromgate(group, {
    entry: promgateEntry(root).entry,
    core: SERVER_CORE,
    dir: work,
    name: 'rounds',
    upstream: prometheus.port,
    cert,
    key,
    extra,
    nodeArgs: ['--trace-gc', ...(process.env.ROUNDS_NODE_ARGS ?? '').split(' ').filter(Boolean)],
  });
  const gcLog = `${work}/promgate-rounds-${gateway.port}.log`;
  /** One wrk run, and how busy the server core and the load core (wrk, Prometheus) were meanwhile. */
  const load = async (port: number, seconds: number, auth: boolean): Promise<WrkResult & { cores: string }> => {
    const cores = coreLoad([SERVER_CORE, LOAD_CORE]);
    const result = await runWrk(`https://127.0.0.1:${port}/prometheus${API_PATH}`, {
      connections: 32,
      seconds,
      headers: auth ? BASIC_AUTH_HEADER : {},
      timeoutSeconds: 10,
      signal: group.signal,
    });
    return {
      ...result,
      cores: PIN
        ? `cores ${cores()
            .map((percent) => `${Math.round(percent)}%`)
            .join('/')}, `
        : '',
    };
  };
  // The full bench's warm-ups: 20 s, then 6 s (bench/README.md).
  await load(nginx.ports[0]!, 6, false);
  await load(gateway.port, 20, true);
  await load(gateway.port, 6, true);
  const started = performance.now();
  for (let round = 1; round <= ROUNDS; round++) {
    const upstreamBefore = statSync(prometheusLog).size;
    const recipe = await load(nginx.ports[0]!, SECONDS, false);
    const upstreamDuringRecipe = upstreamGc(upstreamBefore);
    const at = (performance.now() - started) / 1000;
    const logged = statSync(gcLog).size;
    const upstreamBetween = statSync(prometheusLog).size;
    const promgate = await load(gateway.port, SECONDS, true);
    const upstreamDuringPromgate = upstreamGc(upstreamBetween);
    const pauses = [...readFileSync(gcLog, 'utf8').slice(logged).matchAll(GC_LINE)].map((match) => ({
      kind: match[2]!,
      atMs: Number(match[1]),
      ms: Number(match[3]),
    }));
    const scavenges = pauses.filter((pause) => pause.kind === 'Scavenge');
    const long = pauses
      .filter((pause) => pause.ms >= LONG_PAUSE_MS)
      .map((pause) => `${pause.kind} ${pause.ms.toFixed(1)} ms`);
    if (recipe.errors + promgate.errors > 0)
      throw new Error(`round ${round}: ${recipe.errors} nginx and ${promgate.errors} promgate errors`);
    console.log(
      `round ${round} (+${at.toFixed(0)} s): nginx ${recipe.cores}${Math.round(recipe.requestsPerSecond)} req/s ${percentiles(recipe)}, ${upstreamDuringRecipe} | ` +
        `promgate ${promgate.cores}${Math.round(promgate.requestsPerSecond)} req/s ${percentiles(promgate)}, ${upstreamDuringPromgate}, ` +
        `${scavenges.length} scavenges (${scavenges.reduce((sum, pause) => sum + pause.ms, 0).toFixed(0)} ms)${long.length ? `, long: ${long.join(', ')}` : ''}`,
    );
    if (IDLE_SECONDS) await delay(IDLE_SECONDS * 1000, undefined, { signal: group.signal });
  }
});
