// Every login method on one route, against a real OpenID provider: basic auth, an API token, a
// JWT access token and a sign-in session each log in as themselves, their users and groups map to
// roles, the upstream learns who asked through the identity headers, and each method's wrong
// credentials are refused by that method, never passed to another.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateToken, tokenDigest } from '../../middleware/api-tokens/token.ts';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { startSsoProvider, type SsoSetup } from '../helpers/sso.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

const RESOURCE = 'https://prometheus.example.test';
const QUERY = '/prometheus/api/v1/query?query=up';
const SNAPSHOT = '/prometheus/api/v1/admin/tsdb/snapshot';

describe('every login method on one route', () => {
  let sso: SsoSetup;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  const apiToken = generateToken();
  before(async () => {
    sso = await startSsoProvider();
    upstream = await startUpstream();
    const folder = mkdtempSync(join(tmpdir(), 'promgate-methods-'));
    const htpasswdFile = writeHtpasswd([{ user: 'dora', password: 'dora-password', flag: '-B' }]);
    const tokensFile = join(folder, 'tokens');
    writeFileSync(tokensFile, `ci-robot sha256:${tokenDigest(apiToken)} groups=scrapers\n`, { mode: 0o600 });
    gateway = await startTestGateway({
      upstream: { url: upstream.url, identityHeaders: {} },
      web: { listenAddress: sso.listenAddress(0) },
      auth: {
        htpasswdFile,
        tokensFile,
        jwt: { issuer: sso.op.issuer, audience: RESOURCE, caFile: sso.op.caFile },
        ...sso.auth(0),
      },
      accessControl: {
        users: { dora: 'admin' },
        groups: { admins: 'admin', scrapers: 'viewer' },
      },
    });
  });
  after(async () => {
    await gateway?.close();
    await upstream?.close();
    await sso?.stop();
  });

  const call = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    gateway.request(path, { method, headers });

  it('logs in with each method, as its own user and groups', async () => {
    const jwt = await sso.op.clientCredentialsToken({ resource: RESOURCE });
    for (const [method, headers, user] of [
      ['basic', { authorization: basicAuth('dora', 'dora-password') }, 'dora'],
      ['token', { authorization: `Bearer ${apiToken}` }, 'ci-robot'],
      ['jwt', { authorization: `Bearer ${jwt}` }, sso.op.client.clientId],
    ] as const) {
      const response = await call(QUERY, headers);
      assert.equal(response.status, 200, `${method}: ${response.text}`);
      const seen = upstream.requests.at(-1)!.headers;
      assert.equal(seen['x-forwarded-user'], user, method);
      assert.equal(seen.authorization, undefined, `${method}: the credentials are not forwarded`);
    }
    assert.equal(upstream.requests.at(-2)!.headers['x-forwarded-groups'], 'scrapers', "the token's groups");

    const browser = sso.browser(gateway.cert.cert);
    const page = await browser.signIn(`${gateway.origin}/prometheus/graph`, {
      login: 'alice',
      password: 'alice-password',
    });
    assert.equal(page.status, 200, page.text);
    const seen = upstream.requests.at(-1)!.headers;
    assert.equal(seen['x-forwarded-user'], 'alice');
    assert.equal(seen['x-forwarded-groups'], 'team-a,admins');
    assert.doesNotMatch(String(seen.cookie), /promgate_/);
  });

  it('gives roles from users and groups: admin by name or by group, viewer by group', async () => {
    const snapshots = () => upstream.requests.filter((request) => request.url.endsWith('/snapshot')).length;
    const before = snapshots();
    const admin = await call(SNAPSHOT, { authorization: basicAuth('dora', 'dora-password') }, 'POST');
    assert.equal(admin.status, 200, 'dora is admin by name');
    const viewer = await call(SNAPSHOT, { authorization: `Bearer ${apiToken}` }, 'POST');
    assert.equal(viewer.status, 403, 'the token is a viewer by its group');
    const browser = sso.browser(gateway.cert.cert);
    await browser.signIn(`${gateway.origin}/prometheus/graph`, { login: 'alice', password: 'alice-password' });
    const signedIn = await browser.fetch(`${gateway.origin}${SNAPSHOT}`, {
      method: 'POST',
      headers: { accept: 'application/json', 'sec-fetch-mode': 'cors' },
    });
    assert.equal(signedIn.status, 200, `alice is admin by her group admins: ${signedIn.text}`);
    assert.equal(snapshots(), before + 2, "the viewer's snapshot did not reach the upstream");
  });

  it("refuses each method's wrong credentials with that method's refusal", async () => {
    const before = upstream.requests.length;
    for (const [what, headers] of [
      ['a wrong password', { authorization: basicAuth('dora', 'wrong') }],
      ['an unknown API token', { authorization: `Bearer ${generateToken()}` }],
      [
        'a JWT for another audience',
        { authorization: `Bearer ${await sso.op.clientCredentialsToken({ resource: 'https://other.example.test' })}` },
      ],
      ['a forged session cookie', { cookie: 'promgate_session=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..x.y.z' }],
    ] as const) {
      const response = await call(QUERY, headers);
      assert.equal(response.status, 401, what);
    }
    assert.equal(upstream.requests.length, before, 'nothing reached the upstream');
  });

  it('asks an API client without credentials for every scheme, and sends a browser page to sign in', async () => {
    const api = await call(QUERY);
    assert.equal(api.status, 401);
    const challenge = String(api.headers['www-authenticate']);
    assert.match(challenge, /^Basic realm="promgate", charset="UTF-8"/);
    assert.match(challenge, /Bearer realm="promgate"/);
    const page = await call('/prometheus/graph', { accept: 'text/html', 'sec-fetch-mode': 'navigate' });
    assert.equal(page.status, 302);
    assert.ok(String(page.headers.location).startsWith(sso.op.issuer));
  });
});
