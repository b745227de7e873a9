// Alertmanager tenancy against a fake Alertmanager: what each tenant gets of alerts, groups and
// silences, what reaches the upstream when it creates, updates or expires a silence, and what it
// is refused. The tenancy handler runs as a beforeProxy hook here, with the scope of the user.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import { silentLogger } from '../../src/kernel/logger.ts';
import {
  createAlertmanagerTenancy,
  MAX_TENANT_BODY_BYTES,
  scopeSilenceMatchers,
  silenceInScope,
} from '../../middleware/tenancy/alertmanager.ts';
import { basicAuth } from '../helpers/client.ts';
import { useGatewayWithUpstream } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { TENANT_USERS, USER_SCOPES, visibleTo, type TenantUser } from '../helpers/tenants.ts';

type Labels = Record<string, string>;
const alertOf = (labels: Labels) => ({
  labels: { alertname: 'Backlog', ...labels } as Labels,
  annotations: {},
  status: {},
});
const ALERTS = [
  ...['a', 'b', 'shared', 'c'].flatMap((namespace) => ['prod', 'dev'].map((env) => alertOf({ namespace, env }))),
  alertOf({ cluster: 'eu' }), // no namespace: nobody's tenant
];

type Matcher = { name: string; value: string; isRegex: boolean; isEqual?: boolean };
const eq = (name: string, value: string): Matcher => ({ name, value, isRegex: false, isEqual: true });
const SILENCES: Record<string, Matcher[]> = {
  '0a000000-0000-4000-8000-00000000000a': [eq('namespace', 'a'), eq('alertname', 'Backlog')],
  '0b000000-0000-4000-8000-00000000000b': [eq('namespace', 'b'), eq('env', 'prod')],
  '0c000000-0000-4000-8000-00000000000c': [
    { name: 'namespace', value: 'b|shared', isRegex: true, isEqual: true },
    eq('env', 'prod'),
  ],
  '0d000000-0000-4000-8000-00000000000d': [{ name: 'namespace', value: '.*', isRegex: true }],
  '0e000000-0000-4000-8000-00000000000e': [{ name: 'namespace', value: 'a', isRegex: false, isEqual: false }],
  '0f000000-0000-4000-8000-00000000000f': [eq('alertname', 'Backlog')],
  '1a000000-0000-4000-8000-00000000001a': [eq('namespace', 'b'), eq('env', 'dev')],
};
const OWN_SILENCES: Record<TenantUser, string[]> = {
  alice: ['0a000000-0000-4000-8000-00000000000a'],
  bob: ['0b000000-0000-4000-8000-00000000000b', '0c000000-0000-4000-8000-00000000000c'],
  carol: Object.keys(SILENCES),
};
const silenceJson = (id: string) => ({
  id,
  matchers: SILENCES[id],
  status: { state: 'active' },
  createdBy: 'someone',
  comment: 'c',
  startsAt: '2026-01-01T00:00:00Z',
  endsAt: '2027-01-01T00:00:00Z',
});

function fakeAlertmanager(req: IncomingMessage, res: ServerResponse) {
  const path = (req.url ?? '').split('?', 1)[0]!;
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (path === '/api/v2/alerts' && req.method === 'GET') return json(200, ALERTS);
  if (path === '/api/v2/alerts' && req.method === 'POST') return json(200, '');
  if (path === '/api/v2/alerts/groups')
    return json(
      200,
      ['a', 'b', 'c'].map((namespace) => ({
        labels: { namespace },
        receiver: { name: 'team' },
        alerts: ALERTS.filter(
          (alert) => alert.labels.namespace === namespace || (namespace === 'b' && alert.labels.namespace === 'shared'),
        ),
      })),
    );
  if (path === '/api/v2/silences' && req.method === 'GET') return json(200, Object.keys(SILENCES).map(silenceJson));
  if (path === '/api/v2/silences' && req.method === 'POST') return json(200, { silenceID: 'new' });
  if (path.startsWith('/api/v2/silence/')) {
    const id = decodeURIComponent(path.slice('/api/v2/silence/'.length));
    if (!SILENCES[id]) return json(404, 'silence not found');
    return json(200, req.method === 'DELETE' ? '' : silenceJson(id));
  }
  if (path === '/api/v2/status')
    return json(200, {
      cluster: { status: 'disabled' },
      config: { original: 'webhook_configs: [{url: https://hooks/SECRET}]' },
    });
  return json(200, { reached: path });
}

