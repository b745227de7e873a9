// Shared pieces of the benchmarks: core pinning, wrk runs over TLS, medians. Processes and what
// /proc says about them live in ./processes.ts.
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * Cores for the measured server and for the load side (wrk, upstream). Pinned apart, the gateway's
 * own CPU cost decides its throughput instead of the scheduler's mood; BENCH_PIN=0 turns it off.
 */
export const PIN = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2;
export const SERVER_CORE = '0';
export const LOAD_CORE = '1';
/** No pinning: the process may run on any core. */
export const ANY_CORE = undefined;
export type Core = typeof SERVER_CORE | typeof LOAD_CORE | typeof ANY_CORE;

/** `command args` run on the given core when pinning is on. */
export function pinned(core: Core, command: string, args: string[]): [string, string[]] {
  return PIN && core !== ANY_CORE ? ['taskset', ['-c', core, command, ...args]] : [command, args];
}

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Response bytes per second as wrk counts them (MB = 2^20 bytes). */
  megabytesPerSecond: number;
  requests: number;
  /** Answers with a status >= 400 (wrk's "Non-2xx or 3xx"). */
  badStatus: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** badStatus plus every socket error. */
  errors: number;
}

export interface WrkOptions {
  connections: number;
  seconds: number;
  threads?: number;
  headers?: Record<string, string>;
  /** A wrk Lua script (method, body). */
  script?: string;
  /** Requests slower than this count as timeouts; wrk's default is 2 s. */
  timeoutSeconds?: number;
  /** Where wrk runs; the load core by default. */
  core?: Core;
  /** Kills wrk when aborted (the benchmark is stopping). */
  signal?: AbortSignal;
}

/** One wrk run with latency percentiles; keep-alive connections over TLS. */
export async function runWrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const args = [
    '-t',
    String(options.threads ?? 1),
    '-c',
    String(options.connections),
    '-d',
    `${options.seconds}s`,
    '--latency',
  ];
  if (options.timeoutSeconds !== undefined) args.push('--timeout', `${options.timeoutSeconds}s`);
  if (options.script) args.push('-s', options.script);
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  const [command, fullArgs] = pinned(options.core ?? LOAD_CORE, 'wrk', [...args, url]);
  const { stdout } = await exec(command, fullArgs, {
    timeout: (options.seconds + (options.timeoutSeconds ?? 2) + 30) * 1000,
    signal: options.signal,
  });
  return parseWrk(stdout);
}

export function parseWrk(output: string): WrkResult {
  const toMs = (value: string, unit: string) =>
    Number(value) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit] ?? Number.NaN);
  const percentile = (p: string) => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(output);
    return match ? toMs(match[1]!, match[2]!) : Number.NaN;
  };
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(output);
  const scale = { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 }[(transfer?.[2] ?? 'MB') as 'B' | 'KB' | 'MB' | 'GB'];
  const badStatus = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = {
    connect: Number(socket?.[1] ?? 0),
    read: Number(socket?.[2] ?? 0),
    write: Number(socket?.[3] ?? 0),
    timeout: Number(socket?.[4] ?? 0),
  };
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN),
    p50Ms: percentile('50'),
    p90Ms: percentile('90'),
    p99Ms: percentile('99'),
    megabytesPerSecond: Number(transfer?.[1] ?? Number.NaN) * scale,
    requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN),
    badStatus,
    socketErrors,
    errors: badStatus + socketErrors.connect + socketErrors.read + socketErrors.write + socketErrors.timeout,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The errors of a run, spelled out for the log and the table. */
export function describeErrors(wrk: WrkResult): string {
  const { connect, read, write, timeout } = wrk.socketErrors;
  return `${wrk.badStatus} status >= 400, socket errors connect ${connect} read ${read} write ${write} timeout ${timeout}`;
}

/** The same fixed work, how many times it fits in 100 ms. */
const SPEED_PROBE = `
const end = performance.now() + 100;
let rounds = 0, x = 1;
while (performance.now() < end) { for (let i = 0; i < 10000; i++) x = (x * 1103515245 + 12345) | 0; rounds++; }
process.stdout.write(String(x === 0.5 ? 0 : rounds));`;

/**
 * How fast a core runs plain JavaScript now, in probe rounds per 100 ms. This machine has spells
 * of minutes in which every server runs 20-40% slower; a probe before each run shows them (the
 * same number throughout a run means the machine held its speed).
 */
export async function coreSpeed(core: Core): Promise<number> {
  const [command, args] = pinned(core, process.execPath, ['-e', SPEED_PROBE]);
  return Number((await exec(command, args)).stdout);
}
