import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

describe('landing page', () => {
  it('is off by default: / is a 404', async () => {
    const gateway = await startTestGateway({ upstream: 'http://127.0.0.1:9' });
    try {
      assert.equal((await gateway.request('/')).status, 404);
    } finally {
      await gateway.close();
    }
  });

  it('lists the routes the logged-in user may open, after the same login and throttle as the routes', async () => {
    const upstreams: RecordingUpstream[] = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
    const gateway = await startTestGateway({
      landingPage: true,
      auth: {
        htpasswdFile: writeHtpasswd([
          { user: 'alice', password: 'alice-pw', flag: '-B' },
          { user: 'bob', password: 'bob-pw', flag: '-B' },
        ]),
      },
      rateLimit: { failedAuthPerClient: { requests: 2, window: '1m' } },
      accessControl: { users: { alice: 'admin' }, roles: { nobody: { allow: [] } } },
      routes: [
        { basePath: '/prometheus', upstream: { url: upstreams[0]!.url } },
        {
          basePath: '/alertmanager',
          preset: 'alertmanager',
          upstream: { url: upstreams[1]!.url },
          accessControl: { defaultRole: 'nobody' },
        },
        { basePath: '/node', preset: 'generic', upstream: { url: upstreams[2]!.url }, auth: { off: true } },
      ],
    });
    const links = (html: string) => [...html.matchAll(/<a href="([^"]+)">/g)].map((match) => match[1]);
    try {
      const anonymous = await gateway.request('/');
      assert.equal(anonymous.status, 401, 'a login first, as on the routes');
      assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm="promgate"/);
      const alice = await gateway.request('/', { headers: { authorization: basicAuth('alice', 'alice-pw') } });
      assert.equal(alice.status, 200);
      assert.match(String(alice.headers['content-type']), /^text\/html/);
      assert.equal(alice.headers['x-content-type-options'], 'nosniff', 'security headers');
      assert.deepEqual(links(alice.text), ['/prometheus/', '/alertmanager/', '/node/']);
      const bob = await gateway.request('/', { headers: { authorization: basicAuth('bob', 'bob-pw') } });
      assert.deepEqual(links(bob.text), ['/prometheus/', '/node/'], 'bob is "nobody" on /alertmanager');
      // Wrong passwords here count like anywhere else: the page is no way around the throttle.
      const statuses = [];
      for (let i = 0; i < 3; i++)
        statuses.push(
          (await gateway.request('/', { headers: { authorization: basicAuth('bob', `guess-${i}`) } })).status,
        );
      assert.deepEqual(statuses, [401, 401, 429]);
      assert.equal(
        upstreams.reduce((sum, upstream) => sum + upstream.requests.length, 0),
        0,
        'the page asks no upstream',
      );
    } finally {
      await gateway.close();
      await Promise.all(upstreams.map((upstream) => upstream.close()));
    }
  });

  it('cannot be combined with a route at /', async () => {
    await assert.rejects(startTestGateway({ landingPage: true, basePath: '/', upstream: 'http://127.0.0.1:9' }), {
      message: /landingPage: needs every route under a base path other than "\/"/,
    });
  });
});
