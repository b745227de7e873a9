import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { cleanEnv, runCli, startCli } from '../helpers/cli.ts';
import { startTestGateway, useGatewayWithUpstream } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { waitFor } from '../helpers/wait.ts';

/** An upstream whose /-/ready answer the test switches, counting the polls. */
async function startSwitchableUpstream(): Promise<{
  url: string;
  polls: () => number;
  setReady(status: number): void;
  releaseSlow(): void;
  close(): Promise<void>;
}> {
  let status = 200;
  let polls = 0;
  const held: Array<() => void> = [];
  const server: Server = createHttpServer((req, res) => {
    if (req.url === '/slow') return void held.push(() => res.writeHead(200).end('slow answer\n'));
    if (req.url === '/-/ready') polls++;
    res
      .writeHead(req.url === '/-/ready' ? status : 200)
      .end(status === 200 ? 'Prometheus Server is Ready.\n' : 'Service Unavailable');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    polls: () => polls,
    setReady: (next) => void (status = next),
    releaseSlow: () => {
      for (const release of held.splice(0)) release();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('health endpoints', () => {
  const htpasswdFile = writeHtpasswd([{ user: 'alice', password: 'secret', flag: '-B' }]);
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: { url: upstream.url, readyInterval: '100ms' },
    auth: { htpasswdFile },
  }));

  it('answers /-/promgate/healthy without credentials, at the root and under the base path', async () => {
    for (const path of ['/-/promgate/healthy', '/prometheus/-/promgate/healthy']) {
      const response = await setup.gateway.request(path);
      assert.equal(response.status, 200, path);
      assert.equal(response.text, 'promgate is Healthy.\n');
      assert.equal(response.headers['x-content-type-options'], 'nosniff', 'the security headers apply');
      assert.equal(response.headers['cache-control'], 'no-store');
    }
    assert.equal(setup.upstream.requests.length, 0, 'answered by the gateway itself');
    assert.equal(
      (await setup.gateway.request('/prometheus/api/v1/query')).status,
      401,
      'everything else still needs auth',
    );
  });

  it('ignores a query string, and only the exact paths are health paths', async () => {
    assert.equal((await setup.gateway.request('/-/promgate/healthy?probe=kubelet')).text, 'promgate is Healthy.\n');
    assert.equal((await setup.gateway.request('/prometheus/-/promgate/healthy?')).text, 'promgate is Healthy.\n');
    for (const path of [
      '/prometheus/-/promgate/healthyx',
      '/prometheus/-/promgate/healthy/',
      '/prometheus/-/promgate/read',
      '/prometheus/-/promgate/readyz?x',
    ]) {
      assert.equal((await setup.gateway.request(path)).status, 401, `${path}: not a health path, so it needs auth`);
    }
  });

  it('answers /-/promgate/ready once the upstream answered its own /-/ready', async () => {
    await waitFor(async () => (await setup.gateway.request('/-/promgate/ready')).status === 200, { message: 'ready' });
    const response = await setup.gateway.request('/prometheus/-/promgate/ready');
    assert.equal(response.status, 200);
    assert.equal(response.text, 'promgate is Ready.\n');
    assert.ok(setup.upstream.readinessChecks.some((check) => check.url === '/-/ready' && check.method === 'GET'));
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await setup.gateway.request('/-/promgate/healthy', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    const post = await setup.gateway.request('/-/promgate/healthy', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });
});

describe('readiness follows the upstream', () => {
  it('turns 503 when the upstream stops being ready or goes away, and back to 200', async () => {
    const upstream = await startSwitchableUpstream();
    const gateway = await startTestGateway({ upstream: { url: upstream.url, readyInterval: '100ms' } });
    const ready = async () => (await gateway.request('/-/promgate/ready')).status;
    try {
      await waitFor(async () => (await ready()) === 200, { message: 'ready' });
      upstream.setReady(503);
      await waitFor(async () => (await ready()) === 503, { message: 'not ready after the upstream answered 503' });
      assert.match(
        (await gateway.request('/-/promgate/ready')).text,
        /^promgate is not ready: upstream ready path answered 503\.\n$/,
      );
      assert.equal((await gateway.request('/-/promgate/healthy')).status, 200, 'still healthy: the process is fine');
      upstream.setReady(200);
      await waitFor(async () => (await ready()) === 200, { message: 'ready again' });
      await upstream.close();
      await waitFor(async () => (await ready()) === 503, { message: 'not ready after the upstream went away' });
      assert.match((await gateway.request('/-/promgate/ready')).text, /upstream unreachable: ECONNREFUSED/);
    } finally {
      await gateway.close();
      await upstream.close().catch(() => {});
    }
  });

  it('is ready without polling when upstream.readyPath is ""', async () => {
    const gateway = await startTestGateway({
      upstream: { url: `http://127.0.0.1:${await freePort()}`, readyPath: '' },
    });
    try {
      assert.equal((await gateway.request('/-/promgate/ready')).status, 200);
    } finally {
      await gateway.close();
    }
  });

  it('reports not ready once shutdown began, while an in-flight request finishes', async () => {
    const upstream = await startSwitchableUpstream();
    const gateway = await startTestGateway({
      upstream: { url: upstream.url, readyInterval: '100ms' },
      metrics: { listenAddress: '127.0.0.1:0' },
    });
    const readyOnMetricsPort = async () =>
      (await fetch(`http://127.0.0.1:${gateway.handle.metricsAddress!.port}/-/promgate/ready`)).status;
    try {
      await waitFor(async () => (await readyOnMetricsPort()) === 200, { message: 'ready' });
      const inFlight = gateway.request('/prometheus/slow');
      await waitFor(
        async () =>
          upstream.polls() > 0 &&
          (
            await fetch(`http://127.0.0.1:${gateway.handle.metricsAddress!.port}/metrics`).then((r) => r.text())
          ).includes('promgate_http_requests_in_flight 1'),
        { message: 'the request in flight' },
      );
      const closed = gateway.close();
      assert.equal(await readyOnMetricsPort(), 503);
      upstream.releaseSlow();
      const response = await inFlight;
      assert.equal(response.status, 200);
      assert.equal(response.text, 'slow answer\n');
      await closed;
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('promgate healthcheck', () => {
  it('exits 0 while the gateway is healthy and 1 for --ready while its upstream is down', async () => {
    const cert = await makeTestCertificate();
    const port = await freePort();
    const flags = [`--web.listen-address=127.0.0.1:${port}`, `--upstream.url=http://127.0.0.1:${await freePort()}`];
    const env = cleanEnv({ PROMGATE_TLS_CERT_FILE: cert.certFile, PROMGATE_TLS_KEY_FILE: cert.keyFile });
    const gateway = startCli(flags, { env });
    try {
      await gateway.listening;
      const healthy = await runCli(['healthcheck', ...flags], { env });
      assert.equal(healthy.code, 0, healthy.stderr);
      assert.equal(healthy.stdout, `https://127.0.0.1:${port}/-/promgate/healthy: 200 promgate is Healthy.\n`);
      const ready = await runCli(['healthcheck', '--ready', ...flags], { env });
      assert.equal(ready.code, 1);
      assert.match(
        ready.stdout,
        /\/-\/promgate\/ready: 503 promgate is not ready: (upstream unreachable: ECONNREFUSED|upstream not checked yet)/,
      );
    } finally {
      await gateway.stop();
    }
  });

  it('uses the metrics listener when there is one (it needs no TLS client certificate)', async () => {
    const cert = await makeTestCertificate();
    const metricsPort = await freePort();
    const env = cleanEnv({
      PROMGATE_TLS_CERT_FILE: cert.certFile,
      PROMGATE_TLS_KEY_FILE: cert.keyFile,
      PROMGATE_METRICS_LISTEN_ADDRESS: `127.0.0.1:${metricsPort}`,
    });
    const flags = [`--web.listen-address=127.0.0.1:${await freePort()}`];
    const gateway = startCli(flags, { env });
    try {
      await gateway.listening;
      const result = await runCli(['healthcheck', ...flags], { env });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `http://127.0.0.1:${metricsPort}/-/promgate/healthy: 200 promgate is Healthy.\n`);
    } finally {
      await gateway.stop();
    }
  });

  it('exits 1 with the address it tried when nothing answers', async () => {
    const port = await freePort();
    const result = await runCli(['healthcheck', `--web.listen-address=0.0.0.0:${port}`]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`^promgate healthcheck: https://127\\.0\\.0\\.1:${port}/-/promgate/healthy: connect ECONNREFUSED`),
    );
  });
});
