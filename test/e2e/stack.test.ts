// One promgate in front of Prometheus, Alertmanager and Pushgateway (`routes:`), each the real
// Debian binary: every UI and API under its own prefix, each preset's read-only default, shared
// basic auth, root readiness over all upstreams, and a plugin loaded from a file on one route.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basicAuth, type ClientResponse } from '../helpers/client.ts';
import {
  ALERTMANAGER_BINARY,
  PUSHGATEWAY_BINARY,
  startStackBehindGateway,
  type StackBehindGateway,
} from '../helpers/components.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { freePort } from '../helpers/ports.ts';
import { PROMETHEUS_BINARY } from '../helpers/prometheus.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

const admin = { authorization: basicAuth('alice', 'alice-pw') };
const viewer = { authorization: basicAuth('bob', 'bob-pw') };
const json = { 'content-type': 'application/json' };
/** Polled readiness: short, so /-/promgate/ready follows the upstreams within the test's bounds. */
const READY_INTERVAL = '250ms';
const READY_WAIT_MS = 5_000;

const STAMP_PLUGIN = `export default {
  name: 'stamp',
  create: (options, context) => (req, res, next) => {
    res.setHeader('x-stamp', \`\${options.value}:\${context.route.basePath}:\${req.promgate?.user ?? 'none'}\`);
    next();
  },
};
`;

describe('one promgate in front of Prometheus, Alertmanager and Pushgateway', {
  skip: requireCommands(PROMETHEUS_BINARY, ALERTMANAGER_BINARY, PUSHGATEWAY_BINARY, 'htpasswd'),
}, () => {
  let dir: string;
  let stack: StackBehindGateway;
  const request = (path: string, options: Parameters<TestGateway['request']>[1] = {}) =>
    stack.gateway.request(path, options);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promgate-stack-'));
    const htpasswdFile = writeHtpasswd(
      [
        { user: 'alice', password: 'alice-pw', flag: '-B' },
        { user: 'bob', password: 'bob-pw', flag: '-B' },
      ],
      join(dir, '.htpasswd'),
    );
    writeFileSync(join(dir, 'stamp.mjs'), STAMP_PLUGIN);
    stack = await startStackBehindGateway({
      auth: { htpasswdFile },
      accessControl: { users: { alice: 'admin' } },
      upstream: { readyInterval: READY_INTERVAL },
      plugins: [
        { module: join(dir, 'stamp.mjs'), stage: 'afterAuth', options: { value: 'v1' }, routes: ['/pushgateway'] },
      ],
    });
  });

  after(async () => {
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [prefix, title] of [
    ['/prometheus', /<title>Prometheus/],
    ['/alertmanager', /<title>Alertmanager<\/title>/],
    ['/pushgateway', /<title>Prometheus Pushgateway<\/title>/],
  ] as const) {
    test(`serves the ${prefix.slice(1)} UI under ${prefix}/ to a viewer, its redirects and links staying under the prefix`, async () => {
      const hops = await followRedirects(stack.gateway, `${prefix}/`, viewer);
      for (const { response } of hops.slice(0, -1))
        assert.match(
          response.headers.location ?? '',
          new RegExp(`^(${stack.gateway.origin})?${prefix}/`),
          `a redirect stays under ${prefix}/`,
        );
      const page = hops.at(-1)!;
      assert.equal(page.response.status, 200, `${page.path}: ${page.response.text}`);
      assert.match(page.response.headers['content-type'] ?? '', /^text\/html/);
      assert.match(page.response.text, title);
      // Each component learned its prefix from --web.external-url (Debian's Alertmanager page has
      // relative links, the others absolute ones): the first link or script resolves under it.
      const link = /(?:src|href)="([^"#]+)"/.exec(page.response.text)?.[1];
      assert.ok(link, `a link or script on ${page.path}`);
      const asset = new URL(link, `${stack.gateway.origin}${page.path}`);
      assert.equal(asset.origin, stack.gateway.origin);
      assert.match(asset.pathname, new RegExp(`^${prefix}/`), `${link} on ${page.path} resolves under ${prefix}/`);
      const fetched = await request(asset.pathname + asset.search, { headers: viewer });
      assert.equal(fetched.status, 200, `${asset.pathname}: ${fetched.text.slice(0, 200)}`);
    });
  }

  test("answers each component's API under its prefix to a viewer, from that component", async () => {
    const query = await request('/prometheus/api/v1/query?query=up', { headers: viewer });
    assert.equal(query.status, 200, query.text);
    const samples = parse<{ status: string; data: { result: Array<{ metric: Record<string, string> }> } }>(query);
    assert.equal(samples.status, 'success');
    assert.ok(
      samples.data.result.some((sample) => sample.metric.instance === `127.0.0.1:${stack.prometheus.port}`),
      query.text,
    );

    const alertmanager = await request('/alertmanager/api/v2/status', { headers: viewer });
    assert.equal(alertmanager.status, 200, alertmanager.text);
    assert.match(
      parse<{ config: { original: string } }>(alertmanager).config.original,
      new RegExp(`name: ${stack.alertmanager.receiver}`),
    );

    const pushgateway = await request('/pushgateway/api/v1/status', { headers: viewer });
    assert.equal(pushgateway.status, 200, pushgateway.text);
    assert.equal(
      parse<{ data: { flags: Record<string, string> } }>(pushgateway).data.flags['web.external-url'],
      `${stack.gateway.origin}/pushgateway`,
    );
  });

  test('asks for the shared credentials on every route', async () => {
    for (const path of ['/prometheus/api/v1/query?query=up', '/alertmanager/api/v2/status', '/pushgateway/metrics']) {
      const response = await request(path);
      assert.equal(response.status, 401, `${path}: ${response.text}`);
      assert.match(response.headers['www-authenticate'] ?? '', /^Basic /, path);
    }
  });

  for (const [method, path] of [
    ['POST', '/prometheus/-/quit'],
    ['POST', '/prometheus/api/v1/admin/tsdb/snapshot'],
    ['POST', '/prometheus/api/v1/write'],
    ['POST', '/alertmanager/-/quit'],
    ['POST', '/alertmanager/-/reload'],
    ['POST', '/alertmanager/api/v2/alerts'],
    ['POST', '/pushgateway/-/quit'],
    ['DELETE', '/pushgateway/metrics/job/promgate_test'],
  ] as const) {
    test(`refuses ${method} ${path} to a viewer`, async () => {
      // node:https frames no body on DELETE (no content-length): send bodies with POST only.
      const response = await request(
        path,
        method === 'POST' ? { method, headers: { ...viewer, ...json }, body: '[]' } : { method, headers: viewer },
      );
      assert.equal(response.status, 403, response.text);
      if (path.includes('/api/')) assert.equal(parse<{ errorType: string }>(response).errorType, 'forbidden');
    });
  }

  // Each of these reaches a write endpoint when sent to the component itself (the tricks are real).
  for (const [method, path, body, honoured] of [
    ['PUT', '/pushgateway/metrics%2Fjob%2Fencoded', 'encoded_metric 1\n', 200],
    ['PUT', '/pushgateway/%6detrics/job/encoded', 'encoded_metric 1\n', 200],
    ['PUT', '/pushgateway/api/v1/%61dmin/wipe', undefined, 202],
    ['PUT', '/pushgateway/api/v1/admin%2Fwipe', undefined, 202],
    ['POST', '/alertmanager/api/v2/alerts/', '[]', 200],
    ['POST', '/alertmanager/-/%72eload', undefined, 200],
  ] as const) {
    test(`refuses ${method} ${path} to a viewer, which the component itself takes`, async () => {
      const component = path.startsWith('/pushgateway/') ? stack.pushgateway : stack.alertmanager;
      const direct = await fetch(`${component.url}${path.slice(path.indexOf('/', 1))}`, {
        method,
        headers: json,
        body: body ?? null,
      });
      assert.equal(direct.status, honoured, `${component.url} answered ${direct.status}: ${await direct.text()}`);
      const headers = { ...viewer, ...json, 'content-length': String(Buffer.byteLength(body ?? '')) };
      const response = await request(path, { method, headers, ...(body === undefined ? {} : { body }) });
      assert.equal(response.status, 403, response.text);
    });
  }

  test("keeps every component running after the viewer's /-/quit attempts", async () => {
    for (const component of [stack.prometheus, stack.alertmanager, stack.pushgateway]) {
      assert.equal((await fetch(`${component.url}/-/healthy`)).status, 200, component.url);
    }
  });

  test('lets the admin create a silence and expire it, which the viewer may only read', async () => {
    const silence = JSON.stringify({
      matchers: [{ name: 'job', value: 'promgate_test', isRegex: false, isEqual: true }],
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      createdBy: 'promgate e2e',
      comment: 'stack.test.ts',
    });
    const refused = await request('/alertmanager/api/v2/silences', {
      method: 'POST',
      headers: { ...viewer, ...json },
      body: silence,
    });
    assert.equal(refused.status, 403, refused.text);
    const created = await request('/alertmanager/api/v2/silences', {
      method: 'POST',
      headers: { ...admin, ...json },
      body: silence,
    });
    assert.equal(created.status, 200, created.text);
    const { silenceID } = parse<{ silenceID: string }>(created);
    assert.match(silenceID, /^[0-9a-f-]{36}$/);
    const silences = await request('/alertmanager/api/v2/silences', { headers: viewer });
    assert.equal(
      parse<Array<{ comment: string }>>(silences).filter((each) => each.comment === 'stack.test.ts').length,
      1,
      'only the admin created one',
    );

    assert.equal(
      (await request(`/alertmanager/api/v2/silence/${silenceID}`, { method: 'DELETE', headers: viewer })).status,
      403,
    );
    assert.equal(await silenceState(silenceID), 'active');
    const expired = await request(`/alertmanager/api/v2/silence/${silenceID}`, { method: 'DELETE', headers: admin });
    assert.equal(expired.status, 200, expired.text);
    assert.equal(await silenceState(silenceID), 'expired');
  });

  test('lets the admin push to and wipe the Pushgateway, which the viewer may only read', async () => {
    const push = (headers: Record<string, string>) =>
      request('/pushgateway/metrics/job/promgate_test', { method: 'PUT', headers, body: 'some_metric 42\n' });
    const metrics = async () => (await request('/pushgateway/metrics', { headers: viewer })).text;
    const pushed = /^some_metric\{[^}]*job="promgate_test"[^}]*\} 42$/m;

    assert.equal((await push(viewer)).status, 403);
    assert.doesNotMatch(await metrics(), pushed);
    const accepted = await push(admin);
    assert.equal(accepted.status, 200, accepted.text);
    assert.match(await metrics(), pushed);

    assert.equal((await request('/pushgateway/api/v1/admin/wipe', { method: 'PUT', headers: viewer })).status, 403);
    assert.match(await metrics(), pushed, "the viewer's wipe reached nothing");
    const wiped = await request('/pushgateway/api/v1/admin/wipe', { method: 'PUT', headers: admin });
    assert.equal(wiped.status, 202, wiped.text);
    assert.doesNotMatch(await metrics(), pushed);
  });

  test('refuses a Prometheus reload to the viewer and lets the admin reload', async () => {
    assert.equal((await request('/prometheus/-/reload', { method: 'POST', headers: viewer })).status, 403);
    const reloaded = await request('/prometheus/-/reload', { method: 'POST', headers: admin });
    assert.equal(reloaded.status, 200, reloaded.text);
  });

  for (const path of ['/grafana/', '/prometheus-old/api/v1/query?query=up', '/']) {
    test(`answers ${path} (outside every route) with 404, even with credentials`, async () => {
      assert.equal((await request(path)).status, 404);
      assert.equal((await request(path, { headers: admin })).status, 404);
    });
  }

  test('answers /-/promgate/ready at the root with 200 once all three upstreams are ready', async () => {
    const ready = await pollReady(stack.gateway, (response) => response.status === 200);
    assert.equal(ready.text, 'promgate is Ready.\n');
  });

  test('answers /-/promgate/ready with 503 naming the route whose upstream is down', async () => {
    const gateway = await startTestGateway({
      upstream: { readyInterval: READY_INTERVAL },
      routes: [
        { basePath: '/prometheus', preset: 'prometheus', upstream: { url: stack.prometheus.url } },
        { basePath: '/alertmanager', preset: 'alertmanager', upstream: { url: stack.alertmanager.url } },
        { basePath: '/pushgateway', preset: 'pushgateway', upstream: { url: `http://127.0.0.1:${await freePort()}` } },
      ],
    });
    try {
      // The live upstreams answer first; then only the dead one is left to explain the 503.
      const notReady = await pollReady(
        gateway,
        (response) =>
          response.text.startsWith('promgate is not ready: /pushgateway: ') && !/not checked yet/.test(response.text),
      );
      assert.equal(notReady.status, 503, notReady.text);
    } finally {
      await gateway.close();
      rmSync(gateway.cert.dir, { recursive: true, force: true });
    }
  });

  test('runs a plugin from a file after auth on its route only', async () => {
    for (const [user, headers] of [
      ['bob', viewer],
      ['alice', admin],
    ] as const) {
      const response = await request('/pushgateway/api/v1/status', { headers });
      assert.equal(response.status, 200, response.text);
      assert.equal(response.headers['x-stamp'], `v1:/pushgateway:${user}`);
    }
    // Before auth, the request never reaches the plugin.
    const anonymous = await request('/pushgateway/api/v1/status');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers['x-stamp'], undefined);
    for (const path of ['/alertmanager/api/v2/status', '/prometheus/api/v1/query?query=up']) {
      const response = await request(path, { headers: viewer });
      assert.equal(response.status, 200, `${path}: ${response.text}`);
      assert.equal(response.headers['x-stamp'], undefined, `${path} is not a route of the plugin`);
    }
  });

  async function silenceState(id: string): Promise<string> {
    const response = await request(`/alertmanager/api/v2/silence/${id}`, { headers: viewer });
    assert.equal(response.status, 200, response.text);
    return parse<{ status: { state: string } }>(response).status.state;
  }
});

function parse<T>(response: ClientResponse): T {
  try {
    return JSON.parse(response.text) as T;
  } catch {
    return assert.fail(`not JSON (${response.status}): ${response.text.slice(0, 500)}`);
  }
}

/** GETs `path`, following redirects on the gateway's origin, and returns every hop. */
async function followRedirects(
  gateway: TestGateway,
  path: string,
  headers: Record<string, string>,
  limit = 5,
): Promise<Array<{ path: string; response: ClientResponse }>> {
  const hops: Array<{ path: string; response: ClientResponse }> = [];
  for (let current = path; hops.length <= limit; ) {
    const response = await gateway.request(current, { headers });
    hops.push({ path: current, response });
    const location = response.headers.location;
    if (response.status < 300 || response.status >= 400 || !location) return hops;
    const next = new URL(location, `${gateway.origin}${current}`);
    assert.equal(next.origin, gateway.origin, `redirect from ${current} stays on the gateway's origin`);
    current = next.pathname + next.search;
  }
  return assert.fail(`more than ${limit} redirects from ${path}: ${hops.map((hop) => hop.path).join(' -> ')}`);
}

/** Polls the root /-/promgate/ready until `done` holds for its answer; fails after READY_WAIT_MS. */
async function pollReady(gateway: TestGateway, done: (response: ClientResponse) => boolean): Promise<ClientResponse> {
  let last: ClientResponse | undefined;
  const answered = async () => {
    last = await gateway.request('/-/promgate/ready');
    return done(last) && last;
  };
  return waitFor(answered, {
    timeoutMs: READY_WAIT_MS,
    intervalMs: 100,
    message: () => `/-/promgate/ready (last answer: ${last?.status} ${JSON.stringify(last?.text)})`,
  });
}
