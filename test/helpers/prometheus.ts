// A real Prometheus for end-to-end tests, and the setup both e2e files share: the gateway at
// /prometheus in front of it, Prometheus started with the guide's --web.external-url/--web.route-prefix.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ServerOptions } from '../../src/index.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export const PROMETHEUS_BINARY = 'prometheus';
export const BASE_PATH = '/prometheus';
/**
 * Ready takes ~0.1 s, but the first scrape only comes ~5 s after start (service discovery hands
 * targets to the scrape manager on a 5 s tick, with no flag to shorten it in 2.42); slow CI needs slack.
 */
export const READY_TIMEOUT_MS = 30_000;
export const STOP_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 100;
const MAX_LOG_CHARS = 64 * 1024;

export interface TestPrometheus {
  /** http://127.0.0.1:<port>, Prometheus itself (no gateway). */
  url: string;
  port: number;
  /** What it was started with as --web.external-url. */
  externalUrl: string;
  /** The tail of its stdout and stderr, for assertion messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** --web.external-url: where users reach it (the gateway's origin plus base path). */
  externalUrl: string;
  /** Loopback port to listen on; a free one when omitted. */
  port?: number;
  binary?: string;
  /** More flags, e.g. --web.enable-admin-api. */
  args?: string[];
}

/**
 * Starts Prometheus scraping itself every second, waits for /-/ready and for the first `up`
 * sample, so queries made right after return results.
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<TestPrometheus> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'promgate-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  const dataDir = join(dir, 'data');
  writeFileSync(
    configFile,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: prometheus',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${port}']`,
      '',
    ].join('\n'),
  );
  const {
    output,
    exited,
    stop: stopProcess,
  } = spawnPrometheus(
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${options.externalUrl}`,
      '--web.route-prefix=/',
      ...(options.args ?? []),
    ],
    options.binary,
  );
  const url = `http://127.0.0.1:${port}`;

  let stopping: Promise<void> | undefined;
  const prometheus: TestPrometheus = {
    url,
    port,
    externalUrl: options.externalUrl,
    logs: output,
    stop() {
      stopping ??= stopProcess().then(() => rmSync(dir, { recursive: true, force: true }));
      return stopping;
    },
  };

  const details = () => `output:\n${output()}`;
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    await pollUntil(
      'answers GET /-/ready with 200',
      deadline,
      exited,
      details,
      async () => (await get(`${url}/-/ready`))?.status === 200,
    );
    // Whoever took the port in the race after freePort() would answer the polls in our stead.
    const flags = await get(`${url}/api/v1/status/flags`);
    if (
      flags?.status !== 200 ||
      (JSON.parse(flags.text) as { data: Record<string, string> }).data['storage.tsdb.path'] !== dataDir
    ) {
      throw new Error(
        `another process answers on 127.0.0.1:${port} (address already in use); prometheus output:\n${output()}`,
      );
    }
    await pollUntil('has scraped itself (the `up` series exists)', deadline, exited, details, async () => {
      const response = await get(`${url}/api/v1/query?query=up`);
      return (
        response?.status === 200 &&
        (JSON.parse(response.text) as { data: { result: unknown[] } }).data.result.length > 0
      );
    });
  } catch (error) {
    await prometheus.stop();
    throw error;
  }
  return prometheus;
}

export interface PrometheusBehindGateway {
  gateway: TestGateway;
  prometheus: TestPrometheus;
  /** https://127.0.0.1:<gateway port>/prometheus */
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * The deployment the README describes: gateway at /prometheus, Prometheus on loopback with
 * --web.external-url=https://127.0.0.1:<gateway port>/prometheus --web.route-prefix=/.
 * `gatewayOptions` adds to the gateway's (auth, metrics, ...).
 * The gateway needs Prometheus's port and Prometheus the gateway's: Prometheus's port is reserved
 * first, so on the rare race where someone takes it before Prometheus binds, start over.
 */
