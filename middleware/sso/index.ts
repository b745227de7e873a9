// Single sign-on for browsers: OpenID Connect's authorization code flow with PKCE, state and nonce
// (openid-client), and a session kept in a sealed cookie (./session.ts, ./seal.ts) that any replica
// with the same secret can open, so nothing is stored server-side.
//
// The `sso` stage, before authentication, answers the callback and logout paths and opens the
// session cookie once (refreshing it when its ID token expired and a refresh token is at hand). The
// authenticator then only looks the session up; a page navigation without one is sent to the
// provider (answerAnonymous), everything else gets the authentication stage's 401.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as client from 'openid-client';
import { ConfigError } from '../../src/kernel/errors.ts';
import { GATEWAY_COOKIE_PREFIX, readCookies } from '../../src/kernel/gateway-cookies.ts';
import { lazyModule } from '../../src/kernel/lazy-module.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import type { Authenticator, Identity } from '../../src/kernel/request-state.ts';
import { sendPage } from './pages.ts';
import { createProviderConnection, isUnreachable, reasonOf } from './provider.ts';
import { safeReturnPath } from './return-path.ts';
import { createCookieSeal, readCookieSecrets, readSecretFile } from './seal.ts';
import { createSessionCookies, SESSION_COOKIE } from './session.ts';

export { ProviderUnavailableError } from './provider.ts';
export { safeReturnPath } from './return-path.ts';
export { SESSION_COOKIE } from './session.ts';

/** Below the route's base path: where the provider sends the browser back, and where it signs out. */
export const CALLBACK_PATH = '/-/promgate/callback';
export const LOGOUT_PATH = '/-/promgate/logout';
/** Followed by `_<state>`: one per sign-in, so tabs signing in at once do not undo each other. */
export const LOGIN_COOKIE = `${GATEWAY_COOKIE_PREFIX}login`;
/** What openid-client's randomState() makes (base64url), and all a login cookie name may carry. */
const STATE = /^[A-Za-z0-9_-]{16,64}$/;
/** How long a browser may take at the provider's login form. */
export const LOGIN_LIFETIME_MS = 10 * 60_000;
export interface SsoOptions {
  issuer: string;
  clientId: string;
  clientSecretFile: string;
  /** One secret per line: the first seals, all open. */
  cookieSecretFile: string;
  /** Where browsers reach this route (scheme, host, port, base path): the redirect URI is built from it. */
  externalUrl: string;
  /** The route's base path: externalUrl's path must be it (as Prometheus's --web.external-url). */
  basePath: string;
  scopes: readonly string[];
  userClaim: string;
  groupsClaim: string;
  /** How long a sign-in lasts at most; refreshes do not extend it. */
  sessionLifetimeMs: number;
  /** The realm of the 401's challenge. */
  realm: string;
  /** PEM bundle trusted for the provider besides the system's CAs. */
  caFile?: string | undefined;
  /** Claims tenancy reads (`${claims.NAME}`), kept in the session. */
  keptClaims?: readonly string[] | undefined;
  logger: Logger;
  discoveryRetryMs?: number | undefined;
}

export interface SsoAuthenticator extends Authenticator {
  readonly method: 'oidc';
  /** The `sso` stage: callback, logout, and the session cookie opened once per request. */
  handle(req: IncomingMessage & { url: string }, res: ServerResponse, next: (error?: unknown) => void): void;
  start(): void;
  close(): void;
}

interface LoginState {
  state: string;
  nonce: string;
  verifier: string;
  returnPath: string;
}

const openid = lazyModule<typeof import('openid-client')>('openid-client');

