// The whole life of a request, in order. Each stage is built once by its factory (validation and
// precomputation happen there); at request time the chain only walks this array.
import { BlockList } from 'node:net';
import express, {} from 'express';
import { createAccessLogStage } from "../middleware/access-log/index.js";
import { clientNames, createAccessControlStage, PRESET_RULES } from "../middleware/access-control/index.js";
import { readClientIdentity } from "./tls/client-certificates.js";
import { createBasePathRedirect, createOriginForm } from "../middleware/base-path/index.js";
import { createBasicAuthStage } from "../middleware/basic-auth/index.js";
import { createClientIdentityStage } from "../middleware/client-identity/index.js";
import { createCorsStage } from "../middleware/cors/index.js";
import { createHealthStage, watchUpstreamReadiness } from "../middleware/health/index.js";
import { createGatewayMetrics, METRICS_PATH, sendMetrics } from "../middleware/metrics/index.js";
import { createProxyStage } from "../middleware/proxy/index.js";
import { createRateLimitStage } from "../middleware/rate-limit/index.js";
import { createRequestLimits } from "../middleware/rate-limit/limits.js";
import { connectRedis } from "../middleware/rate-limit/redis-store.js";
import { createSecurityHeaders } from "../middleware/security-headers/index.js";
import { validateConfig } from "./config/load.js";
import { ConfigError } from "./errors.js";
import { loadWebConfig } from "./config/web-config.js";
import { parseDuration } from "./config/schema.js";
import { asPinoLogger, silentLogger } from "./logger.js";
/** Where user middleware slots into the chain. */
export const HOOKS = ['beforeAuth', 'afterAuth', 'beforeProxy'];
export function createGateway(options = {}) {
    const { middleware, on, logger = silentLogger, helmet, registry, ...settings } = options;
    const config = validateConfig(toConfigInput(settings), 'createGateway options');
    const webConfig = config.web.config.file ? loadWebConfig(config.web.config.file) : undefined;
    return assembleGateway(config, { middleware, on, logger, helmet, registry, webConfig });
}
/** Builds the stage list from a validated config. */
export function assembleGateway(config, extensions) {
    const { webConfig, logger } = extensions;
    const metrics = createGatewayMetrics(extensions.registry);
    const upstream = new URL(config.upstream.url);
    // promgate's own `headers` win over the web config's, which win over the preset.
    const headerOverrides = (web) => ({ ...web?.headers, ...config.headers });
    const securityHeaders = createSecurityHeaders({ overrides: headerOverrides(webConfig), helmet: extensions.helmet });
    const readiness = watchUpstreamReadiness({
        upstream,
        path: config.upstream.readyPath ?? PRESET_RULES[config.preset].readyPath,
        intervalMs: parseDuration(config.upstream.readyInterval),
        logger,
        onResult: metrics.upstreamUp,
    });
    const trustProxy = toBlockList(config.trustProxy);
    const proxy = createProxyStage({
        upstream,
        timeoutMs: parseDuration(config.upstream.timeout),
        forwardAuthorization: config.upstream.forwardAuthorization,
        trustProxy,
        securityHeaders,
        logger,
        events: extensions.on,
        onUpstreamError: metrics.upstreamError,
    });
    const configUsers = new Map(Object.entries(config.auth.users).map(([user, hash]) => [user, { scheme: 'bcrypt', hash }]));
    const staticUsers = new Map([...(webConfig?.users ?? []), ...configUsers]);
    for (const user of configUsers.keys()) {
        if (webConfig?.users.has(user))
            throw new ConfigError(`user "${user}" is also in basic_auth_users of ${webConfig.file}; keep one`, { key: `auth.users.${user}` });
    }
    const auth = !config.auth.off && (config.auth.htpasswdFile || staticUsers.size > 0)
        ? createBasicAuthStage({
            htpasswdFile: config.auth.htpasswdFile,
            staticUsers,
            staticUsersSource: configUsers.size > 0 ? 'auth.users' : webConfig?.file,
            realm: config.auth.realm,
            allowPlaintext: config.auth.allowPlaintext,
            cacheSize: config.auth.cacheSize,
            cacheTtlMs: parseDuration(config.auth.cacheTtl),
            unauthenticatedPaths: config.auth.unauthenticatedPaths,
            logger,
            onFailure: metrics.authFailure,
            onReloadResult: (ok) => metrics.reloaded('htpasswd', ok),
        })
        : undefined;
    if (auth && config.auth.htpasswdFile)
        metrics.loaded('htpasswd');
    const route = config.basePath;
    // No access log for a silent logger: nothing would be written, so save the work.
    const accessLog = config.log.accessLog && logger !== silentLogger ? [{ name: 'access-log', handle: createAccessLogStage(asPinoLogger(logger)) }] : [];
    const observeStages = [{ name: 'metrics', handle: (req, res, next) => metrics.observeRequest(req, res, next, route) }, ...accessLog];
    const health = createHealthStage(readiness);
    const accessControl = createAccessControlStage({ config: config.accessControl, preset: config.preset, logger, onDecision: metrics.decision });
    const redis = config.rateLimit.redis.url ? connectRedis(config.rateLimit.redis.url, config.rateLimit.redis.prefix, logger) : undefined;
    const limits = createRequestLimits({
        config: config.rateLimit,
        trustProxy,
        logger,
        createStore: redis?.createStore,
        knownGood: auth?.knownGood,
        onLimited: (rule) => metrics.decision(false, rule),
        onStoreError: metrics.rateLimitStoreError,
    });
    const cors = createCorsStage(config.cors);
    const optional = (name, handle) => (handle ? [{ name, handle }] : []);
    const hook = (name) => [extensions.middleware?.[name] ?? []].flat().map((handle, index) => ({ name: `${name}[${index}]`, handle }));
    const stages = [
        ...observeStages,
        { name: 'origin-form', handle: createOriginForm() },
        { name: 'security-headers', handle: securityHeaders.handle },
        // Before rate limits and auth: probes carry no credentials and must not be throttled.
        { name: 'health', handle: health },
        // Preflights carry no credentials: answered before auth.
        ...optional('cors', cors),
        // Built once: as in Prometheus, the limiter stays as started when the web config changes.
        ...optional('rate-limit', webConfig?.rateLimit ? createRateLimitStage(webConfig.rateLimit) : undefined),
        ...optional('rate-limit.per-client', limits.perClient),
        { name: 'base-path-redirect', handle: createBasePathRedirect() },
        ...optional('client-identity', webConfig?.tls?.clientAuth ? createClientIdentityStage() : undefined),
        ...hook('beforeAuth'),
        ...optional('rate-limit.failed-auth', auth ? limits.failedAuth : undefined),
        ...optional('basic-auth', auth?.handle),
        // After auth, which names the user; before anything that answers for the upstream.
        { name: 'access-control', handle: accessControl.handle },
        ...optional('rate-limit.per-user', limits.perUser),
        ...optional('self-metrics', config.metrics.exposeOnGateway ? createSelfMetricsStage(metrics) : undefined),
        ...hook('afterAuth'),
        ...hook('beforeProxy'),
        { name: 'proxy', handle: proxy.handle },
    ];
    const skip = (process.env.SKIP ?? "").split(","); const handleMounted = chainStages(stages.filter((s) => !skip.includes(s.name)));
    const router = express.Router({ caseSensitive: true, strict: true });
    router.use(handleMounted);
    const close = () => {
        void redis?.close();
        readiness.close();
        auth?.close();
        proxy.close();
    };
    const prepareWebConfig = (next) => {
        const users = new Map([...(next?.users ?? []), ...configUsers]);
        if (!auth && users.size > 0 && !config.auth.off)
            throw new ConfigError('basic_auth_users were added: turning authentication on needs a restart');
        const applyUsers = auth ? auth.prepareStaticUsers(users) : () => { };
        const headers = headerOverrides(next);
        return () => {
            applyUsers();
            securityHeaders.update(headers);
        };
    };
    return Object.assign(router, {
        stages: stages.map((stage) => stage.name),
        securityHeaders,
        metrics,
        observe: chainStages([{ name: 'metrics', handle: (req, res, next) => metrics.observeRequest(req, res, next) }, ...accessLog]),
        health,
        handleMounted,
        prepareWebConfig,
        drain: readiness.drain,
        notReadyReason: readiness.notReadyReason,
        authenticate: auth ? chainStages([...optional('rate-limit.failed-auth', limits.failedAuth), { name: 'basic-auth', handle: auth.handle }]) : undefined,
        async mayOpen(req) {
            const user = auth ? await auth.identify(req) : undefined;
            if (auth && user === undefined)
                return false;
            const client = req.promgate?.client ?? (webConfig?.tls?.clientAuth ? readClientIdentity(req.socket) : undefined);
            return accessControl.policy.decide('GET', ['/'], accessControl.policy.rolesFor(user, clientNames(client))).allowed;
        },
        close,
    });
}
/** Serves the metrics at <base path>/-/promgate/metrics, after auth. */
function createSelfMetricsStage(metrics) {
    return (req, res, next) => {
        if (req.url.split('?', 1)[0] !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD'))
            return next();
        sendMetrics(metrics.registry, res).catch(next);
    };
}
/**
 * Runs the stages in order as one Express handler: cheaper than one router layer per stage, and
 * the order stays data. Errors and rejected promises go to Express's error handling, as in a Router.
 */
export function chainStages(stages) {
    const handlers = stages.map((stage) => stage.handle);
    return function runStages(req, res, done) {
        let index = 0;
        const next = (error) => {
            if (error !== undefined && error !== null && error !== 'route' && error !== 'router')
                return done(error);
            const handler = handlers[index++];
            if (!handler)
                return done();
            try {
                const result = handler(req, res, next);
                if (result instanceof Promise)
                    result.catch((rejection) => next(rejection ?? new Error('middleware rejected')));
            }
            catch (thrown) {
                next(thrown);
            }
        };
        next();
    };
}
/** Library options to config input: `upstream` may be just the URL. */
export function toConfigInput(settings) {
    const { upstream, ...rest } = settings;
    return { ...rest, ...(upstream === undefined ? {} : { upstream: typeof upstream === 'string' ? { url: upstream } : upstream }) };
}
function toBlockList(entries) {
    if (entries.length === 0)
        return undefined;
    const list = new BlockList();
    for (const entry of entries) {
        const [address = '', prefix] = entry.split('/');
        const family = address.includes(':') ? 'ipv6' : 'ipv4';
        if (prefix === undefined)
            list.addAddress(address, family);
        else
            list.addSubnet(address, Number(prefix), family);
    }
    return list;
}
//# sourceMappingURL=gateway.js.map