// The servers users would pick instead of promgate, each started the way its documentation shows:
// nginx with the Prometheus guide's recipe (and its tuned and auth_basic forms), HAProxy, and
// Prometheus's own TLS and basic auth (--web.config.file).
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Core } from './lib.ts';
import type { ProcessGroup } from './processes.ts';
import { BASIC_AUTH_HEADER, BENCH_PASSWORD, BENCH_USER, fetchOnce, type Server } from './servers.ts';
import { freePort } from '../test/helpers/ports.ts';

export interface ProxyOptions {
  core: Core;
  dir: string;
  cert: string;
  key: string;
  htpasswd: string;
  /** One TLS listener per upstream port, in this order. */
  upstreams: number[];
}

/** A proxy's process and its TLS ports, one per upstream, each serving /prometheus/. */
export interface RunningProxy {
  pid: number;
  ports: number[];
}

export type NginxKind = 'recipe' | 'tuned' | 'auth';

/**
 * nginx in the foreground with its own prefix, one worker, an access log in combined format to a
 * file (what a default install writes) and one TLS server per upstream, each with the guide's
 * `location /prometheus/ { proxy_pass http://upstream/; }`.
 */
export async function startNginx(
  group: ProcessGroup,
  options: ProxyOptions & { kind: NginxKind },
): Promise<RunningProxy> {
  const { kind, dir } = options;
  const ports = await Promise.all(options.upstreams.map(() => freePort()));
  const servers = options.upstreams.map((upstream, index) => {
    const target = kind === 'tuned' ? `upstream_${index}` : `127.0.0.1:${upstream}`;
    return [
      ...(kind === 'tuned' ? [`  upstream upstream_${index} { server 127.0.0.1:${upstream}; keepalive 32; }`] : []),
      `  server {`,
      `    listen 127.0.0.1:${ports[index]} ssl;`,
      `    location /prometheus/ {`,
      `      proxy_pass http://${target}/;`,
      ...(kind === 'tuned' ? ['      proxy_http_version 1.1;', '      proxy_set_header Connection "";'] : []),
      ...(kind === 'auth' ? ['      auth_basic "Prometheus";', `      auth_basic_user_file ${options.htpasswd};`] : []),
      `    }`,
      `  }`,
    ].join('\n');
  });
  const config = join(dir, `nginx-${kind}.conf`);
  const temp = (name: string) => join(dir, `nginx-${kind}-${name}`);
  writeFileSync(
    config,
    [
      'worker_processes 1;',
      `pid ${temp('pid')};`,
      `error_log ${temp('error.log')};`,
      'events { worker_connections 1024; }',
      'http {',
      `  access_log ${temp('access.log')};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `  ${name}_temp_path ${temp(name)};`),
      `  ssl_certificate ${options.cert};`,
      `  ssl_certificate_key ${options.key};`,
      ...servers,
      '}',
      '',
    ].join('\n'),
  );
  const { pid } = await group.start({
    core: options.core,
    command: 'nginx',
    args: ['-p', dir, '-c', config, '-g', 'daemon off;'],
    logFile: temp('stderr.log'),
    ready: () => canConnect(ports.at(-1)!),
  });
  return { pid, ports };
}

/**
 * HAProxy in the foreground (-db), one thread, one TLS frontend per upstream forwarding
 * /prometheus/... with the prefix stripped and idle upstream connections shared between clients
 * (`http-reuse always`); other paths get 404, as from nginx. Its HTTP log (`option httplog`) goes
 * to stdout, here a file, like nginx's access log. With `auth`, the htpasswd file's bcrypt hash
 * in a userlist: HAProxy checks it with crypt(3) on every request, as nginx's auth_basic does.
 */
export async function startHaproxy(
  group: ProcessGroup,
  options: ProxyOptions & { auth: boolean },
): Promise<RunningProxy> {
  const { dir, auth } = options;
  const name = auth ? 'haproxy-auth' : 'haproxy';
  const ports = await Promise.all(options.upstreams.map(() => freePort()));
  // HAProxy reads the certificate and its key from one PEM file.
  const pem = join(dir, 'haproxy.pem');
  writeFileSync(pem, `${readFileSync(options.cert, 'utf8').trimEnd()}\n${readFileSync(options.key, 'utf8')}`);
  const frontends = options.upstreams.flatMap((upstream, index) => [
    `frontend prometheus_${index}`,
    `  bind 127.0.0.1:${ports[index]} ssl crt ${pem}`,
    '  http-request return status 404 unless { path_beg /prometheus/ }',
    ...(auth ? ['  http-request auth realm Prometheus unless { http_auth(bench_users) }'] : []),
    '  http-request replace-path ^/prometheus(/.*)$ \\1',
    `  default_backend upstream_${index}`,
    `backend upstream_${index}`,
    '  http-reuse always',
    `  server upstream 127.0.0.1:${upstream}`,
  ]);
  const config = join(dir, `${name}.cfg`);
  writeFileSync(
    config,
    [
      'global',
      '  nbthread 1',
      '  maxconn 1024',
      'defaults',
      '  mode http',
      '  log stdout format raw local0',
      '  option httplog',
      '  timeout connect 5s',
      '  timeout client 60s',
      '  timeout server 60s',
      ...(auth ? ['userlist bench_users', `  user ${BENCH_USER} password '${htpasswdHash(options.htpasswd)}'`] : []),
      ...frontends,
      '',
    ].join('\n'),
  );
  const { pid } = await group.start({
    core: options.core,
    command: 'haproxy',
    args: ['-db', '-f', config],
    logFile: join(dir, `${name}.log`),
    ready: () => canConnect(ports.at(-1)!),
  });
  return { pid, ports };
}

/**
 * A second Prometheus serving TLS and basic auth itself (`--web.config.file` with
 * tls_server_config and basic_auth_users, the htpasswd file's bcrypt hash), scraping itself over
 * that every second like the upstream one; resolves once its job label has a value. It answers at
 * its root: https://127.0.0.1:<port>/api/...
 */
export async function startPrometheusTls(
  group: ProcessGroup,
  options: { core: Core; dir: string; cert: string; key: string; htpasswd: string },
): Promise<Server> {
  const { dir } = options;
  const port = await freePort();
  const webConfig = join(dir, 'prometheus-tls-web.yml');
  writeFileSync(
    webConfig,
    [
      'tls_server_config:',
      `  cert_file: ${options.cert}`,
      `  key_file: ${options.key}`,
      'basic_auth_users:',
      `  ${BENCH_USER}: '${htpasswdHash(options.htpasswd)}'`,
      '',
    ].join('\n'),
  );
  const config = join(dir, 'prometheus-tls.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: prometheus',
      '    scheme: https',
      '    tls_config:',
      `      ca_file: ${options.cert}`,
      '    basic_auth:',
      `      username: ${BENCH_USER}`,
      `      password: '${BENCH_PASSWORD}'`,
      '    static_configs:',
      `      - targets: ['127.0.0.1:${port}']`,
      '',
    ].join('\n'),
  );
  const ca = readFileSync(options.cert);
  const { pid } = await group.start({
    core: options.core,
    command: 'prometheus',
    args: [
      `--config.file=${config}`,
      `--web.config.file=${webConfig}`,
      `--storage.tsdb.path=${join(dir, 'prometheus-tls-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    logFile: join(dir, 'prometheus-tls.log'),
    ready: async () =>
      (await fetchOnce(`https://127.0.0.1:${port}/api/v1/label/job/values`, { headers: BASIC_AUTH_HEADER, ca })).body
        .toString()
        .includes('"prometheus"'),
  });
  return { pid, port };
}

/** The bench user's hash from an htpasswd file (one `user:hash` line). */
function htpasswdHash(file: string): string {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${BENCH_USER}:`));
  if (!line) throw new Error(`${file} has no line for ${BENCH_USER}`);
  return line.slice(BENCH_USER.length + 1).trim();
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
