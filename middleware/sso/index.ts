// Single sign-on for browsers: OpenID Connect's authorization code flow with PKCE, state and nonce
// (openid-client), and a session kept in a sealed cookie (./seal.ts) that any replica with the same
// secret can open, so nothing is stored server-side.
//
// The `sso` stage, before authentication, answers the callback and logout paths and opens the
// session cookie once (refreshing it when its ID token expired and a refresh token is at hand). The
// authenticator then only looks the session up; a page navigation without one is sent to the
// provider (answerAnonymous), everything else gets the authentication stage's 401.
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as client from 'openid-client';
import { GATEWAY_COOKIE_PREFIX, readCookies } from '../../src/kernel/gateway-cookies.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import type { Authenticator, Identity } from '../../src/kernel/request-state.ts';
import { claimAt, groupsIn, pickClaims } from './claims.ts';
import { sendPage } from './pages.ts';
import { createProviderConnection, isUnreachable } from './provider.ts';
import { safeReturnPath } from './return-path.ts';
import { createCookieSeal, readCookieSecrets, readSecretFile } from './seal.ts';

export { ProviderUnavailableError } from './provider.ts';
export { safeReturnPath } from './return-path.ts';

/** Below the route's base path: where the provider sends the browser back, and where it signs out. */
export const CALLBACK_PATH = '/-/promgate/callback';
export const LOGOUT_PATH = '/-/promgate/logout';
export const SESSION_COOKIE = `${GATEWAY_COOKIE_PREFIX}session`;
/** Followed by `_<state>`: one per sign-in, so tabs signing in at once do not undo each other. */
export const LOGIN_COOKIE = `${GATEWAY_COOKIE_PREFIX}login`;
/** What openid-client's randomState() makes (base64url), and all a login cookie name may carry. */
const STATE = /^[A-Za-z0-9_-]{16,64}$/;
/** How long a browser may take at the provider's login form. */
export const LOGIN_LIFETIME_MS = 10 * 60_000;
/** Browsers keep cookies up to 4096 bytes (name, value and attributes). */
export const COOKIE_SIZE_LIMIT = 4096;
/** How long a refresh's result is handed to requests still carrying the cookie it replaced. */
const REFRESH_REUSE_MS = 60_000;
/** Sessions opened recently, by cookie value: a browser repeats its cookie on every request. */
const OPENED_SESSIONS = 1024;
/** Always kept in the session, besides the user and groups claims and those tenancy names. */
const STANDARD_CLAIMS = ['iss', 'sub', 'preferred_username', 'email', 'name'];

