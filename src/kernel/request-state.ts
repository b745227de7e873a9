// What the gateway learns about a request and hands to later stages and user middleware, and the
// one seam every authentication method plugs into.
import type { IncomingMessage } from 'node:http';
import type { ClientIdentity } from './client-certificate.ts';

/** Where user middleware slots into the chain, in chain order. */
export const HOOKS = ['beforeAuth', 'afterAuth', 'beforeProxy'] as const;
export type HookName = (typeof HOOKS)[number];

/** Who a request is, once an authenticator accepted it. */
export interface Identity {
  /** The name roles, limits and logs use. */
  user: string;
  /** Groups the method vouches for (none for basic auth and client certificates today). */
  groups: readonly string[];
  /** The authenticator that established it. */
  method: 'basic' | 'client-certificate' | (string & {});
}

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
