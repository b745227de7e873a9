// Shared pieces of the benchmarks: child processes, wrk runs over TLS, medians.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
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

/** `command args` run on the given core when pinning is on. */
export function pinned(core: string, command: string, args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', core, command, ...args]] : [command, args];
}

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  megabytesPerSecond: number;
  errors: number;
}

/** One wrk run with latency percentiles; keep-alive connections over TLS. */
export async function runWrk(url: string, options: { connections: number; seconds: number; threads?: number; headers?: Record<string, string> }): Promise<WrkResult> {
  const args = ['-t', String(options.threads ?? 1), '-c', String(options.connections), '-d', `${options.seconds}s`, '--latency'];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  const [command, fullArgs] = pinned(LOAD_CORE, 'wrk', [...args, url]);
  const { stdout } = await exec(command, fullArgs, { timeout: (options.seconds + 30) * 1000 });
  return parseWrk(stdout);
}

export function parseWrk(output: string): WrkResult {
  const toMs = (value: string, unit: string) => Number(value) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit] ?? Number.NaN);
  const percentile = (p: string) => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(output);
    return match ? toMs(match[1]!, match[2]!) : Number.NaN;
  };
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(output);
  const scale = { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 }[(transfer?.[2] ?? 'MB') as 'B' | 'KB' | 'MB' | 'GB'];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN),
    p50Ms: percentile('50'),
    p99Ms: percentile('99'),
    megabytesPerSecond: Number(transfer?.[1] ?? Number.NaN) * scale,
    errors,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Starts a process; resolves with it and the `ready` match once its stdout/stderr shows one. */
export function startProcess(core: string, command: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const [pinnedCommand, pinnedArgs] = pinned(core, command, args);
  const child = spawn(pinnedCommand, pinnedArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) resolve({ child, match });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${output}`)));
    setTimeout(() => reject(new Error(`${command} not ready after 20 s: ${output}`)), 20_000).unref();
  });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
