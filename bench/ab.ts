// What a change costs per request, A against B: two promgate builds (or flag sets) run at the same
// time on the server core and take turns under the same load, in short bursts (A B, B A, ...), so
// that the machine's drift, which moves runs of one build by 10-30% here, hits both alike. The
// figure is promgate's CPU time per request (from /proc), paired burst by burst; req/s and p99 are
// printed too. Load: full chain with basic auth, static upstream, small response, wrk -c32 over TLS.
//
//   cp -r dist scratch/dist-before   # scratch/ is ignored by git; node_modules still resolves
//   (change, then) npm run build
//   node bench/ab.ts dist/src/cli.js scratch/dist-before/src/cli.js
//
// Knobs: AB_PAIRS (20), AB_SECONDS per burst (3), AB_WARMUP_SECONDS (15), AB_A_ARGS / AB_B_ARGS
// (extra promgate flags for one side, e.g. "--no-log.access-log"), AB_A_NODE_ARGS / AB_B_NODE_ARGS
// (extra Node flags, after the image's), AB_A_ENV / AB_B_ENV (environment over the image's, e.g.
// "MALLOC_ARENA_MAX=16", glibc's own limit on 2 cores). An A/A run (the same entry twice) shows the
// method's own spread: on this 2-core machine about 2 us per request.
import { resolve } from 'node:path';
import { median, runWrk, SERVER_CORE } from './lib.ts';
import { cpuSeconds, processTree, runBench } from './processes.ts';
import { API_PATH } from './scenarios.ts';
import { BASIC_AUTH_HEADER, makeCertificate, makeHtpasswd, startPromgate, startStaticUpstream } from './servers.ts';

const PAIRS = Number(process.env.AB_PAIRS ?? 20);
const SECONDS = Number(process.env.AB_SECONDS ?? 3);
const WARMUP_SECONDS = Number(process.env.AB_WARMUP_SECONDS ?? 15);
const CONNECTIONS = 32;
const root = resolve(import.meta.dirname, '..');

interface Side {
  name: string;
  entry: string;
  extra: string[];
  nodeArgs: string[];
  env: Record<string, string>;
}
interface Running extends Side {
  url: string;
  pids: number[];
  bursts: Burst[];
}
interface Burst {
  cpuMicrosPerRequest: number;
  requestsPerSecond: number;
  p99Ms: number;
}

const [entryA, entryB] = process.argv.slice(2);
if (!entryA || !entryB) {
  console.error(
    'usage: node bench/ab.ts <cli.js of A> <cli.js of B>   (AB_A_ARGS, AB_B_ARGS: extra promgate flags; AB_A_NODE_ARGS, AB_B_NODE_ARGS: Node flags; AB_A_ENV, AB_B_ENV: NAME=value ...)',
  );
  process.exit(2);
}
const words = (name: string) => (process.env[name] ?? '').split(' ').filter(Boolean);
const assignments = (name: string) =>
  Object.fromEntries(words(name).map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]));
const sides: Side[] = [
  {
    name: 'A',
    entry: resolve(entryA),
    extra: words('AB_A_ARGS'),
    nodeArgs: words('AB_A_NODE_ARGS'),
    env: assignments('AB_A_ENV'),
  },
  {
    name: 'B',
    entry: resolve(entryB),
    extra: words('AB_B_ARGS'),
    nodeArgs: words('AB_B_NODE_ARGS'),
    env: assignments('AB_B_ENV'),
  },
];

await runBench(async (group) => {
  const work = group.tempDir('promgate-ab-');
  const { cert, key } = makeCertificate(root, work);
  const htpasswd = makeHtpasswd(work);
  const upstream = await startStaticUpstream(group, work);
  const servers: Running[] = [];
  for (const side of sides) {
    const server = await startPromgate(group, {
      entry: side.entry,
      core: SERVER_CORE,
      dir: work,
      name: side.name,
      upstream: upstream.port,
      cert,
      key,
      extra: [`--auth.htpasswd-file=${htpasswd}`, ...side.extra],
      nodeArgs: side.nodeArgs,
      env: side.env,
    });
    servers.push({
      ...side,
      url: `https://127.0.0.1:${server.port}/prometheus${API_PATH}`,
      pids: processTree(server.pid),
      bursts: [],
    });
  }
  const burst = async (server: Running, seconds: number): Promise<Burst> => {
    const before = cpuSeconds(server.pids);
    const wrk = await runWrk(server.url, {
      connections: CONNECTIONS,
      seconds,
      headers: BASIC_AUTH_HEADER,
      timeoutSeconds: 10,
      signal: group.signal,
    });
    if (wrk.errors > 0 || !(wrk.requests > 0))
      throw new Error(`${server.name} (${server.entry}): ${wrk.errors} errors in ${wrk.requests} requests`);
    return {
      cpuMicrosPerRequest: ((cpuSeconds(server.pids) - before) * 1e6) / wrk.requests,
      requestsPerSecond: wrk.requestsPerSecond,
      p99Ms: wrk.p99Ms,
    };
  };
  for (const server of servers) await burst(server, WARMUP_SECONDS);
  for (let pair = 0; pair < PAIRS; pair++) {
    for (const server of pair % 2 === 0 ? servers : [...servers].reverse())
      server.bursts.push(await burst(server, SECONDS));
  }
  console.log(
    `${PAIRS} pairs of ${SECONDS} s bursts, wrk -c${CONNECTIONS}, full chain with basic auth, static upstream; medians:`,
  );
  for (const server of servers) {
    const of = (pick: (burst: Burst) => number) => median(server.bursts.map(pick));
    console.log(
      `  ${server.name} ${[...Object.entries(server.env).map(([name, value]) => `${name}=${value}`), ...server.nodeArgs, server.entry, ...server.extra].join(' ')}`,
    );
    const p99s = server.bursts.map((b) => b.p99Ms).sort((x, y) => x - y);
    console.log(
      `    CPU ${of((b) => b.cpuMicrosPerRequest).toFixed(1)} us per request, ${Math.round(of((b) => b.requestsPerSecond))} req/s, p99 ${of((b) => b.p99Ms).toFixed(2)} ms (worst bursts: ${p99s
        .slice(-3)
        .map((p) => p.toFixed(1))
        .join(', ')} ms)`,
    );
  }
  const [a, b] = servers as [Running, Running];
  const differences = a.bursts.map(
    (burstA, index) => burstA.cpuMicrosPerRequest - b.bursts[index]!.cpuMicrosPerRequest,
  );
  const lower = differences.filter((difference) => difference < 0).length;
  console.log(
    `  A - B, CPU per request, paired: median ${median(differences).toFixed(1)} us; A used less in ${lower} of ${PAIRS} pairs`,
  );
});
