// The servers bench/compare.ts measures, each started the way its users run it: Prometheus, the
// static upstream and promgate from its CLI. The servers users would pick instead of promgate are
// in ./peers.ts.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { LOAD_CORE, type Core } from './lib.ts';
import { freePort } from '../test/helpers/ports.ts';
import type { ProcessGroup } from './processes.ts';

export const BENCH_USER = 'bench';
export const BENCH_PASSWORD = 'bench password';
export const BASIC_AUTH_HEADER = {
  authorization: `Basic ${Buffer.from(`${BENCH_USER}:${BENCH_PASSWORD}`).toString('base64')}`,
};

export interface Server {
  /** Root pid (taskset execs, so it is the server's own); /proc/<pid> and its children. */
  pid: number;
  port: number;
}

/**
 * The CLI users run: dist/src/cli.js, rebuilt first when a source file is newer. When the build
 * fails (someone is mid-edit), src/cli.ts: the same code through Node's type stripping.
 */
export function promgateEntry(root: string): { entry: string; note: string } {
  const built = join(root, 'dist/src/cli.js');
  const newest = Math.max(...['src', 'middleware'].flatMap((dir) => sourceTimes(join(root, dir))));
  if (existsSync(built) && statSync(built).mtimeMs >= newest)
    return { entry: built, note: 'dist/src/cli.js (up to date)' };
  try {
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], {
      cwd: root,
      stdio: 'pipe',
    });
    chmodSync(built, 0o755);
    return { entry: built, note: 'dist/src/cli.js (rebuilt with tsc -p tsconfig.build.json)' };
  } catch (error) {
    const output = String((error as { stdout?: Buffer }).stdout ?? error)
      .split('\n')
      .slice(0, 3)
      .join(' | ');
    return { entry: join(root, 'src/cli.ts'), note: `src/cli.ts (the build failed: ${output})` };
  }
}

function sourceTimes(dir: string): number[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs);
}

/** The certificate every TLS server here uses, made by `promgate gen-cert` (EC P-256). */
export function makeCertificate(root: string, dir: string): { cert: string; key: string } {
  execFileSync(
    process.execPath,
    [join(root, 'src/cli.ts'), 'gen-cert', '--cn', 'localhost', '--san', '127.0.0.1', '--out', dir],
    { stdio: 'pipe' },
  );
  return { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
}

/** A bcrypt cost-10 user made by Apache's htpasswd; readable by nginx's unprivileged worker. */
export function makeHtpasswd(dir: string): string {
  const file = join(dir, '.htpasswd');
  execFileSync('htpasswd', ['-cbB', '-C', '10', file, BENCH_USER, BENCH_PASSWORD], { stdio: 'ignore' });
  chmodSync(file, 0o644);
  return file;
}

/** Prometheus scraping itself every second; resolves once the job label has a value. `env` goes over the bench's. */
export async function startPrometheus(group: ProcessGroup, dir: string, env?: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`,
  );
  const { pid } = await group.start({
    core: LOAD_CORE,
    command: 'prometheus',
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    logFile: join(dir, 'prometheus.log'),
    env: { ...process.env, ...env },
    // The first scrape comes ~5 s after start (service discovery's tick).
    ready: async () =>
      (await fetchOnce(`http://127.0.0.1:${port}/api/v1/label/job/values`)).body.toString().includes('"prometheus"'),
  });
  return { pid, port };
}

export async function startStaticUpstream(group: ProcessGroup, dir: string): Promise<Server & { largeBytes: number }> {
  const { pid, match } = await group.start({
    core: LOAD_CORE,
    command: process.execPath,
    args: [join(import.meta.dirname, 'static-upstream.ts')],
    logFile: join(dir, 'static-upstream.log'),
    ready: /upstream listening on (\d+) \(large body (\d+) bytes\)/,
  });
  return { pid, port: Number(match![1]), largeBytes: Number(match![2]) };
}

