// The JWT authenticator's parts: claims to identity, the checked-token cache, which Bearer tokens
// it takes, and that a repeated token is answered from memory (synchronously) until it expires.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/kernel/errors.ts';
import { silentLogger } from '../../src/kernel/logger.ts';
import { isRefusal, type Identity } from '../../src/kernel/request-state.ts';
import { claimAt, groupsIn, identityOf } from '../../middleware/jwt/claims.ts';
import { createJwtAuthenticator, ProviderUnavailableError, type JwtAuthenticator } from '../../middleware/jwt/index.ts';
import { VerifiedTokens } from '../../middleware/jwt/verified-tokens.ts';
import { basicAuth } from '../helpers/client.ts';
import { waitFor } from '../helpers/wait.ts';
import { startJwtProvider, TEST_AUDIENCE, type TestJwtProvider } from '../helpers/jwks.ts';

const request = (authorization: string, socket: object = {}) =>
  ({ headers: { authorization }, socket }) as unknown as IncomingMessage;

describe('JWT claims', () => {
  it('reads a claim by its exact name first, then by a dotted path', () => {
    const claims = { 'https://example.com/groups': ['a'], realm_access: { roles: ['ops'] }, sub: 'x' };
    assert.deepEqual(claimAt(claims, 'https://example.com/groups'), ['a']);
    assert.deepEqual(claimAt(claims, 'realm_access.roles'), ['ops']);
    assert.equal(claimAt(claims, 'realm_access.missing'), undefined);
    assert.equal(claimAt(claims, 'sub.length'), undefined, 'no walking into strings');
    assert.equal(claimAt({ list: [{ x: 1 }] }, 'list.0.x'), undefined, 'no walking into lists');
  });

  it('takes groups as a list of strings or a space-separated string', () => {
    assert.deepEqual(groupsIn(['a', 'b']), ['a', 'b']);
    assert.deepEqual(groupsIn('read  write'), ['read', 'write']);
    assert.deepEqual(groupsIn(['a', 1, null, { b: 2 }]), ['a']);
    assert.deepEqual(groupsIn(undefined), []);
    assert.deepEqual(groupsIn({ a: true }), []);
  });

  it('names the user from the user claim, or refuses a token without one', () => {
    const identity = identityOf({ preferred_username: 'alice', groups: 'x y' }, 'preferred_username', 'groups');
    assert.ok(!isRefusal(identity));
    assert.equal(identity.user, 'alice');
    assert.deepEqual(identity.groups, ['x', 'y']);
    assert.equal(identity.method, 'jwt');
    assert.deepEqual(identityOf({ uid: 42 }, 'uid', 'groups'), { refused: 'missing_user_claim' });
    assert.deepEqual(identityOf({ sub: '' }, 'sub', 'groups'), { refused: 'missing_user_claim' });
  });
});

describe('checked-token cache', () => {
  const identity: Identity = { user: 'u', groups: [], method: 'jwt' };
  it('forgets the least recently used entry beyond its capacity', () => {
    const cache = new VerifiedTokens(2);
    cache.set('a', { identity, until: 100 });
    cache.set('b', { identity, until: 100 });
    cache.get('a', 0);
    cache.set('c', { identity, until: 100 });
    assert.ok(cache.get('a', 0));
    assert.equal(cache.get('b', 0), undefined);
    assert.ok(cache.get('c', 0));
    assert.equal(cache.size, 2);
  });

  it('never returns an entry past its time', () => {
    const cache = new VerifiedTokens(2);
    cache.set('a', { identity, until: 100 });
    assert.ok(cache.get('a', 99));
    assert.equal(cache.get('a', 100), undefined);
    assert.equal(cache.size, 0);
  });
});