export interface SsoOptions {
  issuer: string;
  clientId: string;
  clientSecretFile: string;
  /** One secret per line: the first seals, all open. */
  cookieSecretFile: string;
  /** Where browsers reach this route (scheme, host, port, base path): the redirect URI is built from it. */
  externalUrl: string;
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

/** What the session cookie holds (short names: it travels with every request). */
interface SessionPayload {
  /** The user. */
  u: string;
  /** The groups. */
  g: string[];
  /** Kept claims. */
  c: Record<string, unknown>;
  /** The refresh token, when the provider issued one. */
  rt?: string;
  /** When the identity is to be refreshed (the ID token's expiry), in seconds. */
  ra?: number;
  /** When the session ends, in seconds (also the cookie's exp). */
  exp: number;
}

interface LoginState {
  state: string;
  nonce: string;
  verifier: string;
  returnPath: string;
}

type Refreshed = { cookie: string; session: SessionPayload } | 'refused' | 'unavailable';

export function createSsoAuthenticator(options: SsoOptions): SsoAuthenticator {
  const { logger } = options;
  const external = new URL(options.externalUrl);
  const externalPath = external.pathname.replace(/\/+$/, '');
  const cookiePath = externalPath || '/';
  const redirectUri = `${external.origin}${externalPath}${CALLBACK_PATH}`;
  const logoutUrl = `${external.origin}${externalPath}${LOGOUT_PATH}`;
  const signInAgain = { href: `${externalPath}/`, text: 'Sign in again' };
  const audience = `${external.origin}${externalPath}`;
  const secrets = readCookieSecrets(options.cookieSecretFile, 'auth.oidc.cookieSecretFile');
  const sessionSeal = createCookieSeal(secrets, 'promgate sso session', audience);
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
  const keptClaims = [
    ...new Set([...STANDARD_CLAIMS, options.userClaim, options.groupsClaim, ...(options.keptClaims ?? [])]),
  ];
  const cookieAttributes = `Path=${cookiePath}; Secure; HttpOnly; SameSite=Lax`;
  const loginCookieAttributes = `Path=${externalPath}${CALLBACK_PATH}; Secure; HttpOnly; SameSite=Lax`;
  const clearSession = `${SESSION_COOKIE}=; ${cookieAttributes}; Max-Age=0`;
  const loginCookieName = (state: string) => `${LOGIN_COOKIE}_${state}`;
  const clearLogin = (state: string) => `${loginCookieName(state)}=; ${loginCookieAttributes}; Max-Age=0`;

  // Who each request is, as its session cookie said (set by the stage, read by the authenticator).
  const identities = new WeakMap<IncomingMessage, Identity>();
  // Opening a cookie decrypts it (~0.1 ms); a hit is a lookup. Expiry is checked on every use.
  const opened = new Map<string, { session: SessionPayload; identity: Identity }>();
  const openSession = async (value: string) => {
    const hit = opened.get(value);
    if (hit) return hit.session.exp > nowSeconds() ? hit : undefined;
    const session = (await sessionSeal.open(value)) as SessionPayload | undefined;
    if (!session || typeof session.u !== 'string' || !Array.isArray(session.g)) return undefined;
    if (opened.size >= OPENED_SESSIONS) opened.delete(opened.keys().next().value as string);
    const entry = { session, identity: identityOf(session) };
    opened.set(value, entry);
    return entry;
  };
  // One refresh per refresh token, shared by the requests that arrive with it at once.
  const refreshes = new Map<string, { result: Promise<Refreshed>; at: number }>();

  const sessionCookie = (value: string, session: SessionPayload) =>
    `${SESSION_COOKIE}=${value}; ${cookieAttributes}; Max-Age=${Math.max(0, session.exp - nowSeconds())}`;

  const sealSession = async (session: SessionPayload): Promise<string | undefined> => {
    const value = await sessionSeal.seal({ ...session }, session.exp * 1000);
    return sessionCookie(value, session).length > COOKIE_SIZE_LIMIT ? undefined : value;
  };

  const identityOf = (session: SessionPayload): Identity =>
    Object.freeze({
      user: session.u,
      groups: Object.freeze(session.g),
      method: 'oidc',
      claims: Object.freeze(session.c),
    });

  /** The session's fields from the provider's claims, or why they cannot make one. */
  const sessionFrom = (claims: Readonly<Record<string, unknown>>): Omit<SessionPayload, 'exp'> | string => {
    const user = claimAt(claims, options.userClaim);
    if (typeof user !== 'string' || user === '') return `the ID token has no ${options.userClaim} claim`;
    // An address anybody may type at a provider that lets users register must not name a user.
    if (options.userClaim === 'email' && claims.email_verified === false) return 'the e-mail address is not verified';
    return { u: user, g: groupsIn(claimAt(claims, options.groupsClaim)), c: pickClaims(claims, keptClaims) };
  };

  const refresh = async (session: SessionPayload & { rt: string }): Promise<Refreshed> => {
    try {
      const configuration = await provider.configuration();
      const tokens = await client.refreshTokenGrant(configuration, session.rt);
      provider.available();
      const claims = tokens.claims();
      const fields = claims ? sessionFrom(claims) : { u: session.u, g: session.g, c: session.c };
      if (typeof fields === 'string' || fields.u !== session.u) {
        logger.info(
          { user: session.u, reason: typeof fields === 'string' ? fields : 'user changed' },
          'refresh refused',
        );
        return 'refused';
      }
      const refreshed: SessionPayload = {
        ...fields,
        rt: tokens.refresh_token ?? session.rt,
        ra: claims?.exp ?? nowSeconds() + (tokens.expires_in ?? 300),
        exp: session.exp,
      };
      const cookie = await sealSession(refreshed);
      return cookie ? { cookie, session: refreshed } : 'refused';
    } catch (error) {
      if (isUnreachable(error)) {
        provider.unavailable(error);
        return 'unavailable';
      }
      logger.info({ user: session.u, reason: reasonOf(error) }, 'session refresh refused by the provider');
      return 'refused';
    }
  };

  const refreshOnce = (session: SessionPayload & { rt: string }): Promise<Refreshed> => {
    const now = Date.now();
    for (const [token, entry] of refreshes) if (now - entry.at > REFRESH_REUSE_MS) refreshes.delete(token);
    const running = refreshes.get(session.rt);
    if (running) return running.result;
    const result = refresh(session);
    refreshes.set(session.rt, { result, at: now });
    // An unreachable provider is asked again by the next request, not after the reuse window.
    void result.then((outcome) => outcome === 'unavailable' && refreshes.delete(session.rt));
    return result;
  };

  /** Opens the request's session cookie (the first of its values that opens), refreshing it when due. */
  const readSession = async (req: IncomingMessage, res: ServerResponse, values: string[]): Promise<void> => {
    let entry: { session: SessionPayload; identity: Identity } | undefined;
    for (const value of values) {
      entry = await openSession(value);
      if (entry) break;
    }
    if (!entry) {
      logger.debug({ path: req.url }, 'session cookie refused');
      res.appendHeader('set-cookie', clearSession);
      return;
    }
    const { session } = entry;
    if (session.rt !== undefined && session.ra !== undefined && nowSeconds() >= session.ra) {
      const outcome = await refreshOnce(session as SessionPayload & { rt: string });
      if (outcome === 'refused') {
        res.appendHeader('set-cookie', clearSession);
        return;
      }
      // An unreachable provider keeps the session for now (until it ends): it is asked again next time.
      if (outcome !== 'unavailable') {
        res.appendHeader('set-cookie', sessionCookie(outcome.cookie, outcome.session));
        identities.set(req, identityOf(outcome.session));
        return;
      }
    }
    identities.set(req, entry.identity);
  };

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
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      returnPath: safeReturnPath(req.url),
    };
    const target = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope,
      state: login.state,
      nonce: login.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(login.verifier),
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
      tokens = await client.authorizationCodeGrant(configuration, current, {
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
    const fields = claims ? sessionFrom(claims) : 'the provider sent no ID token';
    if (typeof fields === 'string') {
      logger.info({ reason: fields }, 'sign-in failed');
      return refuse(`The provider's answer cannot sign you in: ${fields}.`);
    }
    const session: SessionPayload = {
      ...fields,
      ...(tokens.refresh_token ? { rt: tokens.refresh_token, ra: claims?.exp ?? nowSeconds() + 300 } : {}),
      exp: nowSeconds() + Math.floor(options.sessionLifetimeMs / 1000),
    };
    const value = await sealSession(session);
    if (!value) {
      logger.warn({ user: fields.u, groups: fields.g.length }, 'sign-in failed: the session is too large for a cookie');
      return refuse(
        `Your account has too many groups (${fields.g.length}) to keep in a session cookie; ask for the groups claim to be limited to the groups this service uses.`,
      );
    }
    logger.info({ user: fields.u }, 'signed in');
    redirect(res, `${externalPath}${login.returnPath}`, sessionCookie(value, session), ...cookies);
  };

  const logout = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const signedIn = readCookies(req.headers.cookie).has(SESSION_COOKIE);
    const signedOut = (message: string) => sendPage(res, 200, 'Signed out', message, signInAgain, clearSession);
    if (!signedIn) return signedOut('You are signed out.');
    let configuration: client.Configuration | undefined;
    try {
      configuration = await provider.configuration();
    } catch {
      // Signed out here all the same; the provider's own session stays until it expires.
    }
    if (!configuration?.serverMetadata().end_session_endpoint)
      return signedOut('You are signed out here; the sign-in provider may still remember you.');
    const target = client.buildEndSessionUrl(configuration, { post_logout_redirect_uri: logoutUrl });
    redirect(res, target.href, clearSession);
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
      readSession(req, res, values).then(() => next(), next);
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

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A refusal's reason for logs and pages: the OAuth error code or openid-client's message, never a token. */
function reasonOf(error: unknown): string {
  if (error instanceof client.AuthorizationResponseError || error instanceof client.ResponseBodyError)
    return error.error_description ? `${error.error}: ${error.error_description}` : error.error;
  return error instanceof Error ? error.message : String(error);
}