export function createSsoAuthenticator(options: SsoOptions): SsoAuthenticator {
  const { logger } = options;
  const external = new URL(options.externalUrl);
  const externalPath = external.pathname.replace(/\/+$/, '');
  // Another path would send the provider's answer, and the session cookie, to another route.
  if (externalPath !== options.basePath.replace(/\/+$/, ''))
    throw new ConfigError(
      `${options.externalUrl} must end with this route's base path ${options.basePath} (the URL browsers use for it)`,
      { key: 'auth.oidc.externalUrl' },
    );
  const redirectUri = `${external.origin}${externalPath}${CALLBACK_PATH}`;
  const logoutUrl = `${external.origin}${externalPath}${LOGOUT_PATH}`;
  const signInAgain = { href: `${externalPath}/`, text: 'Sign in again' };
  const audience = `${external.origin}${externalPath}`;
  const secrets = readCookieSecrets(options.cookieSecretFile, 'auth.oidc.cookieSecretFile');
  const loginSeal = createCookieSeal(secrets, 'promgate sso login', audience);
  const provider = createProviderConnection({
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: readSecretFile(options.clientSecretFile, 'auth.oidc.clientSecretFile'),
    caFile: options.caFile,
    logger,
    discoveryRetryMs: options.discoveryRetryMs,
  });
  const scope = options.scopes.join(' ');
  const sessions = createSessionCookies({
    seal: createCookieSeal(secrets, 'promgate sso session', audience),
    path: externalPath || '/',
    provider,
    userClaim: options.userClaim,
    groupsClaim: options.groupsClaim,
    keptClaims: options.keptClaims ?? [],
    lifetimeMs: options.sessionLifetimeMs,
    logger,
  });
  const loginCookieAttributes = `Path=${externalPath}${CALLBACK_PATH}; Secure; HttpOnly; SameSite=Lax`;
  const loginCookieName = (state: string) => `${LOGIN_COOKIE}_${state}`;
  const clearLogin = (state: string) => `${loginCookieName(state)}=; ${loginCookieAttributes}; Max-Age=0`;

  // Who each request is, as its session cookie said (set by the stage, read by the authenticator).
  const identities = new WeakMap<IncomingMessage, Identity>();
  const providerDown = (res: ServerResponse, error: unknown) => {
    const unavailable = provider.unavailable(error);
    res.setHeader('retry-after', '5');
    sendPage(res, 503, 'Sign-in unavailable', `${unavailable.message}. Try again in a moment.`);
  };

  const startSignIn = async (req: IncomingMessage & { url: string }, res: ServerResponse): Promise<void> => {
    let configuration: client.Configuration;
    try {
      configuration = await provider.configuration();
    } catch (error) {
      return providerDown(res, error);
    }
    const login: LoginState = {
      state: openid().randomState(),
      nonce: openid().randomNonce(),
      verifier: openid().randomPKCECodeVerifier(),
      returnPath: safeReturnPath(req.url),
    };
    const target = openid().buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope,
      state: login.state,
      nonce: login.nonce,
      code_challenge: await openid().calculatePKCECodeChallenge(login.verifier),
      code_challenge_method: 'S256',
    });
    const sealed = await loginSeal.seal({ ...login }, Date.now() + LOGIN_LIFETIME_MS);
    redirect(
      res,
      target.href,
      `${loginCookieName(login.state)}=${sealed}; ${loginCookieAttributes}; Max-Age=${LOGIN_LIFETIME_MS / 1000}`,
    );
  };

  const finishSignIn = async (req: IncomingMessage & { url: string }, res: ServerResponse): Promise<void> => {
    const query = req.url.indexOf('?');
    const search = query < 0 ? '' : req.url.slice(query);
    // The answer names its sign-in by the state; the cookie of that name must hold the same state.
    const state = new URLSearchParams(search).get('state') ?? '';
    const cookies = STATE.test(state) ? [clearLogin(state)] : [];
    const refuse = (message: string) => sendPage(res, 400, 'Sign-in failed', message, signInAgain, ...cookies);
    if (req.method !== 'GET') return refuse('The sign-in answer must come with GET.');
    const sealed = STATE.test(state) ? readCookies(req.headers.cookie).get(loginCookieName(state))?.[0] : undefined;
    const login = sealed
      ? ((await loginSeal.open(sealed)) as (LoginState & Record<string, unknown>) | undefined)
      : undefined;
    if (!login || login.state !== state) {
      logger.info({ reason: sealed ? 'login state refused' : 'no login state' }, 'sign-in failed');
      return refuse(
        'No sign-in was started in this browser, it took longer than 10 minutes, or this answer was used already.',
      );
    }
    const current = new URL(redirectUri);
    current.search = search;
    let configuration: client.Configuration;
    try {
      configuration = await provider.configuration();
    } catch (error) {
      return providerDown(res, error);
    }
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await openid().authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      provider.available();
    } catch (error) {
      if (isUnreachable(error)) return providerDown(res, error);
      logger.info({ reason: reasonOf(error) }, 'sign-in failed');
      return refuse(`The sign-in answer was refused: ${reasonOf(error)}.`);
    }
    const claims = tokens.claims();
    const started = claims ? await sessions.start(claims, tokens.refresh_token) : 'the provider sent no ID token';
    if (typeof started === 'string') {
      logger.info({ reason: started }, 'sign-in failed');
      return refuse(`The provider's answer cannot sign you in: ${started}.`);
    }
    logger.info({ user: started.user }, 'signed in');
    redirect(res, `${externalPath}${login.returnPath}`, started.setCookie, ...cookies);
  };

  const logout = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const signedIn = readCookies(req.headers.cookie).has(SESSION_COOKIE);
    const signedOut = (message: string) => sendPage(res, 200, 'Signed out', message, signInAgain, sessions.clear);
    if (!signedIn) return signedOut('You are signed out.');
    let configuration: client.Configuration | undefined;
    try {
      configuration = await provider.configuration();
    } catch {
      // Signed out here all the same; the provider's own session stays until it expires.
    }
    if (!configuration?.serverMetadata().end_session_endpoint)
      return signedOut('You are signed out here; the sign-in provider may still remember you.');
    const target = openid().buildEndSessionUrl(configuration, { post_logout_redirect_uri: logoutUrl });
    redirect(res, target.href, sessions.clear);
  };

  return {
    method: 'oidc',
    // Not Basic: a script's request that gets a Basic challenge makes the browser ask for a password.
    challenge: `Cookie realm="${options.realm}"`,
    presents: (req) => identities.has(req),
    authenticate: (req) => identities.get(req) ?? { refused: 'no_session' },
    answerAnonymous(req, res) {
      const request = req as IncomingMessage & { url: string };
      if (!isPageNavigation(request)) return false;
      startSignIn(request, res).catch((error: unknown) => {
        if (res.headersSent) res.destroy();
        else providerDown(res, error);
      });
      return true;
    },
    handle(req, res, next) {
      const path = pathOf(req.url);
      if (path === CALLBACK_PATH) return void finishSignIn(req, res).catch(next);
      if (path === LOGOUT_PATH) return void logout(req, res).catch(next);
      const values = readCookies(req.headers.cookie).get(SESSION_COOKIE);
      if (!values) return next();
      sessions.read(req, res, values).then((identity) => {
        if (identity) identities.set(req, identity);
        next();
      }, next);
    },
    start: () => provider.start(),
    close: () => provider.close(),
  };
}

/** A 302 that keeps the cookies an earlier step set on the answer (a refused session's removal). */
function redirect(res: ServerResponse, location: string, ...cookies: string[]): void {
  for (const cookie of cookies) res.appendHeader('set-cookie', cookie);
  res.writeHead(302, { location, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

/** A browser opening a page (not a script's request, not an API call): it can follow a sign-in redirect. */
function isPageNavigation(req: IncomingMessage & { url: string }): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (pathOf(req.url).startsWith('/api/')) return false;
  const mode = req.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  return /\btext\/html\b/i.test(req.headers.accept ?? '');
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
