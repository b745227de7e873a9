// Request limits with express-rate-limit: per client address, per authenticated user, and failed
// logins per address and per user name (brute-force protection). Counters live in memory, or in
// Redis so that replicas share them (./redis-store.ts). A limited request gets 429 with
// Retry-After and never reaches the upstream.
import type { BlockList } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type Options, type Store } from 'express-rate-limit';
import { sendError } from '../../src/kernel/error-answer.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import { credentialsOf } from '../../src/kernel/request-state.ts';

export type LimitName = 'per-client' | 'per-user' | 'failed-auth-per-client' | 'failed-auth-per-user';

/** At most `requests` per `windowMs`; 0 requests turns the limit off. */
export interface LimitSetting {
  requests: number;
  windowMs: number;
}

export interface RequestLimitsOptions {
  perClient: LimitSetting;
  perUser: LimitSetting;
  failedAuthPerClient: LimitSetting;
  failedAuthPerUser: LimitSetting;
  /** On a store failure, let the request pass (true) or refuse it with 503. */
  failOpen: boolean;
  trustProxy: BlockList | undefined;
  logger: Logger;
  /** A store per limit (Redis); default: express-rate-limit's memory store. */
  createStore?: (name: LimitName) => Store;
  /** Whether the request's credentials skip the failed-login limits (known right, or being checked). */
  sparedFromFailedLoginLimits?: (req: Request) => boolean;
  /** Counts a limited request with its rule (self-metrics). */
  onLimited?: (rule: string) => void;
  /** Counts store failures (self-metrics); the request then passes or gets 503 (redis.failOpen). */
  onStoreError?: () => void;
}

export interface RequestLimits {
  /** Before auth: every request, per client address. */
  perClient?: RequestHandler;
  /** Before auth: requests with credentials, counted only when they fail. */
  failedAuth?: RequestHandler;
  /** After auth: per authenticated user. */
  perUser?: RequestHandler;
}

export function createRequestLimits(options: RequestLimitsOptions): RequestLimits {
  const { trustProxy, logger } = options;
  const clientKey = (req: Request) => ipKeyGenerator(clientAddress(req, trustProxy));
  // `skip` runs here, synchronously: inside express-rate-limit it costs every request an await.
  const build = (
    name: LimitName,
    limit: LimitSetting,
    settings: Partial<Options>,
    skip?: (req: Request) => boolean,
  ) => {
    if (limit.requests === 0) return undefined;
    const rule = `rate-limit.${name}`;
    const limiter = rateLimit({
      windowMs: limit.windowMs,
      limit: limit.requests,
      standardHeaders: false, // no RateLimit-* headers on every answer; Retry-After on 429 (below)
      legacyHeaders: false,
      passOnStoreError: options.failOpen,
      ...(options.createStore ? { store: options.createStore(name) } : {}),
      // Keys are built here, from the socket or trusted proxies (trustProxy), not from Express's req.ip.
      validate: { trustProxy: false, xForwardedForHeader: false, ip: false, keyGeneratorIpFallback: false },
      logger: {
        warn: (message: unknown) => logger.warn({ limit: rule }, String(message)),
        error: (error: unknown, message?: string) => {
          options.onStoreError?.();
          logger.error(
            { limit: rule, error: error instanceof Error ? error.message : String(error) },
            message ?? 'rate limit failed',
          );
        },
      },
      handler: (req: Request, res: Response) => {
        (req.promgate ??= {}).rule = rule;
        options.onLimited?.(rule);
        const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
        const retryAfter = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + 1000) - Date.now()) / 1000));
        logger.info(
          { method: req.method, path: req.originalUrl.split('?', 1)[0], rule, retry_after_s: retryAfter },
          'rate limited',
        );
        sendError(res, req.url, 429, 'too_many_requests', 'too many requests', { 'retry-after': String(retryAfter) });
      },
      ...settings,
    });
    // With failOpen off, a store failure reaches us as an error: the request is refused, 503.
    return (req: Request, res: Response, next: NextFunction) => {
      if (skip?.(req)) return next();
      void limiter(req, res, (error?: unknown) => {
        if (error === undefined) return next();
        options.onStoreError?.();
        logger.error(
          { limit: rule, error: error instanceof Error ? error.message : String(error) },
          'rate limit store failed; refusing the request (redis.failOpen is off)',
        );
        sendError(res, req.url, 503, 'unavailable', 'rate limit store unavailable');
      });
    };
  };
  const failuresOnly: Partial<Options> = {
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
  };
  const failedPerClient = build('failed-auth-per-client', options.failedAuthPerClient, {
    ...failuresOnly,
    keyGenerator: clientKey,
  });
  const failedPerUser = build(
    'failed-auth-per-user',
    options.failedAuthPerUser,
    {
      ...failuresOnly,
      keyGenerator: (req) => `user:${credentialsOf(req)?.user ?? ''}`,
    },
    (req) => credentialsOf(req)?.user === undefined,
  );
  const failedAuth = chain(failedPerClient, failedPerUser);
  return {
    perClient: build('per-client', options.perClient, { keyGenerator: clientKey }),
    // Only requests with credentials not yet known to be right (nor being checked) can fail a login.
    failedAuth:
      failedAuth &&
      ((req, res, next) =>
        credentialsOf(req) === undefined || options.sparedFromFailedLoginLimits?.(req) === true
          ? next()
          : failedAuth(req, res, next)),
    perUser: build(
      'per-user',
      options.perUser,
      { keyGenerator: (req) => `user:${req.promgate?.user ?? ''}` },
      (req) => req.promgate?.user === undefined,
    ),
  };
}

/** The client's address: the socket's, or, from a trusted proxy, the last untrusted X-Forwarded-For hop. */
export function clientAddress(req: Request, trustProxy: BlockList | undefined): string {
  const peer = req.socket.remoteAddress ?? '';
  if (!trustProxy || !isTrusted(trustProxy, peer)) return peer;
  const forwarded = [req.headers['x-forwarded-for'] ?? []].flat().join(',');
  if (!forwarded) return peer;
  const hops = forwarded
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  for (let index = hops.length - 1; index >= 0; index--) {
    const hop = hops[index]!;
    if (!isTrusted(trustProxy, hop)) return hop;
  }
  return hops[0] ?? peer;
}

function isTrusted(list: BlockList, address: string): boolean {
  try {
    return list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
  } catch {
    return false; // not an IP address: a forged hop is never trusted
  }
}

function chain(...handlers: Array<RequestHandler | undefined>): RequestHandler | undefined {
  const present = handlers.filter((handler): handler is RequestHandler => handler !== undefined);
  if (present.length <= 1) return present[0];
  return (req: Request, res: Response, next: NextFunction) => {
    let index = 0;
    const step = (error?: unknown): void => {
      if (error !== undefined) return next(error);
      const handler = present[index++];
      if (!handler) return next();
      void handler(req, res, step);
    };
    step();
  };
}
