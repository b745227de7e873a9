// Several tenants' data in a real Prometheus (Debian's 2.42), behind a gateway whose users belong
// to tenant roles: the fixture the tenancy proofs share. The series are backfilled with promtool
// (counters, gauges, histograms for namespaces a, b, shared and c, envs prod and dev), rules
// record and alert per namespace, and a small OpenMetrics target adds exemplars (blocks keep none).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerOptions } from '../../src/index.ts';
import type { TenantScope } from '../../src/kernel/request-state.ts';
import { basicAuth, type ClientResponse } from './client.ts';
import { writeHtpasswd } from './htpasswd.ts';
import { freePort } from './ports.ts';
import { BASE_PATH, get, READY_TIMEOUT_MS, spawnPrometheus } from './prometheus.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';
import { waitFor } from './wait.ts';

export const PROMTOOL_BINARY = 'promtool';

export const NAMESPACES = ['a', 'b', 'shared', 'c'] as const;
export const ENVS = ['prod', 'dev'] as const;

/** The users of the fixture, their passwords and roles. */
export const TENANT_USERS = {
  alice: { password: 'alice-pw', role: 'team-a' },
  bob: { password: 'bob-pw', role: 'team-b' },
  carol: { password: 'carol-pw', role: 'admin' },
} as const;
export type TenantUser = keyof typeof TENANT_USERS;

/** The roles of the issue: a tenant is a map label name -> allowed values. */
export const TENANT_ROLES = {
  'team-a': { tenant: { namespace: ['a'] } },
  'team-b': { tenant: { namespace: ['b', 'shared'], env: ['prod'] } },
} as const;

/** What each user may see (carol: everything). */
export const USER_SCOPES: Readonly<Record<TenantUser, TenantScope | undefined>> = {
  alice: TENANT_ROLES['team-a'].tenant,
  bob: TENANT_ROLES['team-b'].tenant,
  carol: undefined,
};

/** Whether `user` may see a series (or alert) with these labels: every scoped label has one of its values. */
export function visibleTo(user: TenantUser, labels: Readonly<Record<string, string>>): boolean {
  const scope = USER_SCOPES[user];
  if (!scope) return true;
  return Object.entries(scope).every(([name, values]) => labels[name] !== undefined && values.includes(labels[name]));
}

/** The Authorization header of a fixture user. */
export function authorizationOf(user: TenantUser): { authorization: string } {
  return { authorization: basicAuth(user, TENANT_USERS[user].password) };
}

/** The gateway settings of the fixture: an htpasswd file with the three users, the roles of the issue. */
export function tenantGatewayOptions(): Pick<ServerOptions, 'auth' | 'accessControl'> {
  const htpasswdFile = writeHtpasswd(
    Object.entries(TENANT_USERS).map(([user, { password }]) => ({ user, password, flag: '-B' as const })),
  );
  return {
    auth: { htpasswdFile },
    accessControl: {
      users: Object.fromEntries(Object.entries(TENANT_USERS).map(([user, { role }]) => [user, role])),
      roles: structuredClone(TENANT_ROLES) as unknown as Record<string, { tenant: Record<string, string[]> }>,
    } as NonNullable<ServerOptions['accessControl']>,
  };
}

/** Backfilled samples: every 15 s over the last 30 minutes, the newest 15 s ago. */
const SAMPLE_STEP_S = 15;
const SAMPLE_SPAN_S = 30 * 60;

/** The gauge's value of one series: tells the tenants apart in query results. */
export function queueDepth(namespace: string, env: string): number {
  return 10 * (NAMESPACES.indexOf(namespace as (typeof NAMESPACES)[number]) + 1) + (env === 'prod' ? 1 : 2);
}

/**
 * The backfill in OpenMetrics (timestamps in seconds, `# EOF` last): per namespace and env a
 * counter by status code, a gauge and a histogram; plus `build_info`, which has no namespace and
 * no tenant sees.
 */