/** promgate's CLI with the defaults users get, plus `extra` flags; logs (JSON) to a file. */
export async function startPromgate(
  group: ProcessGroup,
  options: {
    entry: string;
    core: Core;
    dir: string;
    name: string;
    upstream: number;
    cert: string;
    key: string;
    extra: string[];
    nodeArgs?: string[];
    env?: Record<string, string>;
    workers?: number;
    /** A cgroup's `cgroup.procs` file: the server starts inside it, so Node sizes its heap by its memory limit. */
    cgroupProcs?: string;
  },
): Promise<Server & { child: ChildProcess }> {
  const port = await freePort();
  const logFile = join(options.dir, `promgate-${options.name}-${port}.log`);
  const command = process.execPath;
  const args = [
    ...IMAGE_NODE_FLAGS,
    ...(options.nodeArgs ?? []),
    options.entry,
    `--web.listen-address=127.0.0.1:${port}`,
    `--upstream.url=http://127.0.0.1:${options.upstream}`,
    `--tls.cert-file=${options.cert}`,
    `--tls.key-file=${options.key}`,
    ...options.extra,
  ];
  // `exec` keeps the pid: the process the group stops and measures is promgate's own.
  const inCgroup = options.cgroupProcs
    ? { command: 'sh', args: ['-c', 'echo $$ > "$0" && exec "$@"', options.cgroupProcs, command, ...args] }
    : { command, args };
  const { pid, child } = await group.start({
    core: options.core,
    ...inCgroup,
    logFile,
    env: { ...IMAGE_ENV, ...process.env, ...options.env }, // the image's defaults yield to a set variable, as in its entrypoint
    // Each cluster worker logs its own line.
    ready: async () =>
      (readFileSync(logFile, 'utf8').match(/promgate listening/g)?.length ?? 0) >= (options.workers ?? 1),
  });
  return { pid, port, child };
}

const ENTRYPOINT = readFileSync(join(import.meta.dirname, '..', 'deploy/docker/entrypoint.sh'), 'utf8').split('\n');

/** The Node flags the image's entrypoint starts promgate with: the bench runs it as the image does. */
export const IMAGE_NODE_FLAGS = imageNodeFlags(ENTRYPOINT);

/** The environment defaults the entrypoint exports (`export NAME="${NAME:-value}"`), as the image sets them. */
export const IMAGE_ENV = imageEnv(ENTRYPOINT);

function imageNodeFlags(lines: string[]): string[] {
  // The default of `node_args=${PROMGATE_NODE_ARGS-"..."}`, which the exec line passes to node.
  const defaults = lines
    .map((line) => /^node_args=\$\{PROMGATE_NODE_ARGS-"([^"]*)"\}$/.exec(line)?.[1])
    .find((flags) => flags !== undefined);
  return defaults ? defaults.split(' ').filter(Boolean) : [];
}

function imageEnv(lines: string[]): Record<string, string> {
  const defaults = lines
    .map((line) => /^export (\w+)="\$\{\1:-([^}"]*)\}"$/.exec(line))
    .filter((match) => match !== null);
  return Object.fromEntries(defaults.map((match) => [match[1]!, match[2]!]));
}

/** Whether `promgate --help` lists the flag (features land while the bench is in use). */
export function promgateHasFlag(entry: string, flag: string): boolean {
  return execFileSync(process.execPath, [entry, '--help'], { encoding: 'utf8' }).includes(`${flag}=`);
}

export function versions(promgate: string): Record<string, string> {
  const first = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .split('\n')[0]!
        .trim();
    } catch (error) {
      // wrk -v prints its version and exits 1.
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      return `${stdout ?? ''}${stderr ?? ''}`.split('\n')[0]!.trim();
    }
  };
  return {
    node: process.version,
    promgate: `${first(process.execPath, [promgate, '--version'])} (${promgate})`,
    nginx: first('sh', ['-c', 'nginx -v 2>&1']),
    haproxy: first('haproxy', ['-v']),
    prometheus: first('prometheus', ['--version']),
    wrk: first('sh', ['-c', 'wrk -v 2>&1']),
    openssl: first('openssl', ['version']),
    kernel: first('uname', ['-r']),
    cpu: /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown',
  };
}

export interface Answer {
  status: number;
  body: Buffer;
}

/** One request (HTTPS trusting `ca`, or plain HTTP), body read whole; for checks, not for load. */
export function fetchOnce(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer; ca?: Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const headers = { ...options.headers, ...(options.body ? { 'content-length': String(options.body.length) } : {}) };
    const req = send(
      url,
      { method: options.method ?? 'GET', headers, ca: options.ca, agent: false, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
