// The test OpenID provider does what tests of the sign-in and the JWT methods rely on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as client from 'openid-client';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts';
import { SsoClient } from '../helpers/sso-client.ts';

const CALLBACK = 'https://127.0.0.1:1/callback';

describe('test OpenID provider', () => {
  let op: TestOidcProvider;
  let config: client.Configuration;
  before(async () => {
    op = await startOidcProvider({ redirectUris: [CALLBACK], postLogoutRedirectUris: [CALLBACK] });
    const ca = op.caPem;
    config = await client.discovery(new URL(op.issuer), op.client.clientId, op.client.clientSecret, undefined, {
      [client.customFetch]: (url, options) => fetchTrusting(ca, url, options as RequestInit),
    });
  });
  after(() => op.stop());

  it('signs a user in with the authorization code flow and PKCE, with groups and a refresh token', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid profile email groups',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const browser = new SsoClient([op.caPem]);
    browser.stopAt = CALLBACK;
    const wrong = await browser.submitForm(await browser.follow(url.href), { login: 'alice', password: 'nope' });
    assert.equal(wrong.status, 401);
    const back = await browser.submitForm(wrong, { login: 'alice', password: 'alice-password' });
    const location = new URL(back.headers.location ?? '', back.url);
    assert.ok(location.href.startsWith(CALLBACK), location.href);
    const tokens = await client.authorizationCodeGrant(config, location, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    const claims = tokens.claims();
    assert.equal(claims?.sub, 'alice');
    assert.deepEqual(claims?.groups, ['team-a', 'admins']);
    assert.equal(claims?.preferred_username, 'alice');
    assert.ok(tokens.refresh_token);
    op.users.get('alice')?.groups.push('late');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.deepEqual(refreshed.claims()?.groups, ['team-a', 'admins', 'late']);
    const end = client.buildEndSessionUrl(config, { post_logout_redirect_uri: CALLBACK });
    const confirm = await browser.follow(end.href);
    const done = await browser.submitForm(confirm);
    assert.ok((done.headers.location ?? '').startsWith(CALLBACK), done.headers.location);
  });

  it('issues JWT access tokens for a resource with the client credentials grant, and rotates its keys', async () => {
    const token = await op.clientCredentialsToken({
      resource: 'https://promgate.test',
      scope: 'metrics:read',
      claims: { groups: ['robots'] },
    });
    const claims = decodeJwt(token);
    assert.equal(claims.aud, 'https://promgate.test');
    assert.equal(claims.iss, op.issuer);
    assert.equal(claims.scope, 'metrics:read');
    assert.deepEqual(claims.groups, ['robots']);
    const [first] = op.kids();
    assert.equal(decodeProtectedHeader(token).kid, first);
    await op.rotateKeys();
    const [second, previous] = op.kids();
    assert.notEqual(second, first);
    assert.equal(previous, first);
    const rotated = await op.clientCredentialsToken({ resource: 'https://promgate.test' });
    assert.equal(decodeProtectedHeader(rotated).kid, second);
    const jwks = (await (await fetchTrusting(op.caPem, `${op.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    assert.deepEqual(
      jwks.keys.map((key) => key.kid),
      [second, first],
    );
    await op.rotateKeys({ retainPrevious: false });
    assert.equal(op.kids().length, 1);
  });
});

async function fetchTrusting(ca: string, url: string | URL, options?: RequestInit): Promise<Response> {
  const { Agent } = await import('undici');
  return fetch(url, { ...options, dispatcher: new Agent({ connect: { ca } }) } as RequestInit);
}