export function tenantOpenMetrics(endSeconds: number): string {
  const times: number[] = [];
  for (let t = endSeconds - SAMPLE_SPAN_S; t <= endSeconds; t += SAMPLE_STEP_S) times.push(t);
  const series = NAMESPACES.flatMap((namespace) => ENVS.map((env) => `namespace="${namespace}",env="${env}"`));
  const lines: string[] = [];
  lines.push('# TYPE http_requests counter', '# HELP http_requests Requests served.');
  for (const labels of series)
    for (const code of ['200', '500'])
      for (const [i, t] of times.entries())
        lines.push(`http_requests_total{${labels},code="${code}"} ${i * (code === '200' ? 9 : 1)} ${t}`);
  lines.push('# TYPE app_queue_depth gauge', '# HELP app_queue_depth Jobs waiting.');
  for (const namespace of NAMESPACES)
    for (const env of ENVS)
      for (const t of times)
        lines.push(`app_queue_depth{namespace="${namespace}",env="${env}"} ${queueDepth(namespace, env)} ${t}`);
  lines.push('# TYPE http_request_duration_seconds histogram', '# HELP http_request_duration_seconds Latency.');
  for (const labels of series)
    for (const [i, t] of times.entries()) {
      for (const [le, share] of [
        ['0.1', 0.5],
        ['1', 0.9],
        ['+Inf', 1],
      ] as const)
        lines.push(`http_request_duration_seconds_bucket{${labels},le="${le}"} ${Math.round(i * 10 * share)} ${t}`);
      lines.push(`http_request_duration_seconds_sum{${labels}} ${i * 2} ${t}`);
      lines.push(`http_request_duration_seconds_count{${labels}} ${i * 10} ${t}`);
    }
  lines.push('# TYPE build_info gauge', '# HELP build_info Build of the fleet (no namespace).');
  for (const t of times) lines.push(`build_info{version="1.2.3"} 1 ${t}`);
  lines.push('# EOF', '');
  return lines.join('\n');
}

/**
 * Recording and alerting rules: fleet-wide ones without tenant labels (no tenant sees them), and a
 * group per namespace whose rules carry their namespace and env (a tenant sees the rules in scope).
 */
export const TENANT_RULES = `groups:
  - name: fleet
    rules:
      - record: namespace_env:http_requests:rate1h
        expr: sum by (namespace, env) (rate(http_requests_total[1h]))
      - record: fleet:http_requests:rate1h
        expr: sum(rate(http_requests_total[1h]))
      - alert: QueueBacklog
        expr: app_queue_depth > 5
        labels: {severity: page}
        annotations: {summary: 'queue of {{ $labels.namespace }} in {{ $labels.env }} is {{ $value }}'}
${NAMESPACES.map(
  (namespace) => `  - name: tenant-${namespace}
    rules:
${ENVS.map(
  (env) => `      - alert: TenantErrors
        expr: sum(rate(http_requests_total{namespace="${namespace}",env="${env}",code="500"}[1h])) > 0
        labels: {namespace: ${namespace}, env: ${env}, team: ${namespace}}
      - record: tenant:app_queue_depth:max
        expr: max(app_queue_depth{namespace="${namespace}",env="${env}"})
        labels: {namespace: ${namespace}, env: ${env}}`,
).join('\n')}`,
).join('\n')}
`;

/** Exemplars come only from a scrape (blocks keep none): the trace id names its series' tenant. */
export function exemplarOpenMetrics(): string {
  const lines = ['# TYPE checkout_latency_seconds histogram', '# HELP checkout_latency_seconds Checkout latency.'];
  for (const namespace of NAMESPACES)
    for (const env of ENVS) {
      const labels = `namespace="${namespace}",env="${env}"`;
      lines.push(
        `checkout_latency_seconds_bucket{${labels},le="0.5"} 3 # {trace_id="trace-${namespace}-${env}"} 0.25`,
        `checkout_latency_seconds_bucket{${labels},le="+Inf"} 4`,
        `checkout_latency_seconds_sum{${labels}} 1.5`,
        `checkout_latency_seconds_count{${labels}} 4`,
      );
    }
  lines.push('# EOF', '');
  return lines.join('\n');
}

export interface TenantPrometheus {
  gateway: TestGateway;
  /** http://127.0.0.1:<port>, Prometheus itself (no gateway): what the tenants' data really is. */
  url: string;
  /** A request through the gateway (path relative to the base path) as a fixture user. */
  request(
    user: TenantUser,
    path: string,
    options?: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
  ): Promise<ClientResponse>;
  logs(): string;
  close(): Promise<void>;
}

/**
 * Prometheus with the tenants' backfilled blocks, their rules and the exemplar target, behind a
 * gateway at /prometheus with the fixture's users and roles (`gatewayOptions` adds to them). Ready
 * when the rules have fired for every namespace and the exemplars are stored.
 */
