// promgate's memory footprint as a sidecar sees it, for one or more sets of Node flags: RSS right
// after start, the peak under a sustained small-API load, and the peak of a fresh process while 64
// clients download 10 MiB each; beside them req/s, p99 and CPU per request of the small-API load.
// Each setting gets fresh processes (full chain with basic auth), and settings take turns round by
// round, so the machine's drift hits all alike. For CPU per request, bench/ab.ts is the finer tool.
//
//   node bench/footprint.ts '' '--max-semi-space-size=2'    ('' = the image's defaults alone)
//
// Knobs: FOOTPRINT_ENTRY (a cli.js; default dist/src/cli.js, rebuilt when stale), FOOTPRINT_ROUNDS
// (2), FOOTPRINT_LOAD_SECONDS (small-API load after the 20 s first warm-up: 3 bursts of this, 5),
// FOOTPRINT_DOWNLOAD_SECONDS (10), FOOTPRINT_MEMORY_LIMIT (say 128M: promgate runs in a memory cgroup
// of that size, as in a pod with that limit, where Node sizes its heap by the limit; needs root).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describeErrors, median, runWrk, SERVER_CORE } from './lib.ts';
import {
  cpuSeconds,
  peakRssMegabytes,
  processTree,
  resetPeakRss,
  rssMegabytes,
  runBench,
  stopProcess,
  waitForQuiet,
} from './processes.ts';
import { API_PATH, LARGE_PATH } from './scenarios.ts';
import {
  BASIC_AUTH_HEADER,
  fetchOnce,
  IMAGE_ENV,
  IMAGE_NODE_FLAGS,
  makeCertificate,
  makeHtpasswd,
  promgateEntry,
  startPrometheus,
  startPromgate,
  startStaticUpstream,
} from './servers.ts';
import { FOOTPRINT_TARGETS } from './report.ts';
import { HEALTHY_PATH } from '../middleware/health/index.ts';

const root = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env.FOOTPRINT_ROUNDS ?? 2);
const FIRST_WARMUP_SECONDS = 20;
const LOAD_BURSTS = 3;
const LOAD_SECONDS = Number(process.env.FOOTPRINT_LOAD_SECONDS ?? 5);
const DOWNLOAD_SECONDS = Number(process.env.FOOTPRINT_DOWNLOAD_SECONDS ?? 10);
const SMALL_CONNECTIONS = 32;
const DOWNLOAD_CONNECTIONS = 64;

interface Round {
  idleMb: number;
  /** Of the idle RSS: anonymous memory (heaps, malloc) and file-backed pages (the node binary, mostly). */
  idleAnonMb: number;
  idleFileMb: number;
  smallApiPeakMb: number;
  requestsPerSecond: number;
  p99Ms: number;
  cpuMicrosPerRequest: number;
  downloadsPeakMb: number;
  downloadMegabytesPerSecond: number;
}

const settings = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [''];
const entry = process.env.FOOTPRINT_ENTRY ? resolve(process.env.FOOTPRINT_ENTRY) : promgateEntry(root).entry;
const cgroup = process.env.FOOTPRINT_MEMORY_LIMIT ? memoryCgroup(process.env.FOOTPRINT_MEMORY_LIMIT) : undefined;

