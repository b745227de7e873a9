// What the gateway learns about a request and hands to later stages and user middleware, and the
// one seam every authentication method plugs into.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientIdentity } from './client-certificate.ts';

/** Where user middleware slots into the chain, in chain order. */
export const HOOKS = ['beforeAuth', 'afterAuth', 'beforeProxy'] as const;
export type HookName = (typeof HOOKS)[number];

/** Who a request is, once an authenticator accepted it. */
export interface Identity {
  /** The name roles, limits and logs use. */
  user: string;
  /** Groups the method vouches for (none for basic auth and client certificates). */
  groups: readonly string[];
  /** The authenticator that established it. */
  method: 'basic' | 'client-certificate' | 'token' | 'jwt' | 'oidc' | (string & {});
  /** The verified claims of a JWT or an ID token, for tenant values taken from a claim. */
  claims?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * What a tenant may see: label name -> allowed values. A series is visible when every listed label
 * has one of its values. Absent on a request: not restricted.
 */
export type TenantScope = Readonly<Record<string, readonly string[]>>;

/** Why an authenticator refused the credentials a request presented. */
export interface Refusal {
  refused: 'missing_credentials' | 'unknown_user' | 'wrong_password' | (string & {});
  /** The name the request claimed, logged for a wrong password only (an unknown one is often a password). */
  claimed?: string | undefined;
}

/**
 * One authentication method. A route holds a list; a request is judged by the first one whose
 * credentials it presents, and that one's identity or refusal decides.
 */
export interface Authenticator {
  readonly method: Identity['method'];
  /** Whether the request carries this method's credentials (cheap: reads parsed credentials). */
  presents(req: IncomingMessage): boolean;
  /** Synchronous when it can answer from memory (a keep-alive connection's accepted credentials). */
  authenticate(req: IncomingMessage): Promise<Identity | Refusal> | Identity | Refusal;
  /** This method's WWW-Authenticate challenge, added to a 401 (e.g. `Bearer realm="promgate"`). */
  readonly challenge?: string | undefined;
  /**
   * Answers a request that presents no credentials on a route that requires them, instead of the
   * 401 (sign-in redirects a browser's page navigation). Returns whether it answered.
   */
  answerAnonymous?(req: IncomingMessage, res: ServerResponse): boolean;
}

export function isRefusal(result: Identity | Refusal): result is Refusal {
  return (result as Refusal).refused !== undefined;
}

const CREDENTIALS = Symbol('promgate.credentials');

/** The Authorization header, parsed once per request. */
export type Credentials =
  | { scheme: 'basic'; user: string; password: string }
  /** Any other scheme (`bearer`, ...), or a Basic header that does not decode to user:password. */
  | { scheme: string; user?: undefined; token: string };

export interface PromgateRequestState {
  /** Who the request is, when an authenticator accepted it. */
  identity?: Identity | undefined;
  /** The authenticated user name: `identity.user` of a password method (basic). */
  user?: string | undefined;
  /** The client certificate (mTLS), when the listener asks for one and the client sent it. */
  client?: ClientIdentity;
  /** The access-control or rate-limit rule that decided the request (access logs show it). */
  rule?: string;
  /** The request's roles, once access control mapped its identity and client certificate. */
  roles?: readonly string[];
  /** What the request may see when one of its roles restricts it to a tenant; absent: everything. */
  tenant?: TenantScope | undefined;
  /** The parsed Authorization header (symbol-keyed: never serialized into logs). */
  [CREDENTIALS]?: Credentials | null;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by promgate's stages (e.g. `req.promgate.user` after basic auth). */
      promgate?: PromgateRequestState;
    }
  }
}

type WithState = IncomingMessage & { promgate?: PromgateRequestState };

/** The request's state, created on first use. */
export function requestState(req: IncomingMessage): PromgateRequestState {
  return ((req as WithState).promgate ??= {});
}

/** The request's Authorization header, parsed on first use and cached on its state; undefined without one. */
export function credentialsOf(req: IncomingMessage): Credentials | undefined {
  const state = requestState(req);
  let parsed = state[CREDENTIALS];
  if (parsed === undefined) parsed = state[CREDENTIALS] = parseAuthorization(req.headers.authorization);
  return parsed ?? undefined;
}

/** Records who the request is: `identity`, and `user` for a password method (roles map users by it). */
export function setIdentity(req: IncomingMessage, identity: Identity): void {
  const state = requestState(req);
  state.identity = identity;
  if (identity.method !== 'client-certificate') state.user = identity.user;
}

/** `Basic <base64 user:password>` as browsers and express-basic-auth read it; any other scheme keeps its token. */
export function parseAuthorization(header: string | undefined): Credentials | null {
  if (header === undefined) return null;
  const basic = /^ *basic +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) return { scheme: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const space = header.trim().indexOf(' ');
  const trimmed = header.trim();
  return {
    scheme: (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase(),
    token: space < 0 ? '' : trimmed.slice(space + 1).trim(),
  };
}
