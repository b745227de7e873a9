// The sign-in session: a sealed cookie holding the user, the groups, a few claims and the refresh
// token. Opened once per request (remembered by value, so a browser's next requests cost a
// lookup) and renewed with the refresh token when the ID token it came from expired: one refresh
// per token, shared by the requests that arrive with it at once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GATEWAY_COOKIE_PREFIX } from '../../src/kernel/gateway-cookies.ts';
import { lazyModule } from '../../src/kernel/lazy-module.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import type { Identity } from '../../src/kernel/request-state.ts';
import { claimAt, groupsIn, pickClaims } from './claims.ts';
import { isUnreachable, reasonOf, type ProviderConnection } from './provider.ts';
import type { CookieSeal } from './seal.ts';

export const SESSION_COOKIE = `${GATEWAY_COOKIE_PREFIX}session`;
/** Browsers keep cookies up to 4096 bytes (name, value and attributes). */
export const COOKIE_SIZE_LIMIT = 4096;
/** How long a refresh's result is handed to requests still carrying the cookie it replaced. */
const REFRESH_REUSE_MS = 60_000;
/** Sessions opened recently, by cookie value: a browser repeats its cookie on every request. */
const OPENED_SESSIONS = 1024;
/** Claims always kept, besides the user claim and those tenancy names (the groups are kept apart). */
const STANDARD_CLAIMS = ['iss', 'sub', 'preferred_username', 'email', 'name'];
/** When the provider sends no expiry with a refresh, the identity is renewed after this long. */
const DEFAULT_REFRESH_AFTER_S = 300;

export interface SessionCookieOptions {
  seal: CookieSeal;
  /** The cookie's Path: the route's external base path. */
  path: string;
  provider: ProviderConnection;
  userClaim: string;
  groupsClaim: string;
  /** Claims tenancy reads (`${claims.NAME}`). */
  keptClaims: readonly string[];
  /** How long a sign-in lasts; refreshes do not extend it. */
  lifetimeMs: number;
  logger: Logger;
}

