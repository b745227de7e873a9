// Federation across sites through the gateway: a second real Prometheus scrapes /prometheus/federate
// with the tls_config (CA, client certificate) and basic_auth its users put in a scrape config.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createServer, type GatewayServer } from '../../src/index.ts';
import { runCli } from '../helpers/cli.ts';
import {
  issueClientCertificate,
  issueServerCertificate,
  makeCa,
  type IssuedCertificate,
  type TestCa,
} from '../helpers/pki.ts';
import { freePort } from '../helpers/ports.ts';
import {
  BASE_PATH,
  PROMETHEUS_BINARY,
  READY_TIMEOUT_MS,
  spawnPrometheus,
  startPrometheus,
  type TestPrometheus,
} from '../helpers/prometheus.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

const exec = promisify(execFile);

const USER = 'federator';
const PASSWORD = 'across sites';
const JOB = 'federate';
const MATCH = '{job="prometheus"}';
const POLL_INTERVAL_MS = 200;

interface QueryResponse {
  status: string;
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe('federation: a second Prometheus scrapes /prometheus/federate through the gateway with mTLS and basic auth', {
  skip: requireCommands(PROMETHEUS_BINARY, 'curl'),
}, () => {
  let serverCa: TestCa;
  let clientCa: TestCa;
  let client: IssuedCertificate;
  let gateway: GatewayServer | undefined;
  let upstream: TestPrometheus | undefined;
  let federating: FederatingPrometheus | undefined;
  const dirs: string[] = [];
  let port: number;

  before(async () => {
    [serverCa, clientCa] = await Promise.all([makeCa('promgate test servers'), makeCa('promgate test clients')]);
    const [server, issued, hashed] = await Promise.all([
      issueServerCertificate(serverCa),
      issueClientCertificate(clientCa, 'prometheus-b'),
      runCli(['hash-password'], { input: PASSWORD }),
    ]);
    client = issued;
    dirs.push(...[serverCa.certFile, clientCa.certFile, server.certFile, client.certFile].map((file) => dirname(file)));
    assert.equal(hashed.code, 0, hashed.stderr);
    const dir = mkdtempSync(join(tmpdir(), 'promgate-federation-'));
    dirs.push(dir);
    const webConfig = join(dir, 'web.yml');
    writeFileSync(
      webConfig,
      [
        'tls_server_config:',
        `  cert_file: ${server.certFile}`,
        `  key_file: ${server.keyFile}`,
        '  client_auth_type: RequireAndVerifyClientCert',
        `  client_ca_file: ${clientCa.certFile}`,
        'basic_auth_users:',
        `  ${USER}: ${hashed.stdout.trim()}`,
        '',
      ].join('\n'),
    );
    ({ gateway, upstream } = await startUpstreamBehindGateway(webConfig));
    port = gateway.address.port;
  });

  after(async () => {
    await Promise.allSettled([federating?.stop(), gateway?.close(), upstream?.stop()]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** The HTTP status curl gets for the federate endpoint, or `refused: <curl's error>`. */
  async function curlFederate(...args: string[]): Promise<string> {
    const url = `https://127.0.0.1:${port}${BASE_PATH}/federate`;
    try {
      const run = exec(
        'curl',
        [
          '-sS',
          '--max-time',
          '10',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '--cacert',
          serverCa.certFile,
          '--get',
          '--data-urlencode',
          `match[]=${MATCH}`,
          ...args,
          url,
        ],
        { timeout: 15_000 },
      );
      return (await run).stdout;
    } catch (error) {
      return `refused: ${(error as { stderr?: string }).stderr?.trim()}`;
    }
  }

  test('refuses a federate request without a client certificate at the TLS handshake', async () => {
    const result = await curlFederate('--user', `${USER}:${PASSWORD}`);
    assert.match(result, /^refused: curl: \(\d+\) .*(SSL|TLS|certificate|alert)/i);
  });

  test('answers 401 to a client certificate without basic auth, and 200 with both', async () => {
    const withCertificate = ['--cert', client.certFile, '--key', client.keyFile];
    assert.equal(await curlFederate(...withCertificate), '401');
    assert.equal(await curlFederate(...withCertificate, '--user', `${USER}:wrong`), '401');
    assert.equal(await curlFederate(...withCertificate, '--user', `${USER}:${PASSWORD}`), '200');
  });

  test('federates `{job="prometheus"}` into a Prometheus whose scrape config sets tls_config and basic_auth', async () => {
    assert.ok(upstream);
    federating = await startFederatingPrometheus(
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        `  - job_name: ${JOB}`,
        '    scheme: https',
        `    metrics_path: ${BASE_PATH}/federate`,
        '    honor_labels: true',
        '    params:',
        `      'match[]': [${JSON.stringify(MATCH)}]`,
        '    tls_config:',
        `      ca_file: ${serverCa.certFile}`,
        `      cert_file: ${client.certFile}`,
        `      key_file: ${client.keyFile}`,
        '    basic_auth:',
        `      username: ${USER}`,
        `      password: ${JSON.stringify(PASSWORD)}`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${port}']`,
        '',
      ].join('\n'),
    );
    const { query } = federating;
    await federating.waitFor(
      `has scraped the gateway (up{job="${JOB}"} == 1)`,
      async () => (await query(`up{job="${JOB}"}`))?.data.result[0]?.value[1] === '1',
    );
    // Only federation can bring job="prometheus" into B: its own config has no such job.
    await federating.waitFor(
      'holds the federated up{job="prometheus"}',
      async () => ((await query('up{job="prometheus"}'))?.data.result.length ?? 0) > 0,
    );
    const federated = await query('up{job="prometheus"}');
    assert.deepEqual(
      federated?.data.result.map(({ metric, value }) => [metric, value[1]]),
      [[{ __name__: 'up', instance: `127.0.0.1:${upstream.port}`, job: 'prometheus' }, '1']],
      'honor_labels keeps the upstream instance and job labels',
    );
  });
});

/**
 * Prometheus A on loopback behind a gateway configured by `webConfig`, at /prometheus. A's port is
 * reserved before the gateway exists; if someone takes it before A binds, start over.
 */
async function startUpstreamBehindGateway(
  webConfig: string,
  attempts = 3,
): Promise<{ gateway: GatewayServer; upstream: TestPrometheus }> {
  for (let attempt = 1; ; attempt++) {
    const upstreamPort = await freePort();
    const gateway = await createServer({
      web: { listenAddress: '127.0.0.1:0', config: { file: webConfig } },
      upstream: `http://127.0.0.1:${upstreamPort}`,
    });
    try {
      const upstream = await startPrometheus({
        port: upstreamPort,
        externalUrl: `https://localhost:${gateway.address.port}${BASE_PATH}`,
      });
      return { gateway, upstream };
    } catch (error) {
      await gateway.close();
      if (attempt >= attempts || !/address already in use/.test(String(error))) throw error;
    }
  }
}

interface FederatingPrometheus {
  /** An instant query against B itself (plain HTTP on loopback); undefined while it does not answer. */
  query(expression: string): Promise<QueryResponse | undefined>;
  /** Polls `check` until it holds; fails at READY_TIMEOUT_MS, or at once if B exits. */
  waitFor(what: string, check: () => Promise<boolean>): Promise<void>;
  stop(): Promise<void>;
}

/** Prometheus B with `config` as its whole configuration, storage in a temp dir, on a free loopback port. */
async function startFederatingPrometheus(config: string): Promise<FederatingPrometheus> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'promgate-prometheus-b-'));
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
  const exit = exited.then((code): never => {
    throw new Error(`prometheus B exited (${code}); output:\n${output()}`);
  });
  exit.catch(() => undefined); // only raced below; exiting when stopped is not an error

