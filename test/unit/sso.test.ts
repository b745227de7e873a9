// The sign-in's building blocks: sealed cookies, the secret files, the return path, and promgate's
// cookies kept from the upstream.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSsoAuthenticator } from '../../middleware/sso/index.ts';
import { safeReturnPath } from '../../middleware/sso/return-path.ts';
import type { ProviderConnection } from '../../middleware/sso/provider.ts';
import { createCookieSeal, readCookieSecrets, readSecretFile } from '../../middleware/sso/seal.ts';
import { createSessionCookies } from '../../middleware/sso/session.ts';
import { ConfigError } from '../../src/kernel/errors.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { readCookies, withoutGatewayCookies } from '../../src/kernel/gateway-cookies.ts';

const SECRET = 'a'.repeat(32);
const OTHER = 'b'.repeat(32);
const AUDIENCE = 'https://prometheus.example';
const inAnHour = () => Date.now() + 3_600_000;

function secretFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'promgate-sso-')), 'secret');
  writeFileSync(file, text);
  return file;
}

describe('sealed cookies', () => {
  it('open what they sealed, and nothing sealed for another purpose, route or secret', async () => {
    const seal = createCookieSeal([SECRET], 'session', AUDIENCE);
    const value = await seal.seal({ u: 'alice', g: ['team-a'] }, inAnHour());
    assert.deepEqual((await seal.open(value))?.g, ['team-a']);
    assert.equal(await createCookieSeal([SECRET], 'login', AUDIENCE).open(value), undefined);
    assert.equal(await createCookieSeal([SECRET], 'session', 'https://other.example').open(value), undefined);
    assert.equal(await createCookieSeal([OTHER], 'session', AUDIENCE).open(value), undefined);
  });

  it('cannot be read: the user is not in the cookie in clear text', async () => {
    const value = await createCookieSeal([SECRET], 'session', AUDIENCE).seal({ u: 'alice' }, inAnHour());
    for (const part of value.split('.'))
      assert.doesNotMatch(Buffer.from(part, 'base64url').toString('latin1'), /alice/);
  });

  it('refuse an expired cookie', async () => {
    const seal = createCookieSeal([SECRET], 'session', AUDIENCE);
    assert.equal(await seal.open(await seal.seal({ u: 'alice' }, Date.now() - 60_000)), undefined);
  });

  it('refuse a cookie with any part changed', async () => {
    const seal = createCookieSeal([SECRET], 'session', AUDIENCE);
    const parts = (await seal.seal({ u: 'alice' }, inAnHour())).split('.');
    assert.equal(parts.length, 5);
    for (let index = 0; index < parts.length; index++) {
      const changed = [...parts];
      const part = changed[index] ?? '';
      changed[index] = part === '' ? 'AAAA' : `${part[0] === 'A' ? 'B' : 'A'}${part.slice(1)}`;
      assert.equal(await seal.open(changed.join('.')), undefined, `part ${index}`);
    }
  });

  it('open with every secret of the file and seal with the first (rotation)', async () => {
    const old = await createCookieSeal([OTHER], 'session', AUDIENCE).seal({ u: 'alice' }, inAnHour());
    const rotated = createCookieSeal([SECRET, OTHER], 'session', AUDIENCE);
    assert.equal((await rotated.open(old))?.u, 'alice');
    const fresh = await rotated.seal({ u: 'bob' }, inAnHour());
    assert.equal((await createCookieSeal([SECRET], 'session', AUDIENCE).open(fresh))?.u, 'bob');
  });
});

describe('secret files', () => {
  it('read one secret per line', () => {
    assert.deepEqual(readCookieSecrets(secretFile(`${SECRET}\n\n${OTHER}\n`), 'k'), [SECRET, OTHER]);
    assert.equal(readSecretFile(secretFile(' s3cret \n'), 'k'), 's3cret');
  });

  it('refuse a short, an empty or a missing file, naming the key and the file', () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['short', () => readCookieSecrets(secretFile('short\n'), 'auth.oidc.cookieSecretFile'), /line 1: .*32/],
      ['empty', () => readCookieSecrets(secretFile('\n'), 'auth.oidc.cookieSecretFile'), /holds no secret/],
      ['missing', () => readCookieSecrets('/nonexistent/secret', 'auth.oidc.cookieSecretFile'), /ENOENT/],
      ['empty client secret', () => readSecretFile(secretFile(''), 'auth.oidc.clientSecretFile'), /is empty/],
    ];
    for (const [name, read, message] of cases) {
      assert.throws(
        read,
        (error: unknown) =>
          error instanceof ConfigError && /auth\.oidc\./.test(error.message) && message.test(error.message),
        name,
      );
    }
  });
});

describe('return path after sign-in', () => {
  const kept = ['/', '/graph', '/graph?g0.expr=rate(up%5B5m%5D)&g0.tab=0', '/alerts?search=a\\b', '/a/b.c/d', '/-/x'];
  for (const path of kept) it(`keeps ${path}`, () => assert.equal(safeReturnPath(path), path));

  const refused = [
    '//evil.example',
    '//evil.example/graph',
    '/\\evil.example',
    '/\\/evil.example',
    'https://evil.example',
    'evil.example',
    '',
    '/%2F%2Fevil.example',
    '/%2f/evil.example',
    '/%5Cevil.example',
    '/../evil',
    '/graph/../../evil',
    '/%2e%2e/evil',
    '/.%2E/evil',
    '/./graph',
    '/graph\tx',
    '/graph x',
    '/gr\r\naph',
    '/graph?x=\r\nSet-Cookie:a=b',
    '/grüße',
  ];
  for (const path of refused)
    it(`refuses ${JSON.stringify(path)} (back to the base path)`, () => assert.equal(safeReturnPath(path), '/'));
});

