// A real nginx as the upstream of a test: plain HTTP on a free loopback port, one `location` per
// prefix proxied to its own upstream. nginx normalizes the path (`..`, `.`, `%2e`, `//`) before it
// picks a location, which is what a gateway in front of it must not let a client exploit.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export interface NginxUpstream {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** How long nginx may take to listen (it signals readiness no other way than by accepting). */
const START_TIMEOUT_MS = 5000;

/**
 * nginx in the foreground (`daemon off`, no master process), its pid, logs and temp files in a temp
 * directory. `locations` maps a location prefix (e.g. "/open/") to the upstream URL it proxies to;
 * `proxy_pass` has no URI part, so nginx forwards the request target as the client sent it.
 */
export async function startNginx(locations: Record<string, string>): Promise<NginxUpstream> {
  const dir = mkdtempSync(join(tmpdir(), 'promgate-nginx-'));
  const port = await freePort();
  const file = (name: string) => join(dir, name);
  const config = [
    'daemon off;',
    'master_process off;',
    `pid ${file('nginx.pid')};`,
    `error_log ${file('error.log')} warn;`,
    'events { worker_connections 64; }',
    'http {',
    `  access_log ${file('access.log')};`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `  ${name}_temp_path ${file(name)};`),
    '  server {',
    `    listen 127.0.0.1:${port};`,
    ...Object.entries(locations).map(
      ([prefix, upstream]) => `    location ${prefix} { proxy_pass ${new URL(upstream).origin}; }`,
    ),
    '    location / { return 404 "nginx: no location\\n"; }',
    '  }',
    '}',
    '',
  ].join('\n');
  writeFileSync(file('nginx.conf'), config);
  const child = spawn('nginx', ['-p', dir, '-e', file('error.log'), '-c', file('nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const died = exited.then((): never => {
    throw new Error(
      `nginx exited with ${child.exitCode}: ${stderr}${readFileSync(file('error.log'), { encoding: 'utf8', flag: 'a+' })}`,
    );
  });
  try {
    await waitFor(() => canConnect(port), {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 20,
      message: () => `nginx to listen on ${port}: ${stderr}`,
      failOn: died,
    });
  } catch (error) {
    await close();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, port, close };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
