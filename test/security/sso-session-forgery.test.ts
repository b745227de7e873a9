// Forged and tampered session cookies: the session is a cookie promgate must be able to trust
// without a store, so every cookie it did not seal itself, for this route, unaltered and unexpired,
// is refused: API calls get 401 and nothing reaches the upstream, a page navigation is sent to sign
// in, and the browser is told to drop the cookie.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { base64url, UnsecuredJWT } from 'jose';
import { createCookieSeal } from '../../middleware/sso/seal.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startSsoProvider, type SsoSetup } from '../helpers/sso.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

const SESSION = 'promgate sso session';
const inAnHour = () => Date.now() + 3_600_000;
const admin = { u: 'admin', g: ['admins'], c: {} };

describe('forged and tampered session cookies', () => {
  let sso: SsoSetup;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let genuine: string;
  let secret: string;
  before(async () => {
    sso = await startSsoProvider();
    upstream = await startUpstream();
    gateway = await startTestGateway({
      upstream: upstream.url,
      web: { listenAddress: sso.listenAddress(0) },
      auth: sso.auth(0),
    });
    const browser = sso.browser(gateway.cert.cert);
    await browser.signIn(`${gateway.origin}/prometheus/graph`, { login: 'bob', password: 'bob-password' });
    genuine = browser.cookie('promgate_session') ?? '';
    secret = readFileSync(sso.cookieSecretFile, 'utf8').trim();
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
    await sso.stop();
  });

  const api = (cookie: string) =>
    gateway.request('/prometheus/api/v1/query?query=up', {
      headers: { cookie: `promgate_session=${cookie}`, accept: 'application/json' },
    });

  it('accepts the genuine cookie (the control)', async () => {
    assert.equal((await api(genuine)).status, 200);
  });

  const changePart = (cookie: string, index: number, change: (part: string) => string) =>
    cookie
      .split('.')
      .map((part, at) => (at === index ? change(part) : part))
      .join('.');
  const flip = (part: string) => `${part[0] === 'A' ? 'B' : 'A'}${part.slice(1)}`;
  const header = (value: object) => base64url.encode(JSON.stringify(value));

  const forgeries: [string, () => Promise<string> | string][] = [
    ['garbage', () => 'x'],
    ['empty', () => ''],
    ['an unsigned JWT (alg none) naming admin', () => new UnsecuredJWT(admin).setExpirationTime('1h').encode()],
    ['the header changed', () => changePart(genuine, 0, flip)],
    ['the header swapped for A128GCM', () => changePart(genuine, 0, () => header({ alg: 'dir', enc: 'A128GCM' }))],
    ['the header swapped for alg none', () => changePart(genuine, 0, () => header({ alg: 'none', enc: 'A256GCM' }))],
    ['an encrypted key added', () => changePart(genuine, 1, () => 'AAAA')],
    ['the IV changed', () => changePart(genuine, 2, flip)],
    ['the ciphertext changed', () => changePart(genuine, 3, flip)],
    ['the ciphertext cut short', () => changePart(genuine, 3, (part) => part.slice(0, -4))],
    ['the tag changed', () => changePart(genuine, 4, flip)],
    ['the tag removed', () => changePart(genuine, 4, () => '')],
    ['a part missing', () => genuine.split('.').slice(0, 4).join('.')],
    [
      'sealed with another secret',
      () => createCookieSeal(['x'.repeat(44)], SESSION, sso.externalUrl(0)).seal(admin, inAnHour()),
    ],
    [
      'sealed for another route (audience)',
      () => createCookieSeal([secret], SESSION, 'https://other.example').seal(admin, inAnHour()),
    ],
    [
      'a login-state cookie as a session',
      () => createCookieSeal([secret], 'promgate sso login', sso.externalUrl(0)).seal(admin, inAnHour()),
    ],
    ['expired', () => createCookieSeal([secret], SESSION, sso.externalUrl(0)).seal(admin, Date.now() - 1000)],
    [
      'sealed right but without a user',
      () => createCookieSeal([secret], SESSION, sso.externalUrl(0)).seal({ g: ['admins'] }, inAnHour()),
    ],
  ];

  for (const [name, forge] of forgeries) {
    it(`refuses a cookie ${name}`, async () => {
      const cookie = await forge();
      const before = upstream.requests.length;
      const answer = await api(cookie);
      assert.equal(answer.status, 401, 'API call');
      assert.equal(upstream.requests.length, before, 'nothing reached the upstream');
      assert.match(String(answer.headers['set-cookie']), /^promgate_session=; Path=\/prometheus; .*Max-Age=0$/);
      const page = await gateway.request('/prometheus/graph', {
        headers: { cookie: `promgate_session=${cookie}`, accept: 'text/html', 'sec-fetch-mode': 'navigate' },
      });
      assert.equal(page.status, 302, 'page navigation');
      assert.ok(page.headers.location?.startsWith(sso.op.issuer), 'sent to sign in');
    });
  }

  it('uses the cookie that opens when several carry the name (a broader path’s comes first)', async () => {
    const answer = await gateway.request('/prometheus/api/v1/query?query=up', {
      headers: { cookie: `promgate_session=x; promgate_session=${genuine}` },
    });
    assert.equal(answer.status, 200);
  });
});
