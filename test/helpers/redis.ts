// A real redis-server (Debian package redis-server) on a loopback port, without persistence, that
// a test can stop and start again on the same port (an outage, a restart).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from 'redis';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export const REDIS_SERVER = 'redis-server';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const MAX_LOG_CHARS = 16 * 1024;

export interface TestRedis {
  /** redis://127.0.0.1:<port>/0 */
  url: string;
  port: number;
  /** One command on a fresh connection, e.g. ['KEYS', 'promgate:*']; fails at once while Redis is down. */
  command(args: string[]): Promise<unknown>;
  /** The tail of redis-server's output, for assertion messages. */
  logs(): string;
  /** Stops the server (SIGTERM, SIGKILL if it hangs); its data is gone, as there is no persistence. */
  stop(): Promise<void>;
  /** Starts it again on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** stop() and removes the temp dir. */
  close(): Promise<void>;
}

/** Starts redis-server on a free loopback port; retries with another port if one is taken in the meantime. */
export async function startRedis(attempts = 3): Promise<TestRedis> {
  for (let attempt = 1; ; attempt++) {
    const redis = createTestRedis(await freePort());
    try {
      await redis.start();
      return redis;
    } catch (error) {
      await redis.close();
      if (attempt >= attempts || !/Address already in use/i.test(String(error))) throw error;
    }
  }
}

function createTestRedis(port: number): TestRedis {
  const dir = mkdtempSync(join(tmpdir(), 'promgate-redis-'));
  const url = `redis://127.0.0.1:${port}/0`;
  let output = '';
  let running: { child: ChildProcess; exited: Promise<number | string | null> } | undefined;
  // Safety net for a test process that exits without running its cleanup.
  const killOnExit = () => running?.child.kill('SIGKILL');

  const command = async (args: string[]): Promise<unknown> => {
    const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
    client.on('error', () => undefined); // reported by connect() / sendCommand()
    await client.connect();
    try {
      return await client.sendCommand(args);
    } finally {
      client.destroy();
    }
  };

  const stop = async () => {
    const current = running;
    running = undefined;
    process.off('exit', killOnExit);
    if (!current || current.child.exitCode !== null || current.child.signalCode !== null) return;
    current.child.kill('SIGTERM');
    const stopped = await Promise.race([
      current.exited.then(() => true),
      delay(STOP_TIMEOUT_MS, false, { ref: false }),
    ]);
    if (!stopped) {
      current.child.kill('SIGKILL');
      await current.exited;
    }
  };

  const start = async () => {
    if (running) throw new Error(`redis on port ${port} is already running`);
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | string | null>((resolve) => {
      child.once('error', (error) => resolve(error.message)); // e.g. ENOENT
      child.once('exit', (code, signal) => resolve(code ?? signal));
    });
    running = { child, exited };
    process.once('exit', killOnExit);
    let ready!: () => void;
    const readyLogged = new Promise<void>((resolve) => (ready = resolve));
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-MAX_LOG_CHARS);
      if (output.includes('Ready to accept connections')) ready();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);

    // The log line is the event; the PING proves the port answers (and is ours: a redis-server that
    // cannot bind exits, which rejects below).
    const deadline = Date.now() + START_TIMEOUT_MS;
    const failure = exited.then((code): never => {
      throw new Error(`redis-server exited (${code}) before it answered PING on 127.0.0.1:${port}; output:\n${output}`);
    });
    failure.catch(() => undefined); // only raced below; exiting later, when stopped, is not an error
    try {
      const timeout = delay(START_TIMEOUT_MS, 'timeout', { ref: false });
      if ((await Promise.race([readyLogged, failure, timeout])) === 'timeout') {
        throw new Error(
          `redis-server did not log "Ready to accept connections" within ${START_TIMEOUT_MS} ms; output:\n${output}`,
        );
      }
      const answers = async () => (await command(['PING'])) === 'PONG';
      const timeoutMs = Math.max(0, deadline - Date.now());
      await waitFor(answers, {
        timeoutMs,
        intervalMs: 50,
        message: () => `redis-server on 127.0.0.1:${port} to answer PING; output:\n${output}`,
        failOn: failure,
      });
    } catch (error) {
      await stop();
      throw error;
    }
  };

  return {
    url,
    port,
    command,
    logs: () => output,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