export interface SessionCookies {
  /** The Set-Cookie line that removes the session. */
  readonly clear: string;
  /** A new session from a sign-in's ID token claims: its Set-Cookie line, or why there is none. */
  start(
    claims: Readonly<Record<string, unknown>>,
    refreshToken: string | undefined,
  ): Promise<{ setCookie: string; user: string } | string>;
  /**
   * The identity of the first of the request's session cookies that opens, refreshed when due;
   * undefined when none does (the removal or the renewed cookie is added to `res`).
   */
  read(req: IncomingMessage, res: ServerResponse, values: readonly string[]): Promise<Identity | undefined>;
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

type Opened = { session: SessionPayload; identity: Identity };
type Refreshed = { setCookie: string; session: SessionPayload } | 'refused' | 'unavailable';

const openid = lazyModule<typeof import('openid-client')>('openid-client');

export function createSessionCookies(options: SessionCookieOptions): SessionCookies {
  const { seal, provider, logger } = options;
  const attributes = `Path=${options.path}; Secure; HttpOnly; SameSite=Lax`;
  const clear = `${SESSION_COOKIE}=; ${attributes}; Max-Age=0`;
  const keptClaims = [...new Set([...STANDARD_CLAIMS, options.userClaim, ...options.keptClaims])];
  const opened = new Map<string, Opened>();
  const refreshes = new Map<string, { result: Promise<Refreshed>; at: number }>();

  /** The Set-Cookie line for a session, or undefined when it would not fit in a cookie. */
  const sealSession = async (session: SessionPayload): Promise<string | undefined> => {
    const value = await seal.seal({ ...session }, session.exp * 1000);
    const line = `${SESSION_COOKIE}=${value}; ${attributes}; Max-Age=${Math.max(0, session.exp - nowSeconds())}`;
    return line.length > COOKIE_SIZE_LIMIT ? undefined : line;
  };

  /** The session's fields from the provider's claims, or why they cannot make one. */
  const fieldsFrom = (claims: Readonly<Record<string, unknown>>): Omit<SessionPayload, 'exp'> | string => {
    const user = claimAt(claims, options.userClaim);
    if (typeof user !== 'string' || user === '') return `the ID token has no ${options.userClaim} claim`;
    // An address anybody may type at a provider that lets users register must not name a user.
    if (options.userClaim === 'email' && claims.email_verified === false) return 'the e-mail address is not verified';
    return { u: user, g: groupsIn(claimAt(claims, options.groupsClaim)), c: pickClaims(claims, keptClaims) };
  };

  const open = async (value: string): Promise<Opened | undefined> => {
    const hit = opened.get(value);
    if (hit) return hit.session.exp > nowSeconds() ? hit : undefined;
    const session = (await seal.open(value)) as SessionPayload | undefined;
    if (!session || typeof session.u !== 'string' || !Array.isArray(session.g)) return undefined;
    if (opened.size >= OPENED_SESSIONS) opened.delete(opened.keys().next().value as string);
    const entry = { session, identity: identityOf(session) };
    opened.set(value, entry);
    return entry;
  };

  const refresh = async (session: SessionPayload & { rt: string }): Promise<Refreshed> => {
    try {
      const configuration = await provider.configuration();
      const tokens = await openid().refreshTokenGrant(configuration, session.rt);
      provider.available();
      const claims = tokens.claims();
      const fields = claims ? fieldsFrom(claims) : { u: session.u, g: session.g, c: session.c };
      if (typeof fields === 'string' || fields.u !== session.u) {
        const reason = typeof fields === 'string' ? fields : 'the user changed';
        logger.info({ user: session.u, reason }, 'session refresh refused');
        return 'refused';
      }
      const renewed: SessionPayload = {
        ...fields,
        rt: tokens.refresh_token ?? session.rt,
        ra: claims?.exp ?? nowSeconds() + (tokens.expires_in ?? DEFAULT_REFRESH_AFTER_S),
        exp: session.exp,
      };
      const setCookie = await sealSession(renewed);
      return setCookie ? { setCookie, session: renewed } : 'refused';
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

  return {
    clear,
    async start(claims, refreshToken) {
      const fields = fieldsFrom(claims);
      if (typeof fields === 'string') return fields;
      const session: SessionPayload = {
        ...fields,
        ...(refreshToken
          ? {
              rt: refreshToken,
              ra: typeof claims.exp === 'number' ? claims.exp : nowSeconds() + DEFAULT_REFRESH_AFTER_S,
            }
          : {}),
        exp: nowSeconds() + Math.floor(options.lifetimeMs / 1000),
      };
      let setCookie = await sealSession(session);
      if (!setCookie && session.rt !== undefined) {
        // Some providers' refresh tokens are large: rather a session that lasts without renewal than none.
        logger.warn({ user: fields.u }, 'the refresh token does not fit in the session cookie; it is not kept');
        setCookie = await sealSession({ u: session.u, g: session.g, c: session.c, exp: session.exp });
      }
      if (!setCookie) {
        logger.warn(
          { user: fields.u, groups: fields.g.length },
          'sign-in failed: the session is too large for a cookie',
        );
        return `your account has too many groups (${fields.g.length}) to keep in a session cookie; ask for the groups claim to be limited to the groups this service uses`;
      }
      return { setCookie, user: fields.u };
    },
    async read(req, res, values) {
      let entry: Opened | undefined;
      for (const value of values) {
        entry = await open(value);
        if (entry) break;
      }
      if (!entry) {
        logger.debug({ path: req.url }, 'session cookie refused');
        res.appendHeader('set-cookie', clear);
        return undefined;
      }
      const { session } = entry;
      if (session.rt === undefined || session.ra === undefined || nowSeconds() < session.ra) return entry.identity;
      const outcome = await refreshOnce(session as SessionPayload & { rt: string });
      // An unreachable provider keeps the session for now (until it ends): it is asked again next time.
      if (outcome === 'unavailable') return entry.identity;
      if (outcome === 'refused') {
        res.appendHeader('set-cookie', clear);
        return undefined;
      }
      res.appendHeader('set-cookie', outcome.setCookie);
      return identityOf(outcome.session);
    },
  };
}

function identityOf(session: SessionPayload): Identity {
  return Object.freeze({
    user: session.u,
    groups: Object.freeze(session.g),
    method: 'oidc',
    claims: Object.freeze(session.c),
  });
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