const htpasswdFile = writeHtpasswd(
  Object.entries(TENANT_USERS).map(([user, { password }]) => ({ user, password, flag: '-B' as const })),
);
const as = (user: TenantUser) => ({ authorization: basicAuth(user, TENANT_USERS[user].password) });

describe('Alertmanager tenancy (fake Alertmanager)', () => {
  const setup = useGatewayWithUpstream((upstream) => {
    const tenancy = createAlertmanagerTenancy({ logger: silentLogger, upstream: new URL(upstream.url) });
    upstream.handle(fakeAlertmanager);
    return {
      upstream: upstream.url,
      basePath: '/',
      preset: 'alertmanager',
      auth: { htpasswdFile },
      accessControl: {
        users: { alice: 'silencer', bob: 'silencer', carol: 'admin' },
        roles: {
          silencer: {
            allow: [
              { methods: ['GET', 'HEAD', 'OPTIONS'], paths: ['/**'] },
              { methods: ['POST', 'DELETE'], paths: ['/api/v2/silences', '/api/v2/silence/*', '/api/v2/alerts'] },
            ],
          },
        },
      },
      middleware: {
        beforeProxy: (req: Request, res: Response, next: NextFunction) => {
          const scope = USER_SCOPES[req.promgate?.user as TenantUser];
          if (scope) tenancy(req, res, next, scope);
          else next();
        },
      },
    };
  });
  const request = (
    user: TenantUser,
    path: string,
    options: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    setup.gateway.request(path, {
      method: options.method ?? 'GET',
      headers: {
        ...as(user),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  /** What reached the fake Alertmanager during `action`, besides the gateway's readiness polls. */
  const reaching = async (action: () => Promise<unknown>) => {
    const before = setup.upstream.requests.length;
    await action();
    return setup.upstream.requests.slice(before);
  };

  for (const user of ['alice', 'bob', 'carol'] as const) {
    test(`${user} gets exactly the alerts in scope`, async () => {
      const response = await request(user, '/api/v2/alerts?active=true');
      assert.equal(response.status, 200, response.text);
      const alerts = JSON.parse(response.text) as Array<{ labels: Labels }>;
      assert.deepEqual(
        alerts.map((alert) => alert.labels),
        ALERTS.filter((alert) => visibleTo(user, alert.labels)).map((alert) => alert.labels),
      );
      assert.ok(alerts.length > 0);
    });

    test(`${user} gets alert groups holding only alerts in scope, and no empty group`, async () => {
      const response = await request(user, '/api/v2/alerts/groups');
      assert.equal(response.status, 200, response.text);
      const groups = JSON.parse(response.text) as Array<{ labels: Labels; alerts: Array<{ labels: Labels }> }>;
      assert.ok(groups.length > 0);
      for (const group of groups) {
        assert.ok(group.alerts.length > 0, `empty group ${JSON.stringify(group.labels)}`);
        for (const alert of group.alerts) assert.ok(visibleTo(user, alert.labels), JSON.stringify(alert.labels));
      }
      const expectedGroups = { alice: ['a'], bob: ['b'], carol: ['a', 'b', 'c'] }[user];
      assert.deepEqual(
        groups.map((group) => group.labels.namespace),
        expectedGroups,
      );
    });

    test(`${user} lists exactly its own silences`, async () => {
      const response = await request(user, '/api/v2/silences');
      assert.equal(response.status, 200, response.text);
      assert.deepEqual(
        (JSON.parse(response.text) as Array<{ id: string }>).map((silence) => silence.id).sort(),
        OWN_SILENCES[user].sort(),
      );
    });
  }

  test('a silence without the tenant label gets the tenant matchers before it reaches Alertmanager', async () => {
    for (const [user, added] of [
      ['alice', [eq('namespace', 'a')]],
      ['bob', [{ name: 'namespace', value: 'b|shared', isRegex: true, isEqual: true }, eq('env', 'prod')]],
    ] as const) {
      const silence = {
        matchers: [eq('alertname', 'Backlog')],
        startsAt: 'x',
        endsAt: 'y',
        createdBy: user,
        comment: 'c',
      };
      const reached = await reaching(async () => {
        const response = await request(user, '/api/v2/silences', { method: 'POST', body: silence });
        assert.equal(response.status, 200, response.text);
      });
      assert.equal(reached.length, 1);
      const forwarded = JSON.parse(reached[0]!.body.toString()) as typeof silence;
      assert.deepEqual(forwarded, { ...silence, matchers: [...silence.matchers, ...added] });
      assert.equal(reached[0]!.headers['content-length'], String(reached[0]!.body.length));
    }
  });

  test("a silence on the tenant's own values is forwarded unchanged", async () => {
    const silence = { matchers: [eq('namespace', 'shared'), eq('env', 'prod')], startsAt: 'x', endsAt: 'y' };
    const reached = await reaching(() => request('bob', '/api/v2/silences', { method: 'POST', body: silence }));
    assert.deepEqual(JSON.parse(reached[0]!.body.toString()), silence);
  });

  for (const [user, matchers, status] of [
    ['alice', [eq('namespace', 'b')], 403],
    ['alice', [{ name: 'namespace', value: '.*', isRegex: true }], 403],
    ['alice', [{ name: 'namespace', value: 'a|b', isRegex: true }], 403],
    ['alice', [{ name: 'namespace', value: 'a', isRegex: false, isEqual: false }], 403],
    ['alice', [{ name: 'namespace', value: 'b', isRegex: false, isEqual: false }], 403],
    ['bob', [eq('namespace', 'b'), eq('env', 'dev')], 403],
    ['bob', [eq('namespace', 'b'), { name: 'env', value: 'prod|dev', isRegex: true }], 403],
    ['bob', [{ name: 'namespace', value: 'b|sha.*', isRegex: true }], 403],
    ['alice', [], 400],
  ] as const) {
    test(`refuses ${user} a silence with ${JSON.stringify(matchers)} (${status}), and Alertmanager never sees it`, async () => {
      const reached = await reaching(async () => {
        const response = await request(user, '/api/v2/silences', {
          method: 'POST',
          body: { matchers, startsAt: 'x', endsAt: 'y' },
        });
        assert.equal(response.status, status, response.text);
      });
      assert.deepEqual(
        reached.map((r) => `${r.method} ${r.url}`),
        [],
      );
    });
  }

  test("refuses updating another tenant's silence, after looking it up; forwards an update of one's own", async () => {
    const others = await reaching(async () => {
      const response = await request('alice', '/api/v2/silences', {
        method: 'POST',
        body: {
          id: '0b000000-0000-4000-8000-00000000000b',
          matchers: [eq('namespace', 'a')],
          startsAt: 'x',
          endsAt: 'y',
        },
      });
      assert.equal(response.status, 403, response.text);
    });
    assert.deepEqual(
      others.map((r) => r.method),
      ['GET'],
    );
    const own = await reaching(async () => {
      const response = await request('alice', '/api/v2/silences', {
        method: 'POST',
        body: {
          id: '0a000000-0000-4000-8000-00000000000a',
          matchers: [eq('namespace', 'a')],
          startsAt: 'x',
          endsAt: 'y',
        },
      });
      assert.equal(response.status, 200, response.text);
    });
    assert.deepEqual(
      own.map((r) => r.method),
      ['GET', 'POST'],
    );
  });

  for (const [user, id, status] of [
    ['alice', '0b000000-0000-4000-8000-00000000000b', 403],
    ['alice', '0d000000-0000-4000-8000-00000000000d', 403],
    ['alice', '0e000000-0000-4000-8000-00000000000e', 403],
    ['alice', '0f000000-0000-4000-8000-00000000000f', 403],
    ['bob', '1a000000-0000-4000-8000-00000000001a', 403],
    ['bob', '0a000000-0000-4000-8000-00000000000a', 403],
    ['alice', '0a000000-0000-4000-8000-00000000000a', 200],
    ['bob', '0c000000-0000-4000-8000-00000000000c', 200],
    ['alice', 'ffffffff-0000-4000-8000-000000000000', 404],
  ] as const) {
    test(`DELETE of silence ${id} as ${user}: ${status}`, async () => {
      const reached = await reaching(async () => {
        const response = await request(user, `/api/v2/silence/${id}`, { method: 'DELETE' });
        assert.equal(response.status, status, response.text);
      });
      const methods = reached.map((r) => r.method);
      assert.deepEqual(methods, status === 403 ? ['GET'] : ['GET', 'DELETE']);
    });
    test(`GET of silence ${id} as ${user}: ${status}`, async () => {
      const response = await request(user, `/api/v2/silence/${id}`);
      assert.equal(response.status, status, response.text);
    });
  }

  test('a silence id that is not a UUID never reaches the lookup', async () => {
    for (const id of ['%3Fx=1', 'abc%2Fdef', 'a%23b']) {
      const reached = await reaching(async () => {
        const response = await request('alice', `/api/v2/silence/${id}`, { method: 'DELETE' });
        assert.ok(response.status === 400 || response.status === 403, `${id}: ${response.status} ${response.text}`);
      });
      assert.deepEqual(reached, []);
    }
  });

  test('refuses a silence body larger than it reads, before Alertmanager', async () => {
    const reached = await reaching(async () => {
      const response = await request('alice', '/api/v2/silences', {
        method: 'POST',
        body: { matchers: [eq('alertname', 'x')], comment: 'x'.repeat(MAX_TENANT_BODY_BYTES) },
      });
      assert.equal(response.status, 413, response.text);
    });
    assert.deepEqual(reached, []);
  });

  test("refuses posting alerts with another tenant's labels; forwards the tenant's own", async () => {
    const foreign = await reaching(async () => {
      const response = await request('alice', '/api/v2/alerts', {
        method: 'POST',
        body: [{ labels: { alertname: 'X', namespace: 'a' } }, { labels: { alertname: 'X', namespace: 'b' } }],
      });
      assert.equal(response.status, 403, response.text);
    });
    assert.deepEqual(foreign, []);
    const own = await reaching(async () => {
      const response = await request('alice', '/api/v2/alerts', {
        method: 'POST',
        body: [{ labels: { alertname: 'X', namespace: 'a' } }],
      });
      assert.equal(response.status, 200, response.text);
    });
    assert.equal(own.length, 1);
  });

  test("the status answers without Alertmanager's configuration", async () => {
    const response = await request('alice', '/api/v2/status');
    assert.equal(response.status, 200, response.text);
    assert.doesNotMatch(response.text, /SECRET|webhook/);
    assert.deepEqual(JSON.parse(response.text).config, { original: '' });
    assert.match((await request('carol', '/api/v2/status')).text, /SECRET/);
  });

  for (const path of [
    '/api/v1/alerts',
    '/api/v1/silences',
    '/api/v1/alerts/groups',
    '/api/v2/receivers',
    '/api/v2/%72eceivers',
    '/API/v2/receivers',
    '/metrics',
    '/api/v2/alerts/groups/x',
    '/api/v2/silence/0a000000-0000-4000-8000-00000000000a/x',
    '/api/v3/alerts',
  ]) {
    test(`refuses ${path} to a tenant, before Alertmanager`, async () => {
      const reached = await reaching(async () => {
        const response = await request('alice', path);
        assert.equal(response.status, 403, response.text);
      });
      assert.deepEqual(reached, []);
    });
  }

  for (const path of [
    '/api/v2/%61lerts',
    '/api/v2/alerts/%67roups',
    '/api/v2/ALERTS',
    '/api/v2/alerts/',
    '/api/v2/silences;x',
  ]) {
    test(`an encoded path to the alerts or silences (${path}) gets no other tenant's data`, async () => {
      const response = await request('alice', path);
      if (response.status !== 200) return assert.ok(response.status >= 400, response.text);
      const body = JSON.parse(response.text) as unknown;
      assert.ok(Array.isArray(body), response.text);
      assert.doesNotMatch(response.text, /"namespace":"(b|shared|c)"|"value":"(b|shared|c)"|cluster/);
    });
  }
});

describe('silence matchers', () => {
  const team = { namespace: ['b', 'shared'], env: ['prod'] };
  test('a silence is in scope when every scoped label has a confining positive matcher', () => {
    assert.equal(silenceInScope([eq('namespace', 'b'), eq('env', 'prod')], team), true);
    assert.equal(
      silenceInScope([{ name: 'namespace', value: 'shared|b', isRegex: true }, eq('env', 'prod')], team),
      true,
    );
    assert.equal(silenceInScope([eq('namespace', 'b')], team), false);
    assert.equal(
      silenceInScope([eq('namespace', 'b'), { name: 'env', value: 'prod', isRegex: false, isEqual: false }], team),
      false,
    );
    assert.equal(
      silenceInScope([{ name: 'namespace', value: 'b|shared|', isRegex: true }, eq('env', 'prod')], team),
      false,
    );
    assert.equal(
      silenceInScope([{ name: 'namespace', value: 'b\\|shared', isRegex: true }, eq('env', 'prod')], team),
      false,
    );
  });
  test('regex-special values are matched only in their quoted form', () => {
    const scope = { namespace: ['a.b', 'c|d'] };
    assert.equal(silenceInScope([{ name: 'namespace', value: 'a\\.b|c\\|d', isRegex: true }], scope), true);
    assert.equal(silenceInScope([{ name: 'namespace', value: 'a.b', isRegex: true }], scope), false);
    assert.deepEqual(scopeSilenceMatchers([eq('alertname', 'x')], scope), [
      eq('alertname', 'x'),
      { name: 'namespace', value: 'a\\.b|c\\|d', isRegex: true, isEqual: true },
    ]);
  });
});