export async function startPrometheusBehindGateway(
  gatewayOptions: Omit<ServerOptions, 'basePath' | 'upstream'> = {},
  attempts = 3,
  prometheusArgs: string[] = [],
): Promise<PrometheusBehindGateway> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const gateway = await startTestGateway({
      ...gatewayOptions,
      basePath: BASE_PATH,
      upstream: `http://127.0.0.1:${port}`,
    });
    const baseUrl = `${gateway.origin}${BASE_PATH}`;
    try {
      const prometheus = await startPrometheus({ port, externalUrl: baseUrl, args: prometheusArgs });
      return {
        gateway,
        prometheus,
        baseUrl,
        async close() {
          await Promise.allSettled([gateway.close(), prometheus.stop()]);
          rmSync(gateway.cert.dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      await gateway.close();
      rmSync(gateway.cert.dir, { recursive: true, force: true });
      if (attempt >= attempts || !/address already in use/.test(String(error))) throw error;
    }
  }
}

export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A Prometheus run with a test's own configuration (e.g. scrape jobs aimed at the gateway). */
export interface ConfiguredPrometheus {
  /** http://127.0.0.1:<port>, plain HTTP on loopback. */
  url: string;
  /** An instant query's vector; undefined while Prometheus does not answer (or answers an error). */
  query(expression: string): Promise<InstantSample[] | undefined>;
  /** Each target's scrape URL, health and last error (e.g. `server returned HTTP status 401`). */
  targets(): Promise<Array<{ job: string; scrapeUrl: string; health: string; lastError: string }>>;
  /** Polls `check` until it holds; fails at READY_TIMEOUT_MS (with the targets' state), or at once if Prometheus exits. */
  waitFor(what: string | (() => string), check: () => Promise<boolean>): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus with `config` as its whole prometheus.yml, storage in a temp dir, on a free loopback port. */
export async function startPrometheusWithConfig(config: string): Promise<ConfiguredPrometheus> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'promgate-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const {
    output,
    exited,
    stop: stopProcess,
  } = spawnPrometheus([
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(path: string): Promise<T | undefined> => {
    try {
      const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(2_000) });
      return response.ok ? ((await response.json()) as { data: T }).data : undefined;
    } catch {
      return undefined; // not listening yet
    }
  };
  type Target = { labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string };
  const targets = async () =>
    ((await api<{ activeTargets: Target[] }>('/api/v1/targets'))?.activeTargets ?? []).map(
      ({ labels, scrapeUrl, health, lastError }) => ({ job: labels.job ?? '', scrapeUrl, health, lastError }),
    );
  let stopping: Promise<void> | undefined;
  return {
    url,
    query: async (expression) =>
      (await api<{ result: InstantSample[] }>(`/api/v1/query?${new URLSearchParams({ query: expression })}`))?.result,
    targets,
    waitFor: (what, check) =>
      pollUntil(
        what,
        Date.now() + READY_TIMEOUT_MS,
        exited,
        async () => `targets: ${JSON.stringify(await targets())}; output:\n${output()}`,
        check,
      ),
    logs: output,
    stop() {
      stopping ??= stopProcess().then(() => rmSync(dir, { recursive: true, force: true }));
      return stopping;
    },
  };
}

/** Polls `check` until it holds; fails at the deadline, or at once if Prometheus exits. */
async function pollUntil(
  what: string | (() => string),
  deadline: number,
  exited: Promise<number | string | null>,
  details: () => string | Promise<string>,
  check: () => Promise<boolean>,
): Promise<void> {
  const describe = typeof what === 'string' ? () => what : what;
  const exit = exited.then(async (code): Promise<never> => {
    throw new Error(`prometheus exited (${code}) before it ${describe()}; ${await details()}`);
  });
  const message = async () => `prometheus (it ${describe()}); ${await details()}`;
  await waitFor(check, {
    timeoutMs: Math.max(0, deadline - Date.now()),
    intervalMs: POLL_INTERVAL_MS,
    message,
    failOn: exit,
  });
}

/** A GET that resolves undefined while nothing listens yet. */
export async function get(url: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return { status: response.status, text: await response.text() };
  } catch {
    return undefined; // not listening yet
  }
}

/** Resolves with the exit code (or signal, or spawn error) of a child process. */
export interface SpawnedPrometheus {
  child: ChildProcess;
  /** The tail of its stdout and stderr. */
  output(): string;
  exited: Promise<number | string | null>;
  /** SIGTERM (SIGKILL after STOP_TIMEOUT_MS), once. */
  stop(): Promise<void>;
}

/** Starts a Prometheus process with these flags, keeping the tail of its output for messages. */
export function spawnPrometheus(args: string[], binary = PROMETHEUS_BINARY): SpawnedPrometheus {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-MAX_LOG_CHARS);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = exitOf(child);
  // Safety net for a test process that exits without running its after hooks.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stopping: Promise<void> | undefined;
  return {
    child,
    output: () => output,
    exited,
    stop() {
      stopping ??= terminate(child, exited).then(() => void process.off('exit', killOnExit));
      return stopping;
    },
  };
}

export function exitOf(child: ChildProcess): Promise<number | string | null> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve(error.message)); // e.g. ENOENT
    child.once('exit', (code, signal) => resolve(code ?? signal));
  });
}

/** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS: a hung shutdown must not hang the test run. */
export async function terminate(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), delay(STOP_TIMEOUT_MS, false, { ref: false })]);
  if (stopped) return;
  child.kill('SIGKILL'); // a hung shutdown must not hang the test run
  await exited;
}