export async function startTenantPrometheus(
  gatewayOptions: ServerOptions = {},
  attempts = 3,
): Promise<TenantPrometheus> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTenantPrometheusOnce(gatewayOptions);
    } catch (error) {
      // Someone took Prometheus's port between freePort() and its bind: start over.
      if (attempt >= attempts || !/address already in use/.test(String(error))) throw error;
    }
  }
}

async function startTenantPrometheusOnce(gatewayOptions: ServerOptions): Promise<TenantPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'promgate-tenants-'));
  const dataDir = join(dir, 'data');
  const input = join(dir, 'tenants.om');
  writeFileSync(input, tenantOpenMetrics(Math.floor(Date.now() / 1000) - SAMPLE_STEP_S));
  execFileSync(PROMTOOL_BINARY, ['tsdb', 'create-blocks-from', 'openmetrics', input, dataDir], { stdio: 'pipe' });
  writeFileSync(join(dir, 'rules.yml'), TENANT_RULES);

  const exemplars = await serveExemplars();
  const port = await freePort();
  const gateway = await startTestGateway({
    ...tenantGatewayOptions(),
    ...gatewayOptions,
    basePath: BASE_PATH,
    upstream: `http://127.0.0.1:${port}`,
  });
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      `rule_files: [${JSON.stringify(join(dir, 'rules.yml'))}]`,
      'scrape_configs:',
      '  - job_name: checkout',
      '    honor_labels: true',
      `    static_configs: [{targets: ['127.0.0.1:${exemplars.port}']}]`,
      '',
    ].join('\n'),
  );
  const prometheus = spawnPrometheus([
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--web.external-url=${gateway.origin}${BASE_PATH}`,
    '--web.route-prefix=/',
    // The backfill ends when the test starts: an hour of look-back keeps it "current" for the run.
    '--query.lookback-delta=1h',
    '--enable-feature=exemplar-storage',
  ]);
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    await Promise.allSettled([gateway.close(), prometheus.stop(), new Promise((done) => exemplars.server.close(done))]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(gateway.cert.dir, { recursive: true, force: true });
  };
  const api = async <T>(path: string): Promise<T | undefined> => {
    const response = await get(`${url}${path}`);
    return response?.status === 200 ? (JSON.parse(response.text) as { data: T }).data : undefined;
  };
  try {
    const exit = prometheus.exited.then((code): never => {
      throw new Error(`prometheus exited (${code}); output:\n${prometheus.output()}`);
    });
    const ready = async (what: string, check: () => Promise<boolean>) =>
      waitFor(check, {
        timeoutMs: READY_TIMEOUT_MS,
        intervalMs: 200,
        failOn: exit,
        message: () => `prometheus ${what}; output:\n${prometheus.output()}`,
      });
    await ready('to serve the backfilled series', async () => {
      const data = await api<{ result: Array<{ value: [number, string] }> }>(
        '/api/v1/query?query=count(app_queue_depth)',
      );
      return data?.result?.[0]?.value?.[1] === String(NAMESPACES.length * ENVS.length);
    });
    await ready('to fire QueueBacklog and TenantErrors for every namespace', async () => {
      const data = await api<{ alerts: Array<{ state: string }> }>('/api/v1/alerts');
      const firing = (data?.alerts ?? []).filter((alert) => alert.state === 'firing');
      return firing.length === 2 * NAMESPACES.length * ENVS.length;
    });
    await ready('to store the exemplars of every namespace', async () => {
      const now = Date.now() / 1000;
      const data = await api<unknown[]>(
        `/api/v1/query_exemplars?query=checkout_latency_seconds_bucket&start=${now - 600}&end=${now + 60}`,
      );
      return Array.isArray(data) && data.length === NAMESPACES.length * ENVS.length;
    });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    gateway,
    url,
    request: (user, path, options = {}) =>
      gateway.request(`${BASE_PATH}${path}`, {
        method: options.method ?? 'GET',
        headers: { ...authorizationOf(user), ...options.headers },
        ...(options.body === undefined ? {} : { body: options.body }),
      }),
    logs: prometheus.output,
    close,
  };
}

/** The exemplar target: OpenMetrics (exemplars are read only from it) on a loopback port. */
async function serveExemplars(): Promise<{ server: Server; port: number }> {
  const body = exemplarOpenMetrics();
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
    res.end(body);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { server, port: (server.address() as AddressInfo).port };
}