await runBench(async (group) => {
  const work = group.tempDir('promgate-footprint-');
  const { cert, key } = makeCertificate(root, work);
  const ca = readFileSync(cert);
  const htpasswd = makeHtpasswd(work);
  const [prometheus, upstream] = await Promise.all([startPrometheus(group, work), startStaticUpstream(group, work)]);
  const rounds = new Map<string, Round[]>(settings.map((setting) => [setting, []]));
  if (cgroup) console.log(`in a memory cgroup limited to ${process.env.FOOTPRINT_MEMORY_LIMIT} (${cgroup.dir})`);
  console.log(
    `promgate ${entry}, image defaults: ${[...Object.entries(IMAGE_ENV).map(([name, value]) => `${name}=${value}`), 'node', ...IMAGE_NODE_FLAGS].join(' ')}`,
  );

  const start = async (setting: string, name: string, upstreamPort: number) => {
    const nodeArgs = setting.split(' ').filter(Boolean);
    const server = await startPromgate(group, {
      entry,
      core: SERVER_CORE,
      dir: work,
      name,
      upstream: upstreamPort,
      cert,
      key,
      extra: [`--auth.htpasswd-file=${htpasswd}`],
      nodeArgs,
      cgroupProcs: cgroup?.procs,
    });
    const answer = await fetchOnce(`https://127.0.0.1:${server.port}${HEALTHY_PATH}`, { ca });
    if (answer.status !== 200) throw new Error(`${name}: health check answered ${answer.status}`);
    return { ...server, base: `https://127.0.0.1:${server.port}/prometheus` };
  };
  // A slow download run may finish no 10 MiB answer in time: then only errors count.
  const wrk = (url: string, connections: number, seconds: number) =>
    runWrk(url, { connections, seconds, headers: BASIC_AUTH_HEADER, timeoutSeconds: 60, signal: group.signal }).then(
      (result) => {
        const oomKills = cgroup?.oomKills() ?? 0;
        if (oomKills > 0) throw new Error(`${url}: the kernel killed promgate (out of memory in the cgroup)`);
        if (result.errors > 0 || !(result.requests >= 0))
          throw new Error(`${url}: ${describeErrors(result)} in ${result.requests} requests`);
        return result;
      },
    );

  for (let round = 0; round < ROUNDS; round++) {
    for (const setting of round % 2 === 0 ? settings : [...settings].reverse()) {
      const api = await start(setting, `api-${round}`, prometheus.port);
      const [idleMb, idleAnonMb, idleFileMb] = [
        rssMegabytes([api.pid]),
        statusMegabytes(api.pid, 'RssAnon'),
        statusMegabytes(api.pid, 'RssFile'),
      ];
      resetPeakRss([api.pid]);
      let smallApiPeakMb = 0;
      await wrk(`${api.base}${API_PATH}`, SMALL_CONNECTIONS, FIRST_WARMUP_SECONDS);
      smallApiPeakMb = Math.max(smallApiPeakMb, peakRssMegabytes([api.pid]));
      const bursts: { rps: number; p99: number; cpu: number }[] = [];
      for (let burst = 0; burst < LOAD_BURSTS; burst++) {
        await waitForQuiet([api.pid]);
        resetPeakRss([api.pid]);
        const before = cpuSeconds([api.pid]);
        const result = await wrk(`${api.base}${API_PATH}`, SMALL_CONNECTIONS, LOAD_SECONDS);
        bursts.push({
          rps: result.requestsPerSecond,
          p99: result.p99Ms,
          cpu: ((cpuSeconds([api.pid]) - before) * 1e6) / result.requests,
        });
        smallApiPeakMb = Math.max(smallApiPeakMb, peakRssMegabytes([api.pid]));
      }
      await stopProcess(api.child);

      // A fresh process: the peak is this load's alone, as in compare.ts's memory scenario.
      const downloads = await start(setting, `downloads-${round}`, upstream.port);
      await delay(500);
      resetPeakRss(processTree(downloads.pid));
      const result = await wrk(`${downloads.base}${LARGE_PATH}`, DOWNLOAD_CONNECTIONS, DOWNLOAD_SECONDS);
      const downloadsPeakMb = peakRssMegabytes([downloads.pid]);
      await stopProcess(downloads.child);

      const record: Round = {
        idleMb,
        idleAnonMb,
        idleFileMb,
        smallApiPeakMb,
        requestsPerSecond: median(bursts.map((b) => b.rps)),
        p99Ms: median(bursts.map((b) => b.p99)),
        cpuMicrosPerRequest: median(bursts.map((b) => b.cpu)),
        downloadsPeakMb,
        downloadMegabytesPerSecond: result.megabytesPerSecond,
      };
      rounds.get(setting)!.push(record);
      console.log(
        `round ${round + 1} ${setting || '(defaults)'}: ${JSON.stringify(record, (_key, value: unknown) => (typeof value === 'number' ? Number(value.toFixed(1)) : value))}`,
      );
    }
  }

  const { idle, smallApi, largeDownloads } = FOOTPRINT_TARGETS;
  console.log(
    `\nMB, medians of ${ROUNDS} rounds (peaks: the highest); targets idle <= ${idle}, small-API <= ${smallApi}, 64 x 10 MiB <= ${largeDownloads}\n`,
  );
  console.log(
    '| Node flags | idle (anon + file) | small-API peak | 64 x 10 MiB peak | small-API req/s | p99 ms | CPU us/request | download MB/s |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [setting, records] of rounds) {
    const of = (pick: (round: Round) => number) => median(records.map(pick));
    const max = (pick: (round: Round) => number) => Math.max(...records.map(pick));
    console.log(
      `| ${setting || '(defaults)'} | ${of((r) => r.idleMb).toFixed(0)} (${of((r) => r.idleAnonMb).toFixed(0)} + ${of((r) => r.idleFileMb).toFixed(0)}) | ${max((r) => r.smallApiPeakMb).toFixed(0)} | ${max((r) => r.downloadsPeakMb).toFixed(0)} | ${Math.round(of((r) => r.requestsPerSecond))} | ${of((r) => r.p99Ms).toFixed(2)} | ${of((r) => r.cpuMicrosPerRequest).toFixed(0)} | ${of((r) => r.downloadMegabytesPerSecond).toFixed(0)} |`,
    );
  }
});

function statusMegabytes(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN) / 1024;
}

/** A memory cgroup (v2, or v1's memory controller) limited to `limit` (bytes, or with K/M/G), removed at exit. */
function memoryCgroup(limit: string): { dir: string; procs: string; oomKills(): number } {
  const unit = { K: 1 << 10, M: 1 << 20, G: 1 << 30 }[limit.slice(-1).toUpperCase()];
  const bytes = unit ? Number(limit.slice(0, -1)) * unit : Number(limit);
  if (!(bytes > 0)) throw new Error(`FOOTPRINT_MEMORY_LIMIT=${limit}: expected bytes or a number with K, M or G`);
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const dir = join(v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory', `promgate-footprint-${process.pid}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes'), String(bytes));
  } catch (error) {
    throw new Error(`FOOTPRINT_MEMORY_LIMIT needs a writable memory cgroup (root): ${(error as Error).message}`);
  }
  process.on('exit', () => rmdirSync(dir));
  const events = join(dir, v2 ? 'memory.events' : 'memory.oom_control');
  const oomKills = () => Number(/^oom_kill (\d+)$/m.exec(readFileSync(events, 'utf8'))?.[1] ?? 0);
  return { dir, procs: join(dir, 'cgroup.procs'), oomKills };
}
