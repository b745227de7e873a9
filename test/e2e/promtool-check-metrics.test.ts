// promgate's /metrics passes `promtool check metrics` (Prometheus's own linter: names, suffixes,
// types, HELP), on the plain metrics listener and on the gateway, with every family populated.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway, useGatewayWithUpstream } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { freePort } from '../helpers/ports.ts';
import { requireCommands } from '../helpers/requirements.ts';

/** Runs promtool check metrics on the text; its exit code and everything it printed. */
function promtoolCheck(exposition: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.end(exposition);
  });
}

describe('promtool check metrics', { skip: requireCommands('promtool', 'htpasswd') }, () => {
  const htpasswdFile = writeHtpasswd([{ user: 'alice', password: 'alice-secret', flag: '-B' }]);
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    auth: { htpasswdFile },
    metrics: { listenAddress: '127.0.0.1:0', exposeOnGateway: true },
  }));

  /** One of each kind of answer, so every family and label set is in the output. */
  async function exercise(): Promise<void> {
    const { gateway } = setup;
    const alice = { authorization: basicAuth('alice', 'alice-secret') };
    await gateway.request('/prometheus/api/v1/query?query=up', { headers: alice });
    await gateway.request('/prometheus/api/v1/query?query=up', {
      headers: { authorization: basicAuth('alice', 'wrong') },
    });
    await gateway.request('/prometheus/api/v1/admin/tsdb/snapshot', { method: 'POST', headers: alice });
    await gateway.request('/elsewhere');
  }

  it('finds nothing wrong on the metrics listener', async () => {
    await exercise();
    const port = setup.gateway.handle.metricsAddress!.port;
    const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(exposition, /^promgate_http_requests_total\{/m, 'the requests were counted');
    assert.match(exposition, /^nodejs_active_handles\{/m, 'the per-type gauges stay');
    const { code, output } = await promtoolCheck(exposition);
    assert.equal(output, '');
    assert.equal(code, 0);
  });

  it('finds nothing wrong at <basePath>/-/promgate/metrics', async () => {
    await exercise();
    const response = await setup.gateway.request('/prometheus/-/promgate/metrics', {
      headers: { authorization: basicAuth('alice', 'alice-secret') },
    });
    assert.equal(response.status, 200);
    const { code, output } = await promtoolCheck(response.body.toString());
    assert.equal(output, '');
    assert.equal(code, 0);
  });

  it('serves the Prometheus text format only (no OpenMetrics to check)', async () => {
    const port = setup.gateway.handle.metricsAddress!.port;
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: { accept: 'application/openmetrics-text; version=1.0.0' },
    });
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    await response.arrayBuffer();
  });

  it('an upstream that is down adds its error series, still clean', async () => {
    // A port nothing listens on: the upstream-error family gets its "refused" series.
    const down = await startTestGateway({
      upstream: `http://127.0.0.1:${await freePort()}`,
      metrics: { listenAddress: '127.0.0.1:0' },
    });
    try {
      await down.request('/prometheus/api/v1/query?query=up');
      const exposition = await (await fetch(`http://127.0.0.1:${down.handle.metricsAddress!.port}/metrics`)).text();
      assert.match(exposition, /^promgate_upstream_errors_total\{kind="refused"\} 1/m);
      const { code, output } = await promtoolCheck(exposition);
      assert.equal(output, '');
      assert.equal(code, 0);
    } finally {
      await down.close();
    }
  });
});