describe('JWT authenticator', () => {
  let provider: TestJwtProvider;
  const made: JwtAuthenticator[] = [];
  const authenticator = (overrides: Partial<Parameters<typeof createJwtAuthenticator>[0]> = {}) => {
    const built = createJwtAuthenticator({
      issuer: provider.issuer,
      jwksUrl: provider.jwksUrl,
      audience: TEST_AUDIENCE,
      algorithms: ['ES256'],
      userClaim: 'sub',
      groupsClaim: 'groups',
      clockSkewMs: 30_000,
      caFile: provider.caFile,
      realm: 'promgate',
      takesApiTokenPrefix: false,
      logger: silentLogger,
      ...overrides,
    });
    made.push(built);
    return built;
  };
  before(async () => {
    provider = await startJwtProvider();
  });
  after(async () => {
    for (const each of made) each.close();
    await provider.close();
  });

  it('presents for Bearer tokens, and for promgate_ ones only without an API token method', () => {
    const jwt = authenticator();
    assert.equal(jwt.presents(request('Bearer eyJ.a.b')), true);
    assert.equal(jwt.presents(request('bearer eyJ.a.b')), true);
    assert.equal(jwt.presents(request('Bearer ')), true, 'an empty Bearer is refused, not anonymous');
    assert.equal(jwt.presents(request('Bearer promgate_abc')), false);
    assert.equal(jwt.presents(request(basicAuth('a', 'b'))), false);
    assert.equal(authenticator({ takesApiTokenPrefix: true }).presents(request('Bearer promgate_abc')), true);
    assert.equal(jwt.challenge, 'Bearer realm="promgate"');
  });

  it('answers a repeated token from memory, on its connection and on another, until it expires', async () => {
    const jwt = authenticator();
    const token = await provider.sign({ groups: ['sre'], exp: Math.floor(Date.now() / 1000) + 2 });
    const socket = {};
    const first = jwt.authenticate(request(`Bearer ${token}`, socket));
    assert.ok(first instanceof Promise, 'the first sight is checked');
    const identity = await first;
    assert.ok(!isRefusal(identity));
    assert.deepEqual(identity.groups, ['sre']);
    const again = jwt.authenticate(request(`Bearer ${token}`, socket));
    assert.equal(again, identity, 'same connection: the memo');
    const elsewhere = jwt.authenticate(request(`Bearer ${token}`, {}));
    assert.equal(elsewhere, identity, 'another connection: the cache');
    // exp is whole seconds: wait until it has passed, without the clock skew (the cache is strict).
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, (identity.claims!.exp as number) * 1000 - Date.now())),
    );
    const later = jwt.authenticate(request(`Bearer ${token}`, socket));
    assert.ok(later instanceof Promise, 'checked again once expired');
    assert.ok(!isRefusal(await later), 'still within the clock skew');
  });

  it('checks a refused token again every time (refusals are not remembered)', async () => {
    const jwt = authenticator();
    const token = await provider.sign({ aud: 'other' });
    const socket = {};
    assert.deepEqual(await jwt.authenticate(request(`Bearer ${token}`, socket)), { refused: 'wrong_audience' });
    assert.ok(jwt.authenticate(request(`Bearer ${token}`, socket)) instanceof Promise);
  });

  it('keeps trusting the keys it has when a background refresh fails', async () => {
    const errors: string[] = [];
    const jwt = authenticator({
      keySetRefreshMs: 50,
      logger: { ...silentLogger, error: (_fields, message) => errors.push(message) },
    });
    jwt.start();
    assert.ok(!isRefusal(await jwt.authenticate(request(`Bearer ${await provider.sign()}`))));
    provider.down = true;
    try {
      await waitFor(() => errors.includes('cannot get the JWT signing keys'), { message: 'a failed refresh' });
      const fresh = await provider.sign({ sub: 'not-seen-before' });
      const identity = await jwt.authenticate(request(`Bearer ${fresh}`));
      assert.ok(!isRefusal(identity), JSON.stringify(identity));
      assert.equal(identity.user, 'not-seen-before');
    } finally {
      provider.down = false;
    }
  });

  it('refuses to build with a CA file it cannot read or that holds no certificate', () => {
    const missing = join(tmpdir(), 'promgate-no-such-ca.pem');
    assert.throws(
      () => authenticator({ caFile: missing }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.key, 'auth.jwt.caFile');
        assert.equal(error.origin, missing);
        return true;
      },
    );
    const notPem = join(mkdtempSync(join(tmpdir(), 'promgate-jwt-')), 'ca.pem');
    writeFileSync(notPem, 'hello');
    assert.throws(() => authenticator({ caFile: notPem }), /auth\.jwt\.caFile: holds no PEM certificate/);
  });

  it('trusts no discovery document that names another issuer (503, the provider is at fault)', async () => {
    const jwt = authenticator({ issuer: `${provider.issuer}/`, jwksUrl: undefined });
    const token = await provider.sign({ iss: `${provider.issuer}/` });
    await assert.rejects(Promise.resolve(jwt.authenticate(request(`Bearer ${token}`))), (error: unknown) => {
      assert.ok(error instanceof ProviderUnavailableError);
      assert.equal(error.status, 503);
      assert.match(error.message, /names issuer/);
      return true;
    });
  });

  it('shares one check among concurrent requests with the same token', async () => {
    const jwt = authenticator();
    const token = await provider.sign();
    const results = [1, 2, 3].map(() => jwt.authenticate(request(`Bearer ${token}`)));
    assert.ok(results.every((result) => result instanceof Promise));
    const [a, b, c] = await Promise.all(results);
    assert.equal(a, b);
    assert.equal(b, c);
  });
});
