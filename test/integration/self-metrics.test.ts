import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import express from 'express';
import { Registry } from 'prom-client';
import { createGateway } from '../../src/index.ts';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway, useGatewayWithUpstream } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { eventually, scrape, sampleValue } from '../helpers/metrics.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { startUpstream } from '../helpers/upstream.ts';

const alice = { authorization: basicAuth('alice', 'alice-secret') };

describe('self-metrics', () => {
  const htpasswdFile = writeHtpasswd([{ user: 'alice', password: 'alice-secret', flag: '-B' }]);
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    auth: { htpasswdFile },
    metrics: { listenAddress: '127.0.0.1:0', exposeOnGateway: true },
  }));
  const metricsAddress = () => setup.gateway.handle.metricsAddress;

  it('counts answered requests by code and method, and times them', async () => {
    const before = await scrape(metricsAddress());
    for (let i = 0; i < 3; i++)
      assert.equal((await setup.gateway.request('/prometheus/api/v1/query?query=up', { headers: alice })).status, 200);
    assert.equal(
      (await setup.gateway.request('/prometheus/api/v1/query', { method: 'POST', headers: alice, body: 'query=up' }))
        .status,
      200,
    );
    assert.equal((await setup.gateway.request('/prometheus/api/v1/query')).status, 401);
    assert.equal((await setup.gateway.request('/elsewhere')).status, 404);
    const after = await eventually(metricsAddress(), (samples) => {
      assert.equal(
        sampleValue(samples, 'promgate_http_requests_total{code="200",method="GET",route="/prometheus"}') -
          sampleValue(before, 'promgate_http_requests_total{code="200",method="GET",route="/prometheus"}'),
        3,
      );
    });
    const delta = (series: string) => sampleValue(after, series) - sampleValue(before, series);
    assert.equal(delta('promgate_http_requests_total{code="200",method="POST",route="/prometheus"}'), 1);
    assert.equal(delta('promgate_http_requests_total{code="401",method="GET",route="/prometheus"}'), 1);
    assert.equal(
      delta('promgate_http_requests_total{code="404",method="GET",route=""}'),
      1,
      'answers outside the base path count too',
    );
    assert.equal(delta('promgate_http_request_duration_seconds_count{method="GET",route="/prometheus"}'), 4);
    assert.equal(delta('promgate_http_request_duration_seconds_count{method="GET",route=""}'), 1);
    assert.ok(delta('promgate_http_request_duration_seconds_sum{method="GET",route="/prometheus"}') > 0);
    assert.equal(sampleValue(after, 'promgate_http_requests_in_flight'), 0);
  });

  it('counts an unknown method as "other", so clients cannot add label values', async () => {
    const before = await scrape(metricsAddress());
    await setup.gateway.request('/prometheus/', { method: 'PROPFIND', headers: alice }); // WebDAV: Node parses it, we do not list it
    await eventually(metricsAddress(), (samples) => {
      const series = [...samples.keys()].filter(
        (name) => name.startsWith('promgate_http_requests_total') && name.includes('method="other"'),
      );
      assert.equal(series.length, 1);
      assert.equal(sampleValue(samples, series[0]!) - sampleValue(before, series[0]!), 1);
      assert.ok(![...samples.keys()].some((name) => name.includes('PROPFIND')));
    });
  });

  it('shows a request in flight while the upstream works on it', async () => {
    let release = () => {};
    setup.upstream.handle((_req, res) => {
      release = () => res.writeHead(200).end('done');
    });
    try {
      const pending = setup.gateway.request('/prometheus/api/v1/query', { headers: alice });
      await eventually(metricsAddress(), (samples) =>
        assert.equal(sampleValue(samples, 'promgate_http_requests_in_flight'), 1),
      );
      release();
      assert.equal((await pending).status, 200);
      await eventually(metricsAddress(), (samples) =>
        assert.equal(sampleValue(samples, 'promgate_http_requests_in_flight'), 0),
      );
    } finally {
      setup.upstream.handle((req, res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'success', url: req.url })),
      );
    }
  });

  it('counts authentication failures by reason', async () => {
    const before = await scrape(metricsAddress());
    await setup.gateway.request('/prometheus/api/v1/query');
    await setup.gateway.request('/prometheus/api/v1/query', {
      headers: { authorization: basicAuth('alice', 'wrong') },
    });
    await setup.gateway.request('/prometheus/api/v1/query', { headers: { authorization: basicAuth('mallory', 'x') } });
    await setup.gateway.request('/prometheus/api/v1/query', { headers: { authorization: basicAuth('mallory', 'x') } });
    const after = await scrape(metricsAddress());
    const delta = (reason: string) =>
      sampleValue(after, `promgate_auth_failures_total{reason="${reason}"}`) -
      sampleValue(before, `promgate_auth_failures_total{reason="${reason}"}`);
    assert.deepEqual([delta('missing_credentials'), delta('wrong_password'), delta('unknown_user')], [1, 1, 2]);
  });

  it('serves the metrics under the base path only behind auth', async () => {
    assert.equal((await setup.gateway.request('/prometheus/-/promgate/metrics')).status, 401);
    const response = await setup.gateway.request('/prometheus/-/promgate/metrics', { headers: alice });
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(response.text, /^promgate_http_requests_total\{code="200",method="GET",route="\/prometheus"\} \d+$/m);
    assert.match(response.text, /^process_cpu_seconds_total \d/m, 'default process metrics');
    assert.match(response.text, /^nodejs_heap_size_used_bytes \d/m);
    assert.ok(
      !setup.upstream.requests.some((request) => request.url.includes('/-/promgate/')),
      'answered by the gateway, not forwarded',
    );
  });

  it('exposes the served certificate expiry and a successful start as the last load', async () => {
    const samples = await scrape(metricsAddress());
    const notAfter = Date.parse(new X509Certificate(setup.gateway.cert.cert).validTo) / 1000;
    assert.equal(sampleValue(samples, 'promgate_tls_certificate_expiry_timestamp_seconds'), notAfter);
    assert.equal(sampleValue(samples, 'promgate_config_last_reload_successful{source="tls"}'), 1);
    assert.equal(sampleValue(samples, 'promgate_config_last_reload_successful{source="htpasswd"}'), 1);
    const loadedAt = sampleValue(samples, 'promgate_config_last_reload_success_timestamp_seconds{source="htpasswd"}');
    assert.ok(loadedAt > Date.now() / 1000 - 600 && loadedAt <= Date.now() / 1000, `load timestamp ${loadedAt}`);
    assert.equal(sampleValue(samples, 'promgate_upstream_up'), 1);
  });

  it('lets the metrics listener answer health probes and nothing else', async () => {
    const port = metricsAddress()!.port;
    assert.equal((await fetch(`http://127.0.0.1:${port}/-/promgate/healthy`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/-/promgate/ready`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/query`)).status, 404);
  });
});

