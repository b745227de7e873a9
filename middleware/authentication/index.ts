// The authentication stage: a route's authenticators, and one rule. A request is judged by the
// first authenticator whose credentials it presents; that one's identity or refusal decides. A
// request presenting none goes on anonymous, unless the route requires a login: then it gets the
// 401 challenge. The identity is handed on as req.promgate.identity (and .user).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from '../../src/kernel/error-answer.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import {
  credentialsOf,
  isRefusal,
  setIdentity,
  type Authenticator,
  type Identity,
  type Refusal,
} from '../../src/kernel/request-state.ts';

export interface AuthenticationOptions {
  /** In the order they are asked whether the request presents their credentials. */
  authenticators: readonly Authenticator[];
  /** Whether a request presenting no credentials is refused (else it goes on anonymous). */
  required: boolean;
  /** The Basic challenge's realm (the schema forbids quotes in it). */
  realm: string;
  /** Paths below the base path that skip auth: exact, or a prefix when ending in `*`. */
  unauthenticatedPaths: readonly string[];
  logger: Logger;
  /** Counts refused requests by reason (self-metrics). */
  onFailure?: (reason: string) => void;
}

type Req = IncomingMessage & { url: string; path?: string };
type Next = (error?: unknown) => void;

export interface AuthenticationStage {
  handle(req: Req, res: ServerResponse, next: Next): void;
  /** Answers 401 with the challenge, counted and logged as a refused login on the route. */
  refuse(req: Req, res: ServerResponse, refusal: Refusal): void;
}

const NOTHING_PRESENTED: Refusal = Object.freeze({ refused: 'missing_credentials' });

/** Paths whose meaning an upstream could change by normalizing (or a `#`) never skip auth. */
const AMBIGUOUS_PATH = /(^|\/)(\.|%2e){1,2}(\/|$)|\/\/|\\|%2f|%5c|#/i;

export function createAuthenticationStage(options: AuthenticationOptions): AuthenticationStage {
  const { authenticators, required, logger } = options;
  const skipsAuth = compilePathPatterns(options.unauthenticatedPaths);
  // Every method's challenge: a client learns which schemes the route takes.
  const challenges = authenticators.map((each) => each.challenge).filter((each) => each !== undefined);
  const challenge =
    challenges.length > 0 && !authenticators.some((each) => each.method === 'basic')
      ? challenges.join(', ')
      : [`Basic realm="${options.realm}", charset="UTF-8"`, ...challenges].join(', ');
  const answersAnonymous = authenticators.filter((each) => each.answerAnonymous !== undefined);
  const textBody = '401 Unauthorized\n';
  const apiBody = JSON.stringify({ status: 'error', errorType: 'unauthorized', error: 'authentication required' });

  const refuse = (req: Req, res: ServerResponse, refusal: Refusal) => {
    options.onFailure?.(refusal.refused);
    // An unknown "user" is often a password typed into the wrong field: it is not logged. A name
    // that exists (a wrong password's user, an expired token's owner) is.
    logger.info(
      {
        method: req.method,
        path: pathOf(req),
        reason: refusal.refused,
        ...(refusal.refused === 'wrong_password' || refusal.refused === 'expired_token'
          ? { user: refusal.claimed }
          : {}),
      },
      'authentication failed',
    );
    const api = rawPath(req.url).startsWith('/api/');
    const body = api ? apiBody : textBody;
    res.writeHead(401, {
      'www-authenticate': challenge,
      'content-type': api ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  // The method's provider could not be asked (its cause is logged there): not the client's fault.
  const unavailable = (req: Req, res: ServerResponse, error: Error) => {
    logger.debug({ method: req.method, path: pathOf(req), error: error.message }, 'authentication unavailable');
    res.setHeader('retry-after', '5');
    sendError(res, rawPath(req.url), 503, 'unavailable', 'authentication is unavailable; try again shortly');
  };

  const settle = (req: Req, res: ServerResponse, next: Next, result: Identity | Refusal) => {
    if (isRefusal(result)) return refuse(req, res, result);
    setIdentity(req, result);
    next();
  };

  return {
    handle(req, res, next) {
      // The raw path, as it is forwarded (req.path drops a `#...` that the upstream would still get).
      if (skipsAuth(rawPath(req.url))) return next();
      credentialsOf(req); // parsed once here; every later reader gets the cached form
      const authenticator = authenticators.find((each) => each.presents(req));
      if (!authenticator) {
        if (!required) return next();
        if (answersAnonymous.some((each) => each.answerAnonymous!(req, res))) return;
        return refuse(req, res, NOTHING_PRESENTED);
      }
      const result = authenticator.authenticate(req);
      if (result instanceof Promise)
        result.then(
          (settled) => settle(req, res, next, settled),
          (error: unknown) => (isUnavailable(error) ? unavailable(req, res, error) : next(error)),
        );
      else settle(req, res, next, result);
    },
    refuse,
  };
}

/** An authenticator's error that says its provider (a key set, a sign-in provider) is unreachable. */
const isUnavailable = (error: unknown): error is Error =>
  error instanceof Error && (error as Error & { status?: unknown }).status === 503;

const rawPath = (url: string) => {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
};

const pathOf = (req: Req) => req.path ?? rawPath(req.url);

function compilePathPatterns(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const exact = new Set(patterns.filter((pattern) => !pattern.endsWith('*')));
  const prefixes = patterns.filter((pattern) => pattern.endsWith('*')).map((pattern) => pattern.slice(0, -1));
  return (path) =>
    !AMBIGUOUS_PATH.test(path) && (exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix)));
}
