// promgate's own metrics as its operators collect them: a second real Prometheus scrapes the plain
// metrics listener and, over HTTPS with basic auth, <basePath>/-/promgate/metrics on the gateway.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basicAuth } from '../helpers/client.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import {
  BASE_PATH,
  PROMETHEUS_BINARY,
  startPrometheusBehindGateway,
  startPrometheusWithConfig,
  type ConfiguredPrometheus,
  type InstantSample,
  type PrometheusBehindGateway,
} from '../helpers/prometheus.ts';
import { requireCommands } from '../helpers/requirements.ts';

const USER = 'scraper';
const PASSWORD = 'scrape me';
const METRICS_PATH = `${BASE_PATH}/-/promgate/metrics`;
/** Scrapes the plain-HTTP metrics listener. */
const PLAIN_JOB = 'promgate';
/** Scrapes the metrics on the gateway, over TLS with basic auth. */
const TLS_JOB = 'promgate-tls';
/** As TLS_JOB, with a wrong password. */
const REFUSED_JOB = 'promgate-wrong-password';

describe("a real Prometheus scrapes promgate's metrics", {
  skip: requireCommands(PROMETHEUS_BINARY, 'htpasswd'),
}, () => {
  let dir: string | undefined;
  let setup: PrometheusBehindGateway | undefined;
  let scraper: ConfiguredPrometheus | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promgate-self-metrics-'));
    const htpasswdFile = writeHtpasswd([{ user: USER, password: PASSWORD, flag: '-B' }], join(dir, '.htpasswd'));
    setup = await startPrometheusBehindGateway({
      auth: { htpasswdFile },
      metrics: { listenAddress: '127.0.0.1:0', exposeOnGateway: true },
    });
    const metricsPort = setup.gateway.handle.metricsAddress?.port;
    assert.ok(metricsPort, 'metrics.listenAddress opens a listener');
    const gatewayTarget = `127.0.0.1:${setup.gateway.handle.address.port}`;
    const overTls = (job: string, password: string) => [
      `  - job_name: ${job}`,
      '    scheme: https',
      `    metrics_path: ${METRICS_PATH}`,
      '    tls_config:',
      `      ca_file: ${setup!.gateway.cert.certFile}`,
      '    basic_auth:',
      `      username: ${USER}`,
      `      password: ${JSON.stringify(password)}`,
      '    static_configs:',
      `      - targets: ['${gatewayTarget}']`,
    ];
    // Started now: its first scrape comes ~5 s later (see READY_TIMEOUT_MS), while the tests run.
    scraper = await startPrometheusWithConfig(
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        `  - job_name: ${PLAIN_JOB}`,
        '    metrics_path: /metrics',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${metricsPort}']`,
        ...overTls(TLS_JOB, PASSWORD),
        ...overTls(REFUSED_JOB, 'not the password'),
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await Promise.allSettled([scraper?.stop(), setup?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Polls the scraper until `expression`'s result satisfies `holds`; returns that result. */
  async function eventually(
    expression: string,
    holds: (samples: InstantSample[]) => boolean,
  ): Promise<InstantSample[]> {
    assert.ok(scraper);
    const { query } = scraper;
    let last: InstantSample[] | undefined;
    await scraper.waitFor(
      () => `had the expected result for ${expression} (last: ${JSON.stringify(last)})`,
      async () => {
        last = await query(expression);
        return last !== undefined && holds(last);
      },
    );
    return last!;
  }
  /** The sample of each scrape job, by job name. */
  const byJob = (samples: InstantSample[]): Record<string, number> =>
    Object.fromEntries(samples.map(({ metric, value }) => [metric.job, Number(value[1])]));
  const bothJobs = (samples: InstantSample[]) =>
    samples.length === 2 && [PLAIN_JOB, TLS_JOB].every((job) => job in byJob(samples));

  test("answers 401 to a scrape of the gateway's metrics without credentials, and the metrics with them", async () => {
    assert.ok(setup);
    const refused = await setup.gateway.request(METRICS_PATH);
    assert.equal(refused.status, 401);
    assert.doesNotMatch(refused.text, /promgate_/);
    const allowed = await setup.gateway.request(METRICS_PATH, {
      headers: { authorization: basicAuth(USER, PASSWORD) },
    });
    assert.equal(allowed.status, 200);
    assert.match(allowed.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(allowed.text, /^promgate_http_requests_total\{/m);
  });

  test('is up for Prometheus on the plain listener and over HTTPS with basic auth', async () => {
    const up = await eventually(`up{job=~"${PLAIN_JOB}|${TLS_JOB}"} == 1`, bothJobs);
    assert.deepEqual(byJob(up), { [PLAIN_JOB]: 1, [TLS_JOB]: 1 });
  });

  test('is down for a Prometheus with a wrong password: the scrape gets 401', async () => {
    assert.ok(scraper);
    const up = await eventually(`up{job="${REFUSED_JOB}"}`, (samples) => samples.length === 1);
    assert.equal(up[0]?.value[1], '0');
    const target = (await scraper.targets()).find((candidate) => candidate.job === REFUSED_JOB);
    assert.match(target?.lastError ?? '', /401/, JSON.stringify(target));
  });

  test('counts the traffic it answered, authentication failures by reason', async () => {
    assert.ok(setup);
    const valuesPath = `${BASE_PATH}/api/v1/label/job/values`;
    for (let i = 0; i < 3; i++) {
      const response = await setup.gateway.request(valuesPath, {
        headers: { authorization: basicAuth(USER, PASSWORD) },
      });
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(JSON.parse(response.text), { status: 'success', data: ['prometheus'] });
    }
    assert.equal(
      (await setup.gateway.request(valuesPath, { headers: { authorization: basicAuth(USER, 'wrong') } })).status,
      401,
    );
    assert.equal(
      (await setup.gateway.request(valuesPath, { headers: { authorization: basicAuth('mallory', PASSWORD) } })).status,
      401,
    );

    // The scrapes themselves count too, so only lower bounds, except for the one unknown user.
    const ok = await eventually(`promgate_http_requests_total{code="200",method="GET"} >= 3`, bothJobs);
    assert.ok(
      Object.values(byJob(ok)).every((value) => value >= 3),
      JSON.stringify(ok),
    );
    const unknownUser = await eventually('promgate_auth_failures_total{reason="unknown_user"}', bothJobs);
    assert.deepEqual(byJob(unknownUser), { [PLAIN_JOB]: 1, [TLS_JOB]: 1 }, 'mallory was refused once');
    const wrongPassword = await eventually('promgate_auth_failures_total{reason="wrong_password"} >= 1', bothJobs);
    assert.ok(
      Object.values(byJob(wrongPassword)).every((value) => value >= 1),
      JSON.stringify(wrongPassword),
    );
    await eventually(`promgate_http_requests_total{code="401",method="GET"} >= 2`, bothJobs);
    await eventually('promgate_http_request_duration_seconds_count{method="GET"} >= 5', bothJobs);
  });

  test("exposes the served certificate's notAfter as promgate_tls_certificate_expiry_timestamp_seconds", async () => {
    assert.ok(setup);
    const notAfter = new X509Certificate(setup.gateway.cert.cert).validToDate.getTime() / 1000;
    const expiry = await eventually('promgate_tls_certificate_expiry_timestamp_seconds', bothJobs);
    for (const [job, value] of Object.entries(byJob(expiry))) {
      assert.ok(Math.abs(value - notAfter) <= 1, `${job}: ${value} is the certificate's notAfter ${notAfter}`);
    }
  });

  test('reports its TLS and htpasswd files loaded, the upstream up, and the process metrics', async () => {
    const loaded = await eventually('promgate_config_last_reload_successful', (samples) => samples.length === 4);
    assert.deepEqual(loaded.map(({ metric, value }) => `${metric.job} ${metric.source}=${value[1]}`).sort(), [
      `${PLAIN_JOB} htpasswd=1`,
      `${PLAIN_JOB} tls=1`,
      `${TLS_JOB} htpasswd=1`,
      `${TLS_JOB} tls=1`,
    ]);
    // The gateway started before its upstream Prometheus, so the first readiness checks failed.
    const upstreamUp = await eventually('promgate_upstream_up == 1', bothJobs);
    assert.deepEqual(byJob(upstreamUp), { [PLAIN_JOB]: 1, [TLS_JOB]: 1 });
    const cpu = await eventually('process_cpu_seconds_total', bothJobs);
    assert.ok(
      Object.values(byJob(cpu)).every((value) => value > 0),
      JSON.stringify(cpu),
    );
    await eventually('nodejs_heap_size_used_bytes > 0', bothJobs);
  });
});