describe('self-metrics: reloads and upstream failures', () => {
  it('records htpasswd reloads: a good file counts success, a bad one failure and keeps the last good time', async () => {
    const htpasswdFile = writeHtpasswd([{ user: 'alice', password: 'alice-secret', flag: '-B' }]);
    const gateway = await startTestGateway({
      upstream: 'http://127.0.0.1:9',
      auth: { htpasswdFile },
      metrics: { listenAddress: '127.0.0.1:0' },
    });
    try {
      const address = gateway.handle.metricsAddress;
      writeHtpasswd([{ user: 'bob', password: 'bob-secret', flag: '-B' }], htpasswdFile);
      const good = await eventually(
        address,
        (samples) =>
          assert.equal(sampleValue(samples, 'promgate_config_reloads_total{source="htpasswd",result="success"}'), 1),
        5000,
      );
      const goodAt = sampleValue(good, 'promgate_config_last_reload_success_timestamp_seconds{source="htpasswd"}');
      writeFileSync(htpasswdFile, 'bob:not-a-hash-promgate-accepts\n');
      const bad = await eventually(
        address,
        (samples) =>
          assert.equal(sampleValue(samples, 'promgate_config_reloads_total{source="htpasswd",result="failure"}'), 1),
        5000,
      );
      assert.equal(sampleValue(bad, 'promgate_config_last_reload_successful{source="htpasswd"}'), 0);
      assert.equal(
        sampleValue(bad, 'promgate_config_last_reload_success_timestamp_seconds{source="htpasswd"}'),
        goodAt,
      );
    } finally {
      await gateway.close();
    }
  });

  it('records a certificate reload and shows the new expiry', async () => {
    const gateway = await startTestGateway({
      upstream: 'http://127.0.0.1:9',
      metrics: { listenAddress: '127.0.0.1:0' },
    });
    try {
      const address = gateway.handle.metricsAddress;
      const replacement = await makeTestCertificate({ keyType: 'rsa' });
      const expected = Date.parse(new X509Certificate(replacement.cert).validTo) / 1000;
      copyFileSync(replacement.keyFile, gateway.cert.keyFile);
      copyFileSync(replacement.certFile, gateway.cert.certFile);
      await eventually(
        address,
        (samples) => {
          assert.equal(sampleValue(samples, 'promgate_config_reloads_total{source="tls",result="success"}'), 1);
          assert.equal(sampleValue(samples, 'promgate_tls_certificate_expiry_timestamp_seconds'), expected);
        },
        6000,
      );
      writeFileSync(gateway.cert.certFile, 'not a certificate\n');
      const failed = await eventually(
        address,
        (samples) =>
          assert.equal(sampleValue(samples, 'promgate_config_reloads_total{source="tls",result="failure"}'), 1),
        6000,
      );
      assert.equal(sampleValue(failed, 'promgate_config_last_reload_successful{source="tls"}'), 0);
      assert.equal(
        sampleValue(failed, 'promgate_tls_certificate_expiry_timestamp_seconds'),
        expected,
        'the certificate still served',
      );
    } finally {
      await gateway.close();
    }
  });

  it('counts upstream failures by kind', async () => {
    const closedPort = await freePort();
    const refused = await startTestGateway({
      upstream: `http://127.0.0.1:${closedPort}`,
      metrics: { listenAddress: '127.0.0.1:0' },
    });
    const silent = await startUpstream(() => {}); // never answers
    const slow = await startTestGateway({
      upstream: { url: silent.url, timeout: '200ms' },
      metrics: { listenAddress: '127.0.0.1:0' },
    });
    try {
      assert.equal((await refused.request('/prometheus/api/v1/query')).status, 502);
      assert.equal((await slow.request('/prometheus/api/v1/query')).status, 504);
      assert.equal(
        sampleValue(await scrape(refused.handle.metricsAddress), 'promgate_upstream_errors_total{kind="refused"}'),
        1,
      );
      const samples = await scrape(slow.handle.metricsAddress);
      assert.equal(sampleValue(samples, 'promgate_upstream_errors_total{kind="timeout"}'), 1);
      assert.equal(sampleValue(samples, 'promgate_upstream_errors_total{kind="refused"}'), 0);
      assert.equal(sampleValue(await scrape(refused.handle.metricsAddress), 'promgate_upstream_up'), 0);
    } finally {
      await refused.close();
      await slow.close();
      await silent.close();
    }
  });
});

describe('self-metrics in the library', () => {
  it('keeps two gateways apart, and lets them share a registry the host app scrapes', async () => {
    const one = createGateway({ upstream: 'http://127.0.0.1:9' });
    const two = createGateway({ upstream: 'http://127.0.0.1:9' });
    assert.notEqual(one.metrics.registry, two.metrics.registry);
    const registry = new Registry();
    const first = createGateway({ upstream: 'http://127.0.0.1:9', registry });
    const second = createGateway({ upstream: 'http://127.0.0.1:9', registry });
    const app = express();
    app.use('/a', first);
    app.use('/b', second);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      await fetch(`http://127.0.0.1:${port}/a/-/promgate/healthy`);
      await fetch(`http://127.0.0.1:${port}/b/-/promgate/healthy`);
      const text = await registry.metrics();
      assert.match(text, /^promgate_http_requests_total\{code="200",method="GET",route="\/prometheus"\} 2$/m);
      assert.doesNotMatch(await one.metrics.registry.metrics(), /^promgate_http_requests_total\{/m);
    } finally {
      server.close();
      for (const gateway of [one, two, first, second]) gateway.close();
    }
  });
});
