// The processes a benchmark starts, and what /proc says about them (CPU time, peak RSS). Everything
// started through a ProcessGroup stops, and its temp dirs go, when the group closes: at the end, on
// an error, or on Ctrl-C (closeOnSignals).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pinned, type Core } from './lib.ts';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 100;
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these. */
const CLOCK_TICKS_PER_SECOND = 100;
/** "Quiet": at most one clock tick of CPU in 100 ms, i.e. under ~10% of a core. */
const QUIET_POLL_MS = 100;
const QUIET_CPU_SECONDS = 1 / CLOCK_TICKS_PER_SECOND;

export interface StartOptions {
  core: Core;
  command: string;
  args: string[];
  /** stdout and stderr go here (a pipe we had to drain would cost the load core CPU). */
  logFile: string;
  /** Ready once the log matches, or once the probe resolves true. */
  ready: RegExp | (() => Promise<boolean>);
  env?: NodeJS.ProcessEnv;
  /** Called right after the spawn, before it is ready: a group must be able to stop it from then on. */
  onSpawn?: (child: ChildProcess) => void;
}

export interface Started {
  child: ChildProcess;
  pid: number;
  /** The ready pattern's match in the log, when ready was a RegExp. */
  match: RegExpExecArray | undefined;
}

/** Starts a process pinned to `core`; resolves once it is ready, rejects (and kills it) if it is not. */
export async function startProcess(options: StartOptions): Promise<Started> {
  const [command, args] = pinned(options.core, options.command, options.args);
  const log = openSync(options.logFile, 'a');
  const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', log, log] });
  closeSync(log);
  options.onSpawn?.(child);
  const tail = () => readLog(options.logFile).slice(-4000);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(
          `${options.command} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail()}`,
        );
      if (options.ready instanceof RegExp) {
        const match = options.ready.exec(readLog(options.logFile));
        if (match) return { child, pid: child.pid!, match };
      } else if (await options.ready().catch(() => false)) {
        return { child, pid: child.pid!, match: undefined };
      }
      if (Date.now() > deadline)
        throw new Error(`${options.command} not ready after ${READY_TIMEOUT_MS / 1000} s:\n${tail()}`);
      await delay(POLL_MS);
    }
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
}

/** SIGTERM, then SIGKILL after 10 s; also kills children the process left behind (cluster workers). */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  const tree = processTree(child.pid);
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  for (const pid of tree.slice(1)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface ProcessGroup {
  start(options: StartOptions): Promise<Started>;
  /** A temp dir removed when the group closes. */
  tempDir(prefix: string): string;
  /** Aborted when the group starts closing: pass it to short-lived children (wrk) so they stop too. */
  signal: AbortSignal;
  /** Stops every process (last started first) and removes the temp dirs; safe to call twice. */
  close(): Promise<void>;
}

export function createProcessGroup(): ProcessGroup {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  let closing: Promise<void> | undefined;
  const aborter = new AbortController();
  return {
    signal: aborter.signal,
    start(options) {
      if (closing) return Promise.reject(new Error('the process group is closing'));
      return startProcess({ ...options, onSpawn: (child) => children.push(child) });
    },
    tempDir(prefix) {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    close() {
      closing ??= (async () => {
        aborter.abort();
        for (const child of children.reverse()) await stopProcess(child).catch(() => {});
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

/** Ctrl-C or SIGTERM: close the group, then exit as a signal would. */
export function closeOnSignals(group: ProcessGroup): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping everything the benchmark started`);
      void group.close().finally(() => process.exit(code));
    });
  }
}

/**
 * A bench script's life: its processes in one group, closed on Ctrl-C or SIGTERM and at the end;
 * an error is printed (not after Ctrl-C, whose aborted wrk run lands here) and exits 1. A script
 * whose helpers need the group before `main` runs (bench/compare.ts) hands in its own.
 */
export async function runBench(
  main: (group: ProcessGroup) => Promise<void>,
  group: ProcessGroup = createProcessGroup(),
): Promise<never> {
  closeOnSignals(group);
  let exitCode = 0;
  try {
    await main(group);
  } catch (error) {
    if (!group.signal.aborted) console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    exitCode = 1;
  } finally {
    await group.close();
  }
  process.exit(exitCode);
}

/** The pid and all its descendants (nginx's worker, cluster workers). */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (let index = 0; index < pids.length; index++) {
    for (const task of safe(() => readdirSync(`/proc/${pids[index]}/task`), [])) {
      const children = safe(() => readFileSync(`/proc/${pids[index]}/task/${task}/children`, 'utf8'), '');
      for (const child of children.split(' ').filter(Boolean)) pids.push(Number(child));
    }
  }
  return pids;
}

/** User plus system CPU seconds the processes used so far. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = safe(() => readFileSync(`/proc/${pid}/stat`, 'utf8'), '');
    // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Seconds core `core` was busy (not idle or waiting for I/O) since boot, from /proc/stat. */
export function coreBusySeconds(core: string): number {
  const line = new RegExp(`^cpu${core} (.+)$`, 'm').exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? '';
  // user nice system idle iowait irq softirq steal: all but idle and iowait.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.split(' ').map(Number);
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
}

/** Starts timing how busy `cores` are; the function returned gives each one's busy % since then. */
export function coreLoad(cores: string[]): () => number[] {
  const before = cores.map(coreBusySeconds);
  const started = performance.now();
  return () => {
    const elapsed = (performance.now() - started) / 1000;
    return cores.map((core, index) => ((coreBusySeconds(core) - before[index]!) / elapsed) * 100);
  };
}

/** Resets VmHWM (the peak RSS) of each process; false when the kernel refused. */
export function resetPeakRss(pids: number[]): boolean {
  return pids.every((pid) => safe(() => (writeFileSync(`/proc/${pid}/clear_refs`, '5'), true), false));
}

/** Sum of the processes' peak RSS (VmHWM) in MB; for one process, exactly its peak. */
export function peakRssMegabytes(pids: number[]): number {
  return statusMegabytes(pids, 'VmHWM');
}

/** Sum of the processes' RSS now, in MB. */
export function rssMegabytes(pids: number[]): number {
  return statusMegabytes(pids, 'VmRSS');
}

function statusMegabytes(pids: number[], field: 'VmHWM' | 'VmRSS'): number {
  let kilobytes = 0;
  for (const pid of pids) {
    const status = safe(() => readFileSync(`/proc/${pid}/status`, 'utf8'), '');
    kilobytes += Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  }
  return kilobytes / 1024;
}

/**
 * Waits until the processes use under 10% of a core (e.g. nginx still running bcrypt for requests
 * wrk sent before it stopped), so the next measurement does not pay for this one.
 */
export async function waitForQuiet(pids: number[], maxMs = 15_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let before = cpuSeconds(pids);
  while (Date.now() < deadline) {
    await delay(QUIET_POLL_MS);
    const now = cpuSeconds(pids);
    if (now - before <= QUIET_CPU_SECONDS) return;
    before = now;
  }
}

/** Waits until a core is under 10% busy (whatever runs there), up to `maxMs`; false if it never was. */
export async function waitForQuietCore(core: string, maxMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  let before = coreBusySeconds(core);
  while (Date.now() < deadline) {
    await delay(QUIET_POLL_MS);
    const now = coreBusySeconds(core);
    if (now - before <= QUIET_CPU_SECONDS) return true;
    before = now;
  }
  return false;
}

function readLog(file: string): string {
  return safe(() => readFileSync(file, 'utf8'), '');
}

function safe<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