  /** The scrape error Prometheus reports per target (e.g. `server returned HTTP status 401`), for failure messages. */
  const targets = async (): Promise<string> => {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/targets`, { signal: AbortSignal.timeout(2_000) });
      const body = (await response.json()) as {
        data: { activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> };
      };
      return JSON.stringify(
        body.data.activeTargets.map(({ scrapeUrl, health, lastError }) => ({ scrapeUrl, health, lastError })),
      );
    } catch (error) {
      return `unknown (${String(error)})`;
    }
  };

  let stopping: Promise<void> | undefined;
  return {
    async query(expression) {
      try {
        const response = await fetch(
          `http://127.0.0.1:${port}/api/v1/query?${new URLSearchParams({ query: expression })}`,
          { signal: AbortSignal.timeout(2_000) },
        );
        return response.ok ? ((await response.json()) as QueryResponse) : undefined;
      } catch {
        return undefined; // not listening yet
      }
    },
    async waitFor(what, check) {
      const message = async () => `prometheus B (it ${what}); its targets: ${await targets()}; output:\n${output()}`;
      await waitFor(check, { timeoutMs: READY_TIMEOUT_MS, intervalMs: POLL_INTERVAL_MS, message, failOn: exit });
    },
    stop() {
      stopping ??= (async () => {
        await stopProcess();
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
