// A CPU profile of promgate's full chain (basic auth, default access log) under the small-API load
// of bench/compare.ts: real Prometheus, GET /prometheus/api/v1/label/job/values, wrk -c32 over TLS.
// Writes bench/results/profiles/*.cpuprofile (open in Chrome DevTools) and prints where the self
// time goes. Run: node bench/profile.ts (PROFILE_SECONDS=20; PROFILE_ARGS: extra promgate flags, e.g.
// --config.file=tenant.yml to profile a tenant role's requests).
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printProfileSummary, summarizeProfile } from './cpuprofile-summary.ts';
import { runWrk, SERVER_CORE } from './lib.ts';
import { cpuSeconds, processTree, runBench, stopProcess } from './processes.ts';
import { API_PATH } from './scenarios.ts';
import {
  BASIC_AUTH_HEADER,
  makeCertificate,
  makeHtpasswd,
  promgateEntry,
  startPrometheus,
  startPromgate,
} from './servers.ts';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 20);
const CONNECTIONS = 32;
const root = join(import.meta.dirname, '..');
const profiles = join(root, 'bench/results/profiles');

await runBench(async (group) => {
  const work = group.tempDir('promgate-profile-');
  chmodSync(work, 0o755);
  mkdirSync(profiles, { recursive: true });
  const { entry, note } = promgateEntry(root);
  const { cert, key } = makeCertificate(root, work);
  const htpasswd = makeHtpasswd(work);
  const prometheus = await startPrometheus(group, work);
  const startedAt = Date.now();
  const gateway = await startPromgate(group, {
    entry,
    core: SERVER_CORE,
    dir: work,
    name: 'profiled',
    upstream: prometheus.port,
    cert,
    key,
    extra: [`--auth.htpasswd-file=${htpasswd}`, ...(process.env.PROFILE_ARGS ?? '').split(' ').filter(Boolean)],
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profiles}`],
  });
  const url = `https://127.0.0.1:${gateway.port}/prometheus${API_PATH}`;
  await runWrk(url, { connections: CONNECTIONS, seconds: 2, headers: BASIC_AUTH_HEADER, signal: group.signal }); // warm-up
  const cpuBefore = cpuSeconds(processTree(gateway.pid));
  const wrk = await runWrk(url, {
    connections: CONNECTIONS,
    seconds: SECONDS,
    headers: BASIC_AUTH_HEADER,
    timeoutSeconds: 10,
    signal: group.signal,
  });
  const cpu = ((cpuSeconds(processTree(gateway.pid)) - cpuBefore) / SECONDS) * 100;
  console.log(
    `promgate (${note}) under wrk -c${CONNECTIONS} -d${SECONDS}s with --cpu-prof: ${Math.round(wrk.requestsPerSecond)} req/s, p99 ${wrk.p99Ms.toFixed(2)} ms, CPU ${Math.round(cpu)}%, errors ${wrk.errors}`,
  );
  // The profile is written when the process exits (promgate exits 0 on SIGTERM).
  await stopProcess(gateway.child);
  const file = readdirSync(profiles)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(profiles, name))
    .filter((path) => statSync(path).mtimeMs >= startedAt)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!file) throw new Error(`no .cpuprofile written to ${profiles}`);
  console.log(`profile: ${file}`);
  const summary = summarizeProfile(file);
  printProfileSummary(summary);
  writeFileSync(
    join(root, 'bench/results/profile-summary.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, entry, seconds: SECONDS, connections: CONNECTIONS, requestsPerSecond: wrk.requestsPerSecond, errors: wrk.errors, cpuPercent: cpu, file, ...summary }, null, 2)}\n`,
  );
});
