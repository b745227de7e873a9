// Single sign-on against a real OpenID provider: the code flow as a browser walks it, what API
// clients get instead, refresh, logout, and a provider that is down.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Identity } from '../../src/kernel/request-state.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { startSsoProvider, type SsoSetup } from '../helpers/sso.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const ALICE = { login: 'alice', password: 'alice-password' };

/** A gateway whose afterAuth hook records each request's identity by path. */
async function startSsoGateway(
  sso: SsoSetup,
  upstream: RecordingUpstream,
  index = 0,
  oidc: Parameters<SsoSetup['auth']>[1] = {},
) {
  const identities: (Identity | undefined)[] = [];
  const gateway = await startTestGateway({
    upstream: upstream.url,
    web: { listenAddress: sso.listenAddress(index) },
    auth: sso.auth(index, oidc),
    middleware: {
      afterAuth: (req: IncomingMessage & { promgate?: { identity?: Identity } }, _res: unknown, next: () => void) => {
        identities.push(req.promgate?.identity);
        next();
      },
    },
  });
  return { gateway, identities };
}

describe('single sign-on', () => {
  let sso: SsoSetup;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let identities: (Identity | undefined)[];
  before(async () => {
    sso = await startSsoProvider();
    upstream = await startUpstream();
    ({ gateway, identities } = await startSsoGateway(sso, upstream));
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
    await sso.stop();
  });

  it('sends a page navigation to the provider and, signed in, back to the page it asked for', async () => {
    const browser = sso.browser(gateway.cert.cert);
    const first = await browser.fetch(`${gateway.origin}/prometheus/graph?g0.expr=up`);
    assert.equal(first.status, 302);
    const authorize = new URL(first.headers.location ?? '');
    assert.equal(authorize.origin, sso.op.issuer);
    assert.equal(authorize.searchParams.get('redirect_uri'), `${sso.externalUrl(0)}/-/promgate/callback`);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'));
    const login = String(first.headers['set-cookie']);
    assert.match(
      login,
      /^promgate_login_[\w-]+=[^;]+; Path=\/prometheus\/-\/promgate\/callback; Secure; HttpOnly; SameSite=Lax/,
    );

    // Never completed: its login state stays until it expires (only the callback path sees it).
    browser.cookies.splice(0, browser.cookies.length);
    browser.cookies.push({ name: 'theme', value: 'dark', host: '127.0.0.1', path: '/' });
    const page = await browser.signIn(`${gateway.origin}/prometheus/graph?g0.expr=up`, ALICE);
    assert.equal(page.status, 200, page.text);
    assert.equal(page.url, `${gateway.origin}/prometheus/graph?g0.expr=up`);
    const session = browser.visits.map((url) => url).find((url) => url.includes('/-/promgate/callback'));
    assert.ok(session, 'came back through the callback');
    assert.match(
      String(browser.cookies.find((c) => c.name === 'promgate_session')?.path),
      /^\/prometheus$/,
      'the session cookie is scoped to the base path',
    );
    assert.ok(
      !browser.cookies.some((cookie) => cookie.name.startsWith('promgate_login')),
      'the login state is cleared',
    );
    const identity = identities.at(-1);
    assert.deepEqual(
      { user: identity?.user, groups: identity?.groups, method: identity?.method },
      { user: 'alice', groups: ['team-a', 'admins'], method: 'oidc' },
    );
    assert.equal(identity?.claims?.email, 'alice@example.test');
    const forwarded = upstream.requests.at(-1);
    // Other cookies of the host go on (here the provider's own, on the same host); promgate's never.
    assert.match(String(forwarded?.headers.cookie), /^theme=dark(; |$)/);
    assert.doesNotMatch(String(forwarded?.headers.cookie), /promgate_/, 'the upstream never sees the session cookie');
    assert.equal(forwarded?.headers.authorization, undefined);
  });

  it('sets the session cookie Secure, HttpOnly, SameSite=Lax, on the base path, under 4 KB', async () => {
    const browser = sso.browser(gateway.cert.cert);
    browser.stopAt = `${gateway.origin}/prometheus/graph`;
    const back = await browser.signIn(`${gateway.origin}/prometheus/graph`, ALICE);
    const cookie = [back.headers['set-cookie'] ?? []].flat().find((line) => line.startsWith('promgate_session='));
    assert.ok(cookie, 'the callback sets the session');
    assert.match(cookie, /; Path=\/prometheus; Secure; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    assert.ok(cookie.length < 4096, `${cookie.length} bytes`);
  });

  it('answers API calls and scripts without a session 401, never a redirect', async () => {
    const browser = sso.browser(gateway.cert.cert);
    const cases: [string, string, Record<string, string>][] = [
      [
        'an API call from a page',
        '/prometheus/api/v1/query?query=up',
        { accept: 'application/json', 'sec-fetch-mode': 'cors' },
      ],
      [
        'an API path even as a navigation',
        '/prometheus/api/v1/query?query=up',
        { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
      ],
      ['a script asking for HTML', '/prometheus/graph', { accept: 'text/html', 'sec-fetch-mode': 'cors' }],
      ['curl', '/prometheus/graph', { accept: '*/*' }],
      ['no Accept at all', '/prometheus/federate', {}],
    ];
    browser.headers = {};
    for (const [name, path, headers] of cases) {
      const answer = await browser.fetch(`${gateway.origin}${path}`, { headers });
      assert.equal(answer.status, 401, name);
      assert.equal(answer.headers.location, undefined, name);
      assert.match(String(answer.headers['www-authenticate']), /^Cookie realm="promgate"$/, name);
    }
    const post = await browser.fetch(`${gateway.origin}/prometheus/graph`, {
      method: 'POST',
      body: '',
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
    });
    assert.equal(post.status, 401, 'a form post is not redirected');
  });

  it("lets the signed-in browser's scripts call the API with the session", async () => {
    const browser = sso.browser(gateway.cert.cert);
    await browser.signIn(`${gateway.origin}/prometheus/`, ALICE);
    const api = await browser.fetch(`${gateway.origin}/prometheus/api/v1/query?query=up`, {
      headers: { accept: 'application/json', 'sec-fetch-mode': 'cors' },
    });
    assert.equal(api.status, 200, api.text);
    assert.equal(identities.at(-1)?.user, 'alice');
  });

  it('refuses a callback used twice, mixed with another sign-in, or in another browser, with a page', async () => {
    const browser = sso.browser(gateway.cert.cert);
    const toCallback = async (page: string) => {
      browser.cookies.splice(
        0,
        browser.cookies.length,
        ...browser.cookies.filter((c) => c.name !== 'promgate_session'),
      );
      browser.stopAt = `${sso.externalUrl(0)}/-/promgate/callback`;
      const atCallback = await browser.signIn(`${gateway.origin}/prometheus${page}`, ALICE);
      browser.stopAt = undefined;
      return new URL(atCallback.headers.location ?? '', atCallback.url);
    };
    const callback = await toCallback('/graph');
    assert.equal((await browser.follow(callback.href)).status, 200, 'the first use signs in');

    const replayed = await browser.fetch(callback.href);
    assert.equal(replayed.status, 400);
    assert.match(replayed.text, /No sign-in was started in this browser/);

    // The state of one sign-in with the code of another: the code was issued for another PKCE verifier.
    const [first, second] = [await toCallback('/one'), await toCallback('/two')];
    const mixed = new URL(first);
    mixed.searchParams.set('code', second.searchParams.get('code') ?? '');
    const refused = await browser.fetch(mixed.href);
    assert.equal(refused.status, 400);
    assert.match(refused.text, /Sign-in failed/);
    assert.match(String(refused.headers['set-cookie']), /^promgate_login_[\w-]+=; .*Max-Age=0$/);

    const stranger = sso.browser(gateway.cert.cert);
    const forged = await stranger.fetch(second.href);
    assert.equal(forged.status, 400, 'a callback in a browser that started no sign-in');
  });

  it('lets several tabs sign in at once, each back to its own page', async () => {
    const browser = sso.browser(gateway.cert.cert);
    await browser.signIn(`${gateway.origin}/prometheus/graph`, ALICE); // the provider knows alice now
    browser.cookies.splice(
      browser.cookies.findIndex((cookie) => cookie.name === 'promgate_session'),
      1,
    );
    browser.stopAt = `${sso.externalUrl(0)}/-/promgate/callback`;
    const tabs = [];
    for (const page of ['/alerts', '/targets', '/graph?g0.expr=up']) {
      const atCallback = await browser.follow(`${gateway.origin}/prometheus${page}`);
      tabs.push({ page, callback: new URL(atCallback.headers.location ?? '', atCallback.url).href });
    }
    browser.stopAt = undefined;
    for (const { page, callback } of tabs.reverse()) {
      const landed = await browser.fetch(callback);
      assert.equal(landed.status, 302, page);
      assert.equal(landed.headers.location, `/prometheus${page}`);
    }
  });

  it('shows the provider refusing the sign-in as a page', async () => {
    const browser = sso.browser(gateway.cert.cert);
    const start = await browser.fetch(`${gateway.origin}/prometheus/graph`);
    const state = new URL(start.headers.location ?? '').searchParams.get('state') ?? '';
    const answer = new URLSearchParams({
      error: 'access_denied',
      error_description: '<b>no</b>',
      state,
      iss: sso.op.issuer,
    });
    const denied = await browser.fetch(`${sso.externalUrl(0)}/-/promgate/callback?${answer}`);
    assert.equal(denied.status, 400);
    assert.match(denied.text, /access_denied/);
    assert.doesNotMatch(denied.text, /<b>/, 'the provider text is escaped');
  });

  it('signs out: the session is cleared, and the provider forgets the user too', async () => {
    const browser = sso.browser(gateway.cert.cert);
    await browser.signIn(`${gateway.origin}/prometheus/graph`, ALICE);
    const toProvider = await browser.fetch(`${gateway.origin}/prometheus/-/promgate/logout`);
    assert.equal(toProvider.status, 302);
    assert.ok(toProvider.headers.location?.startsWith(`${sso.op.issuer}/session/end`), toProvider.headers.location);
    assert.match(String(toProvider.headers['set-cookie']), /^promgate_session=; Path=\/prometheus; .*Max-Age=0/);
    assert.equal(browser.cookie('promgate_session'), undefined);
    const confirm = await browser.follow(toProvider.headers.location ?? '');
    const signedOut = await browser.submitForm(confirm);
    assert.equal(signedOut.url, `${sso.externalUrl(0)}/-/promgate/logout`);
    assert.equal(signedOut.status, 200);
    assert.match(signedOut.text, /You are signed out/);
    // The provider asks for the password again.
    const again = await browser.follow(`${gateway.origin}/prometheus/graph`);
    assert.match(again.text, /name="password"/);
  });
});

describe('single sign-on and tenancy', () => {
  it("keeps the claims a tenant role names in the session: the query is scoped by the user's claim", async () => {
    const sso = await startSsoProvider({
      provider: {
        users: {
          dana: { password: 'dana-password', groups: ['analysts'], claims: { department: 'research', badge: 'x' } },
        },
      },
    });
    const upstream = await startUpstream();
    const gateway = await startTestGateway({
      upstream: upstream.url,
      web: { listenAddress: sso.listenAddress(0) },
      auth: sso.auth(0),
      accessControl: {
        groups: { analysts: 'department' },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder users write
        roles: { department: { tenant: { namespace: ['${claims.department}'] } } },
      },
    });
    try {
      const browser = sso.browser(gateway.cert.cert);
      await browser.signIn(`${gateway.origin}/prometheus/graph`, { login: 'dana', password: 'dana-password' });
      const api = await browser.fetch(`${gateway.origin}/prometheus/api/v1/query?query=up`, {
        headers: { accept: 'application/json' },
      });
      assert.equal(api.status, 200, api.text);
      const query = new URL(upstream.requests.at(-1)?.url ?? '', 'http://upstream').searchParams.get('query');
      assert.match(String(query), /namespace="research"/);
    } finally {
      await gateway.close();
      await upstream.close();
      await sso.stop();
    }
  });
});

describe('single sign-on sessions over time', () => {
  let sso: SsoSetup;
  let upstream: RecordingUpstream;
  before(async () => {
    sso = await startSsoProvider({ gateways: 2, provider: { ttl: { idToken: 2 } } });
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
    await sso.stop();
  });

  it('refreshes the identity when the ID token expired, with the groups the provider has now', async () => {
    const { gateway, identities } = await startSsoGateway(sso, upstream, 0, {
      scopes: ['openid', 'profile', 'groups', 'offline_access'],
    });
    try {
      const browser = sso.browser(gateway.cert.cert);
      await browser.signIn(`${gateway.origin}/prometheus/graph`, { login: 'bob', password: 'bob-password' });
      const before = browser.cookie('promgate_session');
      assert.deepEqual(identities.at(-1)?.groups, ['team-b']);
      sso.op.users.get('bob')?.groups.push('on-call');
      await new Promise((resolve) => setTimeout(resolve, 2100)); // the ID token's lifetime
      const api = await browser.fetch(`${gateway.origin}/prometheus/api/v1/query?query=up`, {
        headers: { accept: '*/*' },
      });
      assert.equal(api.status, 200);
      assert.deepEqual(identities.at(-1)?.groups, ['team-b', 'on-call']);
      assert.notEqual(browser.cookie('promgate_session'), before, 'a new session cookie');
      // Requests still carrying the replaced cookie share that one refresh.
      const parallel = await Promise.all(
        [1, 2, 3].map(() =>
          browser.fetch(`${gateway.origin}/prometheus/api/v1/query?query=up`, {
            headers: { accept: '*/*', cookie: `promgate_session=${before}` },
          }),
        ),
      );
      assert.deepEqual(
        parallel.map((answer) => answer.status),
        [200, 200, 200],
      );
    } finally {
      await gateway.close();
    }
  });

  it('ends the session when the refresh is refused, and sends the browser to sign in again', async () => {
    const { gateway } = await startSsoGateway(sso, upstream, 0, {
      scopes: ['openid', 'profile', 'groups', 'offline_access'],
    });
    try {
      sso.op.users.set('carol', { password: 'carol-password', groups: ['team-c'] });
      const browser = sso.browser(gateway.cert.cert);
      await browser.signIn(`${gateway.origin}/prometheus/graph`, { login: 'carol', password: 'carol-password' });
      assert.ok(browser.cookie('promgate_session'));
      sso.op.users.delete('carol'); // the account is gone: the provider refuses the refresh
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const api = await browser.fetch(`${gateway.origin}/prometheus/api/v1/query?query=up`, {
        headers: { accept: '*/*' },
      });
      assert.equal(api.status, 401);
      assert.equal(browser.cookie('promgate_session'), undefined, 'the cookie is cleared');
    } finally {
      await gateway.close();
    }
  });

  it('keeps a session without a refresh token for its lifetime, past the ID token', async () => {
    const { gateway } = await startSsoGateway(sso, upstream, 0, { scopes: ['openid', 'profile'] });
    try {
      const browser = sso.browser(gateway.cert.cert);
      const page = await browser.signIn(`${gateway.origin}/prometheus/graph`, ALICE);
      assert.equal(page.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const api = await browser.fetch(`${gateway.origin}/prometheus/api/v1/query?query=up`, {
        headers: { accept: '*/*' },
      });
      assert.equal(api.status, 200);
    } finally {
      await gateway.close();
    }
  });

  it('ends every session after sessionLifetime', async () => {
    const { gateway } = await startSsoGateway(sso, upstream, 0, { sessionLifetime: '2s' });
    try {
      const browser = sso.browser(gateway.cert.cert);
      await browser.signIn(`${gateway.origin}/prometheus/graph`, ALICE);
      const value = browser.cookie('promgate_session');
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const api = await browser.fetch(`${gateway.origin}/prometheus/api/v1/query?query=up`, {
        headers: { accept: '*/*', cookie: `promgate_session=${value}` },
      });
      assert.equal(api.status, 401, 'the browser dropped it, and the gateway refuses it too');
    } finally {
      await gateway.close();
    }
  });
});

describe('single sign-on with the provider down', () => {
  it('answers page navigations 503 with a page and a log line, API calls 401, and recovers', async () => {
    const sso = await startSsoProvider();
    const port = await freePort();
    const upstream = await startUpstream();
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const log = (level: string) => (fields: Record<string, unknown>, message: string) =>
      lines.push({ level, fields, message });
    const gateway = await startTestGateway({
      upstream: upstream.url,
      web: { listenAddress: sso.listenAddress(0) },
      auth: sso.auth(0, { issuer: `https://127.0.0.1:${port}` }),
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    });
    try {
      const browser = sso.browser(gateway.cert.cert);
      const page = await browser.fetch(`${gateway.origin}/prometheus/graph`);
      assert.equal(page.status, 503);
      assert.match(page.text, /Sign-in unavailable/);
      assert.equal(page.headers['retry-after'], '5');
      await waitFor(() => lines.some((line) => line.level === 'error' && /OpenID provider/.test(line.message)));
      const api = await browser.fetch(`${gateway.origin}/prometheus/api/v1/query?query=up`, {
        headers: { accept: '*/*' },
      });
      assert.equal(api.status, 401);
      assert.equal((await gateway.request('/-/promgate/healthy')).status, 200, 'still serving');
    } finally {
      await gateway.close();
      await upstream.close();
      await sso.stop();
    }
  });
});
