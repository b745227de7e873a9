// JWT access tokens from a real OpenID provider (oidc-provider over HTTPS with a test CA): the
// gateway discovers the keys from the issuer alone, accepts a client-credentials token issued for
// its resource indicator, maps the token's groups to a role, and accepts tokens signed with a key
// the provider rotated to while the gateway ran.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { useGatewayWithUpstream } from '../helpers/gateway.ts';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts';
import { waitFor } from '../helpers/wait.ts';

const RESOURCE = 'https://prometheus.example.test/';
const QUERY = '/prometheus/api/v1/query?query=up';
/** Admin-only under the prometheus preset: a viewer gets 403. */
const SNAPSHOT = '/prometheus/api/v1/admin/tsdb/snapshot';

describe('JWT access tokens from an OpenID provider', () => {
  let op: TestOidcProvider;
  before(async () => {
    // The provider registers a client only with a redirect URI, though client credentials use none.
    op = await startOidcProvider({ redirectUris: ['https://127.0.0.1:1/callback'] });
  });
  after(() => op?.stop());
  const started = useGatewayWithUpstream((upstream) => ({
    upstream: { url: upstream.url, identityHeaders: {} },
    auth: { jwt: { issuer: op.issuer, audience: RESOURCE, caFile: op.caFile } },
    accessControl: { groups: { sre: 'admin' } },
  }));
  const call = (path: string, token: string, method = 'GET') =>
    started.gateway.request(path, { method, headers: { authorization: `Bearer ${token}` } });

  it('accepts a client-credentials access token for its resource, keys discovered from the issuer', async () => {
    const token = await op.clientCredentialsToken({ resource: RESOURCE });
    const response = await call(QUERY, token);
    assert.equal(response.status, 200, response.text);
    const forwarded = started.upstream.requests.at(-1)!;
    assert.equal(forwarded.headers['x-forwarded-user'], op.client.clientId);
    assert.equal(forwarded.headers.authorization, undefined, 'the token is not forwarded');
  });

  it('refuses a token the provider issued for another resource', async () => {
    const token = await op.clientCredentialsToken({ resource: 'https://other.example.test/' });
    const response = await call(QUERY, token);
    assert.equal(response.status, 401);
    assert.match(String(response.headers['www-authenticate']), /Bearer realm="promgate"/);
  });

  it("maps the token's groups to roles (accessControl.groups)", async () => {
    const viewer = await op.clientCredentialsToken({ resource: RESOURCE, claims: { groups: ['dev'] } });
    assert.equal((await call(SNAPSHOT, viewer, 'POST')).status, 403);
    const sre = await op.clientCredentialsToken({ resource: RESOURCE, claims: { groups: ['dev', 'sre'] } });
    const response = await call(SNAPSHOT, sre, 'POST');
    assert.equal(response.status, 200, response.text);
    assert.equal(started.upstream.requests.at(-1)!.headers['x-forwarded-groups'], 'dev,sre');
  });

  it('accepts tokens signed with a rotated key without a restart', async () => {
    const before = await op.clientCredentialsToken({ resource: RESOURCE });
    assert.equal((await call(QUERY, before)).status, 200);
    await op.rotateKeys();
    const after = await op.clientCredentialsToken({ resource: RESOURCE });
    assert.notEqual(decodeProtectedHeader(after).kid, decodeProtectedHeader(before).kid, 'signed with the new key');
    // An unknown kid refetches the key set once the cooldown since the last fetch is over.
    await waitFor(async () => (await call(QUERY, after)).status === 200, {
      timeoutMs: 15_000,
      intervalMs: 500,
      message: 'a token of the rotated key to be accepted',
    });
    assert.equal((await call(QUERY, before)).status, 200, 'the previous key is still published');
  });
});
