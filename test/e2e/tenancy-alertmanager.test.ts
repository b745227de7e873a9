// Tenancy in front of a real Alertmanager (Debian's 0.25): alerts of several namespaces are posted
// to Alertmanager directly, silences made there directly, and each user looks through the
// gateway: alice (team-a) and bob (team-b) see and change only their own alerts and silences,
// carol (admin) everything. What Alertmanager holds afterwards is checked on Alertmanager itself.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ALERTMANAGER_BINARY, startAlertmanager, type TestAlertmanager } from '../helpers/components.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { authorizationOf, TENANT_ROLES, tenantGatewayOptions, type TenantUser, visibleTo } from '../helpers/tenants.ts';
import { waitFor } from '../helpers/wait.ts';

type Labels = Record<string, string>;
type Matcher = { name: string; value: string; isRegex: boolean; isEqual?: boolean };
interface Silence {
  id: string;
  matchers: Matcher[];
  status: { state: string };
  comment: string;
}

const BASE_PATH = '/alertmanager';
const ALERT_LABELS: Labels[] = (
  [
    { namespace: 'a', env: 'prod' },
    { namespace: 'a', env: 'dev' },
    { namespace: 'b', env: 'prod' },
    { namespace: 'b', env: 'dev' },
    { namespace: 'shared', env: 'prod' },
    { namespace: 'c', env: 'prod' },
    { cluster: 'eu' },
  ] as Labels[]
).map((labels) => ({ alertname: 'Backlog', ...labels }));
const eq = (name: string, value: string): Matcher => ({ name, value, isRegex: false, isEqual: true });
const pairs = (sets: Labels[]) => sets.map((labels) => `${labels.namespace ?? '-'}/${labels.env ?? '-'}`).sort();

/** Tenant roles that may also create and expire silences (the built-in viewer may not). */
const SILENCER = {
  allow: [
    { methods: ['GET', 'HEAD', 'OPTIONS'], paths: ['/**'] },
    { methods: ['POST', 'DELETE'], paths: ['/api/v2/silences', '/api/v2/silence/*'] },
  ],
};

describe('tenancy in front of a real Alertmanager', { skip: requireCommands(ALERTMANAGER_BINARY, 'htpasswd') }, () => {
  let alertmanager: TestAlertmanager;
  let gateway: TestGateway;
  /** Silence ids made directly on Alertmanager, by whose they are. */
  const made: Record<string, string> = {};

  const direct = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`${alertmanager.url}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json' },
    });
    const text = await response.text();
    assert.ok(response.ok, `Alertmanager ${path}: ${response.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
  const makeSilence = async (matchers: Matcher[], comment: string) => {
    const now = Date.now();
    const { silenceID } = await direct<{ silenceID: string }>('/api/v2/silences', {
      method: 'POST',
      body: JSON.stringify({
        matchers,
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + 3_600_000).toISOString(),
        createdBy: 'test',
        comment,
      }),
    });
    return silenceID;
  };
  const request = (user: TenantUser, path: string, options: { method?: string; body?: unknown } = {}) =>
    gateway.request(`${BASE_PATH}${path}`, {
      method: options.method ?? 'GET',
      headers: {
        ...authorizationOf(user),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  const json = async <T>(user: TenantUser, path: string): Promise<T> => {
    const response = await request(user, path);
    assert.equal(response.status, 200, `${user} ${path}: ${response.text}`);
    return JSON.parse(response.text) as T;
  };
  const silenceOnAlertmanager = (id: string) => direct<Silence>(`/api/v2/silence/${id}`);

  before(async () => {
    const port = await freePort();
    const options = tenantGatewayOptions();
    gateway = await startTestGateway({
      ...options,
      accessControl: {
        ...options.accessControl,
        roles: {
          'team-a': { ...structuredClone(TENANT_ROLES['team-a']), ...SILENCER },
          'team-b': { ...structuredClone(TENANT_ROLES['team-b']), ...SILENCER },
        },
      } as unknown as NonNullable<typeof options.accessControl>,
      basePath: BASE_PATH,
      preset: 'alertmanager',
      upstream: `http://127.0.0.1:${port}`,
    });
    alertmanager = await startAlertmanager({ port, externalUrl: `${gateway.origin}${BASE_PATH}` });
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    await direct('/api/v2/alerts', {
      method: 'POST',
      body: JSON.stringify(ALERT_LABELS.map((labels) => ({ labels, annotations: { summary: 'backlog' }, endsAt }))),
    });
    made.a = await makeSilence([eq('namespace', 'a'), eq('alertname', 'Backlog')], 'team a');
    made.b = await makeSilence([eq('namespace', 'b'), eq('env', 'prod')], 'team b');
    made.bDev = await makeSilence([eq('namespace', 'b'), eq('env', 'dev')], 'team b in dev');
    made.c = await makeSilence([eq('namespace', 'c')], 'team c');
    made.all = await makeSilence([{ name: 'namespace', value: '.+', isRegex: true, isEqual: true }], 'everyone');
    await waitFor(async () => (await direct<unknown[]>('/api/v2/alerts/groups')).length > 0, {
      message: 'Alertmanager to group the posted alerts',
    });
  });

  after(async () => {
    await Promise.allSettled([gateway?.close(), alertmanager?.stop()]);
    if (gateway) rmSync(gateway.cert.dir, { recursive: true, force: true });
  });

  for (const user of ['alice', 'bob', 'carol'] as const) {
    test(`${user} gets exactly the alerts in scope`, async () => {
      const alerts = await json<Array<{ labels: Labels }>>(user, '/api/v2/alerts');
      assert.deepEqual(
        pairs(alerts.map((alert) => alert.labels)),
        pairs(ALERT_LABELS.filter((labels) => visibleTo(user, labels))),
      );
    });

    test(`${user} gets alert groups with only the alerts in scope`, async () => {
      const groups = await json<Array<{ alerts: Array<{ labels: Labels }> }>>(user, '/api/v2/alerts/groups');
      assert.ok(groups.every((group) => group.alerts.length > 0));
      assert.deepEqual(
        pairs(groups.flatMap((group) => group.alerts.map((alert) => alert.labels))),
        pairs(ALERT_LABELS.filter((labels) => visibleTo(user, labels))),
      );
    });

    test(`${user} lists only its own silences`, async () => {
      const silences = await json<Silence[]>(user, '/api/v2/silences');
      const own = { alice: [made.a], bob: [made.b], carol: Object.values(made) }[user];
      assert.deepEqual(
        silences
          .filter((silence) => Object.values(made).includes(silence.id))
          .map((silence) => silence.id)
          .sort(),
        [...own].sort(),
      );
    });
  }

  test("alice's new silence gets her namespace matcher on Alertmanager itself", async () => {
    const now = Date.now();
    const response = await request('alice', '/api/v2/silences', {
      method: 'POST',
      body: {
        matchers: [eq('alertname', 'Backlog')],
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + 600_000).toISOString(),
        createdBy: 'alice',
        comment: 'maintenance',
      },
    });
    assert.equal(response.status, 200, response.text);
    const { silenceID } = JSON.parse(response.text) as { silenceID: string };
    const stored = await silenceOnAlertmanager(silenceID);
    assert.deepEqual(
      stored.matchers.map((matcher) => ({ ...matcher, isEqual: matcher.isEqual ?? true })),
      [eq('alertname', 'Backlog'), eq('namespace', 'a')],
    );
    // And it silences only her alerts.
    await waitFor(async () => {
      const alerts = await direct<Array<{ labels: Labels; status: { silencedBy: string[] } }>>('/api/v2/alerts');
      return alerts.every((alert) => alert.status.silencedBy.includes(silenceID) === (alert.labels.namespace === 'a'));
    });
  });

  test("bob's new silence gets both of his namespaces and his env", async () => {
    const now = Date.now();
    const response = await request('bob', '/api/v2/silences', {
      method: 'POST',
      body: {
        matchers: [eq('alertname', 'Backlog')],
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + 600_000).toISOString(),
        createdBy: 'bob',
        comment: 'maintenance',
      },
    });
    assert.equal(response.status, 200, response.text);
    const stored = await silenceOnAlertmanager((JSON.parse(response.text) as { silenceID: string }).silenceID);
    assert.deepEqual(
      stored.matchers.map((matcher) => `${matcher.name}${matcher.isRegex ? '=~' : '='}${matcher.value}`).sort(),
      ['alertname=Backlog', 'env=prod', 'namespace=~b|shared'],
    );
  });

  test("bob may not silence alice's namespace, nor every namespace; Alertmanager gets no silence", async () => {
    const before = (await direct<Silence[]>('/api/v2/silences')).length;
    for (const matchers of [
      [eq('namespace', 'a')],
      [{ name: 'namespace', value: '.+', isRegex: true }],
      [eq('namespace', 'b'), eq('env', 'dev')],
    ]) {
      const response = await request('bob', '/api/v2/silences', {
        method: 'POST',
        body: { matchers, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 60_000).toISOString() },
      });
      assert.equal(response.status, 403, response.text);
    }
    assert.equal((await direct<Silence[]>('/api/v2/silences')).length, before);
  });

  test("alice may neither expire nor update bob's silence; it stays active", async () => {
    const expire = await request('alice', `/api/v2/silence/${made.b}`, { method: 'DELETE' });
    assert.equal(expire.status, 403, expire.text);
    const update = await request('alice', '/api/v2/silences', {
      method: 'POST',
      body: {
        id: made.b,
        matchers: [eq('namespace', 'a')],
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + 60_000).toISOString(),
      },
    });
    assert.equal(update.status, 403, update.text);
    const read = await request('alice', `/api/v2/silence/${made.b}`);
    assert.equal(read.status, 403, read.text);
    const stored = await silenceOnAlertmanager(made.b!);
    assert.equal(stored.status.state, 'active');
    assert.equal(stored.comment, 'team b');
  });

  test('bob expires his own silence', async () => {
    const response = await request('bob', `/api/v2/silence/${made.b}`, { method: 'DELETE' });
    assert.equal(response.status, 200, response.text);
    assert.equal((await silenceOnAlertmanager(made.b!)).status.state, 'expired');
  });

  test("the status answers a tenant without Alertmanager's configuration", async () => {
    const status = await json<{ config: { original: string }; versionInfo: unknown }>('alice', '/api/v2/status');
    assert.equal(status.config.original, '');
    assert.ok(status.versionInfo);
    const full = await json<{ config: { original: string } }>('carol', '/api/v2/status');
    assert.match(full.config.original, new RegExp(alertmanager.receiver));
  });

  for (const path of ['/api/v1/alerts', '/api/v1/silences', '/api/v2/receivers', '/metrics', '/api/v2/%72eceivers']) {
    test(`${path} is refused to tenants and served to the admin`, async () => {
      for (const user of ['alice', 'bob'] as const) {
        const response = await request(user, path);
        assert.equal(response.status, 403, `${user}: ${response.text}`);
      }
      if (!path.includes('%')) assert.equal((await request('carol', path)).status, 200);
    });
  }

  test('amtool as alice: her silence gets her namespace, her alert query shows only her alerts', {
    skip: requireCommands('amtool'),
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promgate-amtool-'));
    try {
      const httpConfig = join(dir, 'http.yml');
      writeFileSync(
        httpConfig,
        `basic_auth: {username: alice, password: alice-pw}\ntls_config: {ca_file: ${JSON.stringify(gateway.cert.certFile)}}\n`,
      );
      const amtool = async (...args: string[]) =>
        (
          await promisify(execFile)('amtool', [
            `--alertmanager.url=${gateway.origin}${BASE_PATH}`,
            `--http.config.file=${httpConfig}`,
            ...args,
          ])
        ).stdout;
      const id = (await amtool('silence', 'add', 'alertname=Backlog', '--comment=deploy', '--duration=1h')).trim();
      const stored = await silenceOnAlertmanager(id);
      assert.deepEqual(stored.matchers.map((matcher) => `${matcher.name}=${matcher.value}`).sort(), [
        'alertname=Backlog',
        'namespace=a',
      ]);
      const alerts = JSON.parse(await amtool('alert', 'query', '--active', '--silenced', '--output=json')) as Array<{
        labels: Labels;
      }>;
      assert.deepEqual(
        pairs(alerts.map((alert) => alert.labels)),
        pairs(ALERT_LABELS.filter((labels) => visibleTo('alice', labels))),
      );
      const refused = await amtool('silence', 'add', 'namespace=b', '--comment=not mine').then(
        () => 'accepted',
        (error: { stderr?: string }) => error.stderr ?? String(error),
      );
      assert.match(refused, /403|forbidden|beyond your tenant/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the root page loads for a tenant (Debian's Alertmanager serves a note in place of the web UI)", async () => {
    const response = await request('alice', '/');
    assert.equal(response.status, 200, response.text);
    assert.match(response.text, /Alertmanager/);
  });
});
