// Open redirects through the sign-in: the page a browser comes back to after signing in is taken
// from the request it started with, so a link to promgate with a crafted path must never send a
// signed-in browser to another site, nor outside the route's base path. Checked end to end (the
// real provider, the callback's Location) under a base path and at the root, where `//evil` after
// the base path would be a host. The request-path stage refuses most of these before the sign-in
// starts; the return-path check is a second wall, tested alone as well.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { safeReturnPath } from '../../middleware/sso/return-path.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startSsoProvider, type SsoSetup } from '../helpers/sso.ts';
import type { SsoClient } from '../helpers/sso-client.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

/** Request targets below the base path, as an attacker's link sends them (raw, not normalized). */
const ATTACKS = [
  '//evil.example',
  '//evil.example/%2e%2e',
  '///evil.example',
  '/\\evil.example',
  '/\\/evil.example',
  '/%5Cevil.example',
  '/%5C%5Cevil.example',
  '/%2F%2Fevil.example',
  '/%2f/evil.example',
  '/https://evil.example',
  '/https:%2F%2Fevil.example',
  '/@evil.example',
  '/..%2f..%2fevil',
  '/../evil',
  '/graph/../../evil',
  '/%2e%2e/evil',
  '/.%2E/.%2E/evil',
  '/%09/evil.example',
  '/%0d%0aLocation:%20https://evil.example',
  '/graph?next=//evil.example',
  '/graph?x=%0d%0aSet-Cookie:%20a=b',
];

describe('the return-path check alone', () => {
  const decoded = ATTACKS.filter((attack) => !attack.startsWith('/graph?')).flatMap((attack) => {
    const plain = attack.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    return plain === attack ? [attack] : [attack, plain];
  });
  const absolute = [
    'https://evil.example',
    'evil.example',
    '',
    '\\\\evil.example',
    '\t//evil.example',
    'javascript:alert(1)',
  ];
  for (const attack of [...decoded, ...absolute]) {
    it(`keeps ${JSON.stringify(attack)} on this site, under the base path`, () => {
      const kept = safeReturnPath(attack);
      assert.match(
        kept,
        /^\/(?![/\\])[\x21-\x7e]*$/,
        'a path: no host, no backslash, no whitespace or control character',
      );
      for (const prefix of ['', '/prometheus']) {
        const target = new URL(`${prefix}${kept}`, 'https://promgate.example');
        assert.equal(target.origin, 'https://promgate.example');
        assert.ok(target.pathname.startsWith(`${prefix}/`), target.pathname);
        assert.equal(target.pathname, `${prefix}${kept}`.split('?')[0], 'nothing a browser would normalize away');
      }
    });
  }
});

for (const basePath of ['/prometheus', '/']) {
  describe(`sign-in return path under base path ${basePath}`, () => {
    let sso: SsoSetup;
    let upstream: RecordingUpstream;
    let gateway: TestGateway;
    let browser: SsoClient;
    const prefix = basePath === '/' ? '' : basePath;
    before(async () => {
      sso = await startSsoProvider({ basePath: prefix });
      upstream = await startUpstream();
      gateway = await startTestGateway({
        upstream: upstream.url,
        basePath,
        web: { listenAddress: sso.listenAddress(0) },
        auth: sso.auth(0),
      });
      // Signed in at the provider once: later sign-ins come straight back to the callback.
      browser = sso.browser(gateway.cert.cert);
      await browser.signIn(`${gateway.origin}${prefix}/graph`, { login: 'alice', password: 'alice-password' });
      browser.stopAt = `${sso.externalUrl(0)}/-/promgate/callback`;
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
      await sso.stop();
    });

    for (const attack of ATTACKS) {
      it(`keeps ${JSON.stringify(attack)} on this site, under ${basePath}`, async () => {
        browser.cookies.splice(browser.cookies.findIndex((cookie) => cookie.name === 'promgate_session') >>> 0, 1);
        const start = await browser.fetch(`${gateway.origin}/`, { rawPath: `${prefix}${attack}` });
        if (start.status !== 302) {
          // Refused before the sign-in (a path promgate will not forward): nowhere to return to.
          assert.ok(start.status >= 400 && start.status < 500, `${start.status}`);
          return;
        }
        const atCallback = await browser.follow(start.headers.location ?? '');
        const callback = new URL(atCallback.headers.location ?? '', atCallback.url);
        assert.equal(callback.pathname, `${prefix}/-/promgate/callback`, 'came back to the callback');
        const landed = await browser.fetch(callback.href);
        assert.equal(landed.status, 302);
        const location = landed.headers.location ?? '';
        assert.match(location, new RegExp(`^${prefix}/(?![/\\\\])`), 'a path on this site, under the base path');
        assert.doesNotMatch(location, /[\\\s]|%5c|%2f/i);
        const target = new URL(location, gateway.origin);
        assert.equal(target.origin, gateway.origin);
        assert.ok(target.pathname.startsWith(`${prefix}/`), target.pathname);
      });
    }

    it('returns a plain page with its query to where it was asked', async () => {
      browser.cookies.splice(browser.cookies.findIndex((cookie) => cookie.name === 'promgate_session') >>> 0, 1);
      const start = await browser.fetch(`${gateway.origin}${prefix}/graph?g0.expr=up&g0.tab=1`);
      const atCallback = await browser.follow(start.headers.location ?? '');
      const landed = await browser.fetch(new URL(atCallback.headers.location ?? '', atCallback.url).href);
      assert.equal(landed.headers.location, `${prefix}/graph?g0.expr=up&g0.tab=1`);
    });
  });
}
