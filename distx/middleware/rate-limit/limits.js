import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { parseDuration } from "../../src/config/schema.js";
import { sendError } from "../../src/error-answer.js";
import "../../src/request-state.js";
import { parseBasicCredentials } from "../basic-auth/index.js";
export function createRequestLimits(options) {
    const { config, trustProxy, logger } = options;
    const clientKey = (req) => ipKeyGenerator(clientAddress(req, trustProxy));
    // `skip` runs here, synchronously: inside express-rate-limit it costs every request an await.
    const build = (name, limit, settings, skip) => {
        if (limit.requests === 0)
            return undefined;
        const rule = `rate-limit.${name}`;
        const limiter = rateLimit({
            windowMs: parseDuration(limit.window),
            limit: limit.requests,
            standardHeaders: false, // no RateLimit-* headers on every answer; Retry-After on 429 (below)
            legacyHeaders: false,
            passOnStoreError: config.redis.failOpen,
            ...(options.createStore ? { store: options.createStore(name) } : {}),
            // Keys are built here, from the socket or trusted proxies (trustProxy), not from Express's req.ip.
            validate: { trustProxy: false, xForwardedForHeader: false, ip: false, keyGeneratorIpFallback: false },
            logger: {
                warn: (message) => logger.warn({ limit: rule }, String(message)),
                error: (error, message) => {
                    options.onStoreError?.();
                    logger.error({ limit: rule, error: error instanceof Error ? error.message : String(error) }, message ?? 'rate limit failed');
                },
            },
            handler: (req, res) => {
                (req.promgate ??= {}).rule = rule;
                options.onLimited?.(rule);
                const resetTime = req.rateLimit?.resetTime;
                const retryAfter = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + 1000) - Date.now()) / 1000));
                logger.info({ method: req.method, path: req.originalUrl.split('?', 1)[0], rule, retry_after_s: retryAfter }, 'rate limited');
                sendError(res, req.url, 429, 'too_many_requests', 'too many requests', { 'retry-after': String(retryAfter) });
            },
            ...settings,
        });
        // With failOpen off, a store failure reaches us as an error: the request is refused, 503.
        return (req, res, next) => {
            if (skip?.(req))
                return next();
            void limiter(req, res, (error) => {
                if (error === undefined)
                    return next();
                options.onStoreError?.();
                logger.error({ limit: rule, error: error instanceof Error ? error.message : String(error) }, 'rate limit store failed; refusing the request (redis.failOpen is off)');
                sendError(res, req.url, 503, 'unavailable', 'rate limit store unavailable');
            });
        };
    };
    const failuresOnly = {
        skipSuccessfulRequests: true,
        requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    };
    const failedPerClient = build('failed-auth-per-client', config.failedAuthPerClient, {
        ...failuresOnly,
        keyGenerator: clientKey,
    });
    const failedPerUser = build('failed-auth-per-user', config.failedAuthPerUser, {
        ...failuresOnly,
        keyGenerator: (req) => `user:${parseBasicCredentials(req.headers.authorization ?? '')?.user ?? ''}`,
    }, (req) => parseBasicCredentials(req.headers.authorization ?? '') === undefined);
    const failedAuth = chain(failedPerClient, failedPerUser);
    return {
        perClient: build('per-client', config.perClient, { keyGenerator: clientKey }),
        // Only requests with credentials not yet known to be right can fail a login.
        failedAuth: failedAuth && ((req, res, next) => (req.headers.authorization === undefined || options.knownGood?.(req) === true ? next() : failedAuth(req, res, next))),
        perUser: build('per-user', config.perUser, { keyGenerator: (req) => `user:${req.promgate?.user ?? ''}` }, (req) => req.promgate?.user === undefined),
    };
}
/** The client's address: the socket's, or, from a trusted proxy, the last untrusted X-Forwarded-For hop. */
export function clientAddress(req, trustProxy) {
    const peer = req.socket.remoteAddress ?? '';
    if (!trustProxy || !isTrusted(trustProxy, peer))
        return peer;
    const forwarded = [req.headers['x-forwarded-for'] ?? []].flat().join(',');
    if (!forwarded)
        return peer;
    const hops = forwarded.split(',').map((hop) => hop.trim()).filter(Boolean);
    for (let index = hops.length - 1; index >= 0; index--) {
        const hop = hops[index];
        if (!isTrusted(trustProxy, hop))
            return hop;
    }
    return hops[0] ?? peer;
}
function isTrusted(list, address) {
    try {
        return list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
    }
    catch {
        return false; // not an IP address: a forged hop is never trusted
    }
}
function chain(...handlers) {
    const present = handlers.filter((handler) => handler !== undefined);
    if (present.length <= 1)
        return present[0];
    return (req, res, next) => {
        let index = 0;
        const step = (error) => {
            if (error !== undefined)
                return next(error);
            const handler = present[index++];
            if (!handler)
                return next();
            void handler(req, res, step);
        };
        step();
    };
}
//# sourceMappingURL=limits.js.map