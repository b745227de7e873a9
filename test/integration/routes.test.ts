import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/index.ts';
import { resolveRoutes } from '../../src/config/routes.ts';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { scrape, sampleValue } from '../helpers/metrics.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

describe('routes', () => {
  it('serves each route from its upstream with its own preset, auth and inherited settings', async () => {
    const upstreams: RecordingUpstream[] = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
    const [prometheus, alertmanager, exporter] = upstreams as [RecordingUpstream, RecordingUpstream, RecordingUpstream];
    const gateway = await startTestGateway({
      auth: { htpasswdFile: writeHtpasswd([{ user: 'bob', password: 'bob-pw', flag: '-B' }]) },
      metrics: { listenAddress: '127.0.0.1:0' },
      routes: [
        { basePath: '/prometheus', upstream: { url: prometheus.url } },
        { basePath: '/alertmanager', preset: 'alertmanager', upstream: { url: alertmanager.url } },
        { basePath: '/node', preset: 'generic', upstream: { url: exporter.url }, auth: { off: true } },
      ],
    });
    const bob = { authorization: basicAuth('bob', 'bob-pw') };
    try {
      assert.equal((await gateway.request('/prometheus/api/v1/query?query=up', { headers: bob })).status, 200);
      assert.equal((await gateway.request('/alertmanager/api/v2/status', { headers: bob })).status, 200);
      assert.deepEqual(
        [prometheus.requests.at(-1)?.url, alertmanager.requests.at(-1)?.url],
        ['/api/v1/query?query=up', '/api/v2/status'],
      );
      // Inherited auth on two routes, none on the third.
      assert.equal((await gateway.request('/alertmanager/api/v2/status')).status, 401);
      assert.equal((await gateway.request('/node/metrics')).status, 200);
      assert.equal(exporter.requests.at(-1)?.url, '/metrics');
      // Each preset protects its component's endpoints from the viewer.
      assert.equal(
        (await gateway.request('/alertmanager/api/v2/silences', { method: 'POST', headers: bob })).status,
        403,
      );
      assert.equal(
        (await gateway.request('/prometheus/api/v1/admin/tsdb/snapshot', { method: 'POST', headers: bob })).status,
        403,
      );
      assert.equal(
        (await gateway.request('/prometheus/api/v2/silences', { method: 'POST', headers: bob })).status,
        403,
        'prometheus preset: not a read endpoint',
      );
      assert.equal((await gateway.request('/node/anything', { method: 'GET' })).status, 200);
      // Outside every route.
      assert.equal((await gateway.request('/grafana/')).status, 404);
      assert.deepEqual(
        upstreams.map((upstream) => upstream.requests.length),
        [1, 1, 2],
        'nothing refused reached an upstream',
      );
      const samples = await scrape(gateway.handle.metricsAddress);
      assert.equal(
        sampleValue(samples, 'promgate_http_requests_total{code="200",method="GET",route="/alertmanager"}'),
        1,
      );
      assert.equal(sampleValue(samples, 'promgate_http_requests_total{code="404",method="GET",route=""}'), 1);
    } finally {
      await gateway.close();
      await Promise.all(upstreams.map((upstream) => upstream.close()));
    }
  });

  it('takes users of the route itself (auth.users, bcrypt) besides the inherited htpasswd file', async () => {
    const upstream = await startUpstream();
    const carolHash = execFileSync('htpasswd', ['-nbB', '-C', '10', 'carol', 'carol-pw'])
      .toString()
      .trim()
      .split(':')[1]!;
    const gateway = await startTestGateway({
      auth: { htpasswdFile: writeHtpasswd([{ user: 'bob', password: 'bob-pw', flag: '-B' }]) },
      routes: [
        { basePath: '/a', upstream: { url: upstream.url } },
        { basePath: '/b', upstream: { url: upstream.url }, auth: { users: { carol: carolHash } } },
      ],
    });
    try {
      assert.equal(
        (await gateway.request('/b/x', { headers: { authorization: basicAuth('carol', 'carol-pw') } })).status,
        200,
      );
      assert.equal(
        (await gateway.request('/a/x', { headers: { authorization: basicAuth('carol', 'carol-pw') } })).status,
        401,
        'carol is a user of /b only',
      );
      assert.equal(
        (await gateway.request('/b/x', { headers: { authorization: basicAuth('bob', 'bob-pw') } })).status,
        200,
        'the file is inherited',
      );
      assert.equal(
        (await gateway.request('/b/x', { headers: { authorization: basicAuth('carol', 'wrong') } })).status,
        401,
      );
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('is ready at the root only when every route is; a generic upstream is not polled', async () => {
    const ready = await startUpstream();
    const gateway = await startTestGateway({
      routes: [
        { basePath: '/a', upstream: { url: ready.url, readyInterval: '100ms' } },
        { basePath: '/b', upstream: { url: 'http://127.0.0.1:9', readyInterval: '100ms' } },
        { basePath: '/c', preset: 'generic', upstream: { url: 'http://127.0.0.1:9' } },
      ],
    });
    try {
      const checked = async () => {
        const answer = await gateway.request('/-/promgate/ready');
        return !answer.text.includes('not checked yet') && answer;
      };
      const root = await waitFor(checked, { message: 'every polled route to be checked once' });
      assert.equal(root.status, 503);
      assert.match(root.text, /^promgate is not ready: \/b: upstream unreachable/);
      assert.equal((await gateway.request('/a/-/promgate/ready')).status, 200);
      assert.equal((await gateway.request('/c/-/promgate/ready')).status, 200, 'generic: nothing to poll');
    } finally {
      await gateway.close();
      await ready.close();
    }
  });

  it('refuses overlapping or duplicate base paths, and keys a route cannot set', () => {
    const upstream = { url: 'http://127.0.0.1:9' };
    const config = (routes: Array<Record<string, unknown>>) =>
      loadConfig({ configFile: writeConfig({ routes: routes.map((route) => ({ upstream, ...route })) }) }).config;
    assert.throws(() => resolveRoutes(config([{ basePath: '/a' }, { basePath: '/a/' }])), {
      message: /routes\.1\.basePath: routes 0 \(\/a\) and 1 \(\/a\/\) overlap/,
    });
    assert.throws(() => resolveRoutes(config([{ basePath: '/a' }, { basePath: '/a/b' }])), /overlap/);
    assert.throws(() => resolveRoutes(config([{ basePath: '/' }, { basePath: '/b' }])), /overlap/);
    assert.doesNotThrow(() => resolveRoutes(config([{ basePath: '/a' }, { basePath: '/ab' }])));
    assert.throws(() => resolveRoutes(config([{ basePath: '/a', tls: {} }])), {
      message: /routes\.0\.tls: "tls" cannot be set per route/,
    });
    assert.throws(() => resolveRoutes(config([{ basePath: '/a', upstream: { url: 'localhost:9090' } }])), {
      message: /routes\.0 \(\/a\): upstream\.url: must be an http/,
    });
    assert.throws(() => resolveRoutes(config([{ basePath: '/a' }, { basePath: '/b', upstream: { timeout: '1m' } }])), {
      message: /routes\.1\.upstream\.url: every route needs its own upstream\.url/,
    });
    const [a, b] = resolveRoutes(config([{ basePath: '/a' }, { basePath: '/b/c' }]));
    assert.deepEqual(
      [a?.rateLimit.redis.prefix, b?.rateLimit.redis.prefix],
      ['promgate:a:', 'promgate:b/c:'],
      'routes count apart in Redis',
    );
  });
});

function writeConfig(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'promgate-routes-')), 'promgate.yml');
  writeFileSync(file, JSON.stringify(content)); // JSON is YAML
  return file;
}
