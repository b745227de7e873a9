// The gateway in front of a real Prometheus, driven as the guide and users drive it: curl, the
// UI's redirects, the HTTP API (GET and form POST).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { ClientResponse } from '../helpers/client.ts';
import {
  PROMETHEUS_BINARY,
  startPrometheusBehindGateway,
  type PrometheusBehindGateway,
} from '../helpers/prometheus.ts';
import { requireCommands } from '../helpers/requirements.ts';

const run = promisify(execFile);

interface ApiResponse<T> {
  status: string;
  data: T;
}
type Labels = Record<string, string>;

describe('behind the gateway, a real Prometheus', { skip: requireCommands(PROMETHEUS_BINARY, 'curl') }, () => {
  let setup: PrometheusBehindGateway;

  before(async () => {
    setup = await startPrometheusBehindGateway();
  });

  after(async () => {
    await setup?.close();
  });

  const curl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run('curl', ['--silent', '--show-error', '--fail', '--max-time', '10', ...args], {
      timeout: 15_000,
    });
    return stdout;
  };

  for (const [name, trust] of [
    ['curl --cacert <cert>', () => ['--cacert', setup.gateway.cert.certFile]],
    ['curl -k', () => ['-k']],
  ] as const) {
    test(`answers the guide's ${name} with the job label values`, async () => {
      const body = JSON.parse(await curl(...trust(), `${setup.baseUrl}/api/v1/label/job/values`)) as ApiResponse<
        string[]
      >;
      assert.deepEqual(body, { status: 'success', data: ['prometheus'] });
    });
  }

  test('redirects /prometheus to /prometheus/', async () => {
    const response = await setup.gateway.request('/prometheus');
    assert.equal(response.status, 301);
    assert.equal(response.headers.location, '/prometheus/');
  });

  test('follows / to the UI without leaving the base path', async () => {
    const hops = await followRedirects(setup, '/prometheus/');
    const locations = hops.slice(0, -1).map((hop) => hop.response.headers.location ?? '');
    assert.ok(locations.length > 0, 'Prometheus redirects / to its UI');
    for (const location of locations)
      assert.match(location, /^\/prometheus\//, `Location ${location} stays under /prometheus/`);
    const page = hops.at(-1)!;
    assert.equal(page.response.status, 200, `${page.path} answers 200`);
    assert.match(page.response.headers['content-type'] ?? '', /^text\/html/);
    assert.match(page.response.text, /<title>Prometheus/);
    // The UI's links and assets carry the prefix Prometheus learned from --web.external-url.
    assert.match(page.response.text, /src="\/prometheus\/[^"]+\.js/);
  });

  test('runs a query sent as a POST form', async () => {
    const response = await setup.gateway.request('/prometheus/api/v1/query', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: 'up' }).toString(),
    });
    assert.equal(response.status, 200, response.text);
    const body = JSON.parse(response.text) as ApiResponse<{
      resultType: string;
      result: Array<{ metric: Labels; value: [number, string] }>;
    }>;
    assert.equal(body.status, 'success');
    assert.equal(body.data.resultType, 'vector');
    const self = body.data.result.find((sample) => sample.metric.job === 'prometheus');
    assert.ok(self, `a sample for job="prometheus" in ${response.text}`);
    assert.equal(self.metric.instance, `127.0.0.1:${setup.prometheus.port}`);
    assert.equal(self.value[1], '1');
  });

  test('passes a percent-encoded series selector through intact', async () => {
    const selector = encodeURIComponent('up{job="prometheus"}');
    const response = await setup.gateway.request(
      `/prometheus/api/v1/series?${encodeURIComponent('match[]')}=${selector}`,
    );
    assert.equal(response.status, 200, response.text);
    const body = JSON.parse(response.text) as ApiResponse<Labels[]>;
    assert.deepEqual(body, {
      status: 'success',
      data: [{ __name__: 'up', instance: `127.0.0.1:${setup.prometheus.port}`, job: 'prometheus' }],
    });
  });

  test('answers 404 outside the base path', async () => {
    for (const path of [
      '/',
      '/api/v1/query?query=up',
      '/metrics',
      '/prometheusx/api/v1/query?query=up',
      '/Prometheus/api/v1/query?query=up',
    ]) {
      const response = await setup.gateway.request(path);
      assert.equal(response.status, 404, `GET ${path}`);
      assert.doesNotMatch(response.text, /"status"/, `GET ${path} must not reach Prometheus`);
    }
  });
});

/** GETs `path` and follows same-origin redirects; every hop, the final page last. */
async function followRedirects(
  setup: PrometheusBehindGateway,
  path: string,
  limit = 5,
): Promise<Array<{ path: string; response: ClientResponse }>> {
  const hops: Array<{ path: string; response: ClientResponse }> = [];
  for (let current = path; hops.length <= limit; ) {
    const response = await setup.gateway.request(current);
    hops.push({ path: current, response });
    const location = response.headers.location;
    if (response.status < 300 || response.status >= 400 || !location) return hops;
    const next = new URL(location, `${setup.gateway.origin}${current}`);
    assert.equal(next.origin, setup.gateway.origin, `redirect from ${current} stays on the gateway's origin`);
    current = next.pathname + next.search;
  }
  assert.fail(`more than ${limit} redirects from ${path}: ${hops.map((hop) => hop.path).join(' -> ')}`);
}