describe("promgate's cookies", () => {
  it('are taken out of the Cookie header sent upstream, every other cookie stays', () => {
    const cases: [string, string | undefined][] = [
      ['a=1; b=2', 'a=1; b=2'],
      ['promgate_session=x', undefined],
      ['a=1; promgate_session=x; b=2', 'a=1; b=2'],
      ['promgate_login=y;a=1', 'a=1'],
      ['a=promgate_session', 'a=promgate_session'],
    ];
    for (const [header, expected] of cases) assert.equal(withoutGatewayCookies(header), expected, header);
  });

  it('are read by name, every value of a repeated name kept in order', () => {
    const cookies = readCookies('promgate_session=one; x=1; promgate_session=two');
    assert.deepEqual(cookies.get('promgate_session'), ['one', 'two']);
    assert.deepEqual(readCookies(undefined).size, 0);
  });
});

describe('the sign-in settings', () => {
  const settings = (externalUrl: string, basePath: string) => ({
    issuer: 'https://idp.example',
    clientId: 'promgate',
    clientSecretFile: secretFile('client-secret\n'),
    cookieSecretFile: secretFile(`${SECRET}\n`),
    externalUrl,
    basePath,
    scopes: ['openid'],
    userClaim: 'preferred_username',
    groupsClaim: 'groups',
    sessionLifetimeMs: 3_600_000,
    realm: 'promgate',
    logger: silentLogger,
  });

  it("refuse an external URL that is not the route's base path (the answer would go to another route)", () => {
    for (const [externalUrl, basePath] of [
      ['https://prometheus.example', '/prometheus'],
      ['https://prometheus.example/alertmanager', '/prometheus'],
      ['https://prometheus.example/prometheus', '/'],
    ] as const) {
      assert.throws(
        () => createSsoAuthenticator(settings(externalUrl, basePath)),
        (error: unknown) =>
          error instanceof ConfigError && error.key === 'auth.oidc.externalUrl' && error.message.includes(basePath),
        `${externalUrl} under ${basePath}`,
      );
    }
  });

  it('accept the base path with or without a trailing slash, and the root', () => {
    for (const [externalUrl, basePath] of [
      ['https://prometheus.example/prometheus', '/prometheus'],
      ['https://prometheus.example/prometheus/', '/prometheus/'],
      ['https://prometheus.example', '/'],
      ['https://prometheus.example/', '/'],
    ] as const) {
      createSsoAuthenticator(settings(externalUrl, basePath)).close();
    }
  });
});

describe('session cookies', () => {
  const seal = createCookieSeal([SECRET], 'promgate sso session', AUDIENCE);
  const sessions = createSessionCookies({
    seal,
    path: '/prometheus',
    provider: {} as ProviderConnection, // a sign-in asks the provider nothing more
    userClaim: 'preferred_username',
    groupsClaim: 'groups',
    keptClaims: ['tenant'],
    lifetimeMs: 3_600_000,
    logger: silentLogger,
  });
  const claims = (groups: number) => ({
    iss: 'https://idp.example',
    sub: 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
    preferred_username: 'alice',
    groups: Array.from({ length: groups }, (_, index) => `00000000-0000-0000-0000-${String(index).padStart(12, '0')}`),
    tenant: 'research',
    exp: Math.floor(Date.now() / 1000) + 300,
    unrelated: 'x'.repeat(500),
  });
  const opened = async (started: Awaited<ReturnType<typeof sessions.start>>) => {
    assert.ok(typeof started !== 'string', String(started));
    const value = /^promgate_session=([^;]+);/.exec(started.setCookie)?.[1] ?? '';
    return seal.open(value);
  };

  it('keep the user, groups, standard and named claims, and the refresh token, nothing else', async () => {
    const session = await opened(await sessions.start(claims(3), 'refresh-token'));
    assert.equal(session?.u, 'alice');
    assert.equal((session?.g as string[] | undefined)?.length, 3);
    assert.deepEqual(Object.keys(session?.c ?? {}).sort(), ['iss', 'preferred_username', 'sub', 'tenant']);
    assert.equal(session?.rt, 'refresh-token');
  });

  it('drop a refresh token too large for the cookie rather than the sign-in', async () => {
    const session = await opened(await sessions.start(claims(30), 'r'.repeat(2500)));
    assert.equal(session?.u, 'alice');
    assert.equal(session?.rt, undefined);
    assert.equal(session?.ra, undefined, 'not renewed: it has nothing to renew with');
  });

  it('refuse a sign-in whose groups alone pass 4 KB, saying why', async () => {
    const refused = await sessions.start(claims(120), undefined);
    assert.equal(typeof refused, 'string');
    assert.match(String(refused), /too many groups \(120\)/);
  });
});
