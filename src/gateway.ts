// The whole life of a request, in order. Each stage is built once by its factory (validation and
// precomputation happen there); at request time the chain only walks this array.
import { BlockList } from 'node:net';
import type { TLSSocket } from 'node:tls';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { HelmetOptions } from 'helmet';
import type { Registry } from 'prom-client';
import { createAccessLogStage } from '../middleware/access-log/index.ts';
import { clientNames, createAccessControlStage, PRESET_RULES } from '../middleware/access-control/index.ts';
import { createAuthenticationStage } from '../middleware/authentication/index.ts';
import { createBasePathRedirect, createOriginForm } from '../middleware/base-path/index.ts';
import {
  createClientCertificateAuthenticator,
  createClientIdentityStage,
} from '../middleware/client-identity/index.ts';
import { createCorsStage } from '../middleware/cors/index.ts';
import { createHealthStage, watchUpstreamReadiness } from '../middleware/health/index.ts';
import type { LandingRoute } from '../middleware/landing-page/index.ts';
import { createGatewayMetrics, METRICS_PATH, sendMetrics, type GatewayMetrics } from '../middleware/metrics/index.ts';
import { createProxyStage, type ProxyEvents } from '../middleware/proxy/index.ts';
import { createRateLimitStage } from '../middleware/rate-limit/index.ts';
import { createRequestPathStage } from '../middleware/request-path/index.ts';
import { createRequestLimits } from '../middleware/rate-limit/limits.ts';
import { createRedisConnection } from '../middleware/rate-limit/redis-store.ts';
import { createSecurityHeaders, type SecurityHeaders } from '../middleware/security-headers/index.ts';
import { createTenancyStage } from '../middleware/tenancy/index.ts';
import { validateConfig } from './config/load.ts';
import { buildLoginMethods } from './login-methods.ts';
import { ConfigError, didYouMean } from './errors.ts';
import { loadWebConfig, type WebConfig } from './config/web-config.ts';
import { parseDuration, type Config, type ConfigInput } from './config/schema.ts';
import { readClientIdentity } from './kernel/client-certificate.ts';
import { HOOKS, type Authenticator, type HookName } from './kernel/request-state.ts';
import { accessLineWriter, silentLogger, type Logger } from './logger.ts';
import type { CollectGarbage } from '../middleware/proxy/young-gc.ts';

export interface GatewayOptions extends Omit<ConfigInput, 'upstream'> {
  /** Upstream URL, or the full upstream settings. */
  upstream?: string | ConfigInput['upstream'];
  /** Express middleware run at named points of the chain, in array order. */
  middleware?: Partial<Record<HookName, RequestHandler | RequestHandler[]>>;
  /** Observe proxy events (the gateway still answers). */
  on?: ProxyEvents;
  /** A pino logger (or anything with pino's call shape); access logs need one. Default: silent. */
  logger?: Logger;
  /** Replace helmet's options (the CSP is set through `headers`). */
  helmet?: HelmetOptions;
  /** prom-client registry for promgate's metrics; default: one of the gateway's own. */
  registry?: Registry;
}

export interface Stage {
  name: string;
  handle: RequestHandler;
}

/** An Express Router running promgate's stages, plus what a host app needs around it. */
export type Gateway = Router & {
  /** Stage names in the order a request meets them. */
  readonly stages: readonly string[];
  /** promgate's metrics and their registry (scrape it with `metrics.registry.metrics()`). */
  readonly metrics: GatewayMetrics;
  /** The precomputed security headers (`handle` sets them), for answers the host app gives itself. */
  readonly securityHeaders: SecurityHeaders;
  /**
   * The first stages (metrics, access log) as one handler, for requests a host app answers
   * outside the gateway; a request goes through them once even if it then enters the gateway.
   */
  readonly observe: RequestHandler;
  /** Answers /-/promgate/healthy and /-/promgate/ready (relative to where it is mounted), e.g. for probes outside the mount. */
  readonly health: RequestHandler;
  /** Releases upstream connections, pollers and file watchers; call when the host app shuts down. */
  close(): void;
};

/**
 * What the standalone server, its dispatcher and the landing page need of a route; internal,
 * never on the object library users get.
 */
export interface RouteRuntime {
  readonly gateway: Gateway;
  /**
   * The stages as one handler, without the Router around them: for a caller that mounts the
   * gateway itself (the standalone server), having set req.baseUrl and the relative req.url.
   */
  readonly handleMounted: RequestHandler;
  /**
   * Checks a reloaded web config against this route (users, headers) and returns the function
   * that applies it; throws, changing nothing, when it cannot apply.
   */
  prepareWebConfig(next: WebConfig | undefined): () => void;
  /** From now on /-/promgate/ready answers 503 (shutdown began); requests are still served. */
  drain(): void;
  /** Why /-/promgate/ready answers 503 now, or undefined when it answers 200. */
  notReadyReason(): string | undefined;
  /** What the landing page needs of this route: its login and its access policy. */
  readonly landing: LandingRoute;
  /**
   * Starts what runs beside requests: the upstream readiness poll, the htpasswd file watcher, the
   * Redis connection. Building opens and starts nothing (check-config builds and never starts).
   */
  start(): void;
}

/** Builds a gateway from library options and starts it: one call gives a working gateway. */
export function createGateway(options: GatewayOptions = {}): Gateway {
  const { middleware, on, logger = silentLogger, helmet, registry, ...settings } = options;
  checkExtensions(middleware, on);
  const config = validateConfig(toConfigInput(settings), 'createGateway options');
  const webConfig = config.web.config.file ? loadWebConfig(config.web.config.file) : undefined;
  const runtime = assembleGateway(config, { middleware, on, logger, helmet, registry, webConfig });
  runtime.start();
  return runtime.gateway;
}

export interface GatewayExtensions {
  middleware?: GatewayOptions['middleware'];
  on?: ProxyEvents | undefined;
  logger: Logger;
  helmet?: HelmetOptions | undefined;
  registry?: Registry | undefined;
  /** Prometheus's web config file, already read: its users and headers apply here. */
  webConfig?: WebConfig | undefined;
  /** The standalone server's collector for scavenges while large bodies stream; never a library host's. */
  collectGarbage?: CollectGarbage | undefined;
}

/** Builds a route's stage list from a validated config; nothing runs until `start()`. */
export function assembleGateway(config: Config, extensions: GatewayExtensions): RouteRuntime {
  const { webConfig, logger } = extensions;
  const metrics = createGatewayMetrics(extensions.registry);
  const upstream = new URL(config.upstream.url);
  // promgate's own `headers` win over the web config's, which win over the preset.
  const headerOverrides = (web: WebConfig | undefined) => ({ ...web?.headers, ...config.headers });
  const securityHeaders = createSecurityHeaders({ overrides: headerOverrides(webConfig), helmet: extensions.helmet });
  const readiness = watchUpstreamReadiness({
    upstream,
    path: config.upstream.readyPath ?? PRESET_RULES[config.preset].readyPath, // '' polls nothing
    intervalMs: parseDuration(config.upstream.readyInterval),
    logger,
    onResult: metrics.upstreamUp,
  });
  const trustProxy = toBlockList(config.trustProxy);
  const proxy = createProxyStage({
    upstream,
    timeoutMs: parseDuration(config.upstream.timeout),
    forwardAuthorization: config.upstream.forwardAuthorization,
    identityHeaders: config.upstream.identityHeaders,
    maxConnections: config.upstream.maxConnections,
    maxBodySize: config.web.maxRequestBodySize,
    trustProxy,
    securityHeaders,
    logger,
    events: extensions.on,
    onUpstreamError: metrics.upstreamError,
    collectGarbage: extensions.collectGarbage,
  });
  const { configUsers, basic, tokens, jwt, sso, methods } = buildLoginMethods(config, { webConfig, metrics, logger });
  // A login, when one is configured, is required, as in Prometheus: a client certificate then only
  // adds its roles (accessControl.clients). Without one a verified certificate is the identity.
  const authenticators: Authenticator[] =
    methods.length > 0 ? methods : webConfig?.tls ? [createClientCertificateAuthenticator()] : [];
  const authentication =
    authenticators.length > 0
      ? createAuthenticationStage({
          authenticators,
          required: methods.length > 0,
          realm: config.auth.realm,
          unauthenticatedPaths: config.auth.unauthenticatedPaths,
          logger,
          onFailure: metrics.authFailure,
        })
      : undefined;
  const route = config.basePath;
  // No access log for a silent logger: nothing would be written, so save the work.
  const accessLog: Stage[] =
    config.log.accessLog && logger !== silentLogger
      ? [{ name: 'access-log', handle: createAccessLogStage(accessLineWriter(logger)) }]
      : [];
  const observeStages: Stage[] = [
    { name: 'metrics', handle: (req, res, next) => metrics.observeRequest(req, res, next, route) },
    ...accessLog,
  ];
  const health = createHealthStage(readiness);
  const accessControl = createAccessControlStage({
    config: config.accessControl,
    preset: config.preset,
    logger,
    onDecision: metrics.decision,
  });
  const redis = config.rateLimit.redis.url
    ? createRedisConnection(config.rateLimit.redis.url, config.rateLimit.redis.prefix, logger)
    : undefined;
  const { rateLimit } = config;
  const limit = (setting: { requests: number; window: string }) => ({
    requests: setting.requests,
    windowMs: parseDuration(setting.window),
  });
  const limits = createRequestLimits({
    perClient: limit(rateLimit.perClient),
    perUser: limit(rateLimit.perUser),
    failedAuthPerClient: limit(rateLimit.failedAuthPerClient),
    failedAuthPerUser: limit(rateLimit.failedAuthPerUser),
    failOpen: rateLimit.redis.failOpen,
    trustProxy,
    logger,
    createStore: redis?.createStore,
    sparedFromFailedLoginLimits: (req) =>
      basic?.sparedFromFailedLoginLimits(req) === true ||
      tokens?.sparedFromFailedLoginLimits(req) === true ||
      jwt?.sparedFromFailedLoginLimits(req) === true,
    onLimited: (rule) => metrics.decision(false, rule),
    onStoreError: metrics.rateLimitStoreError,
  });
  const cors = createCorsStage({ ...config.cors, maxAgeMs: parseDuration(config.cors.maxAge) });
  const optional = (name: string, handle: RequestHandler | undefined): Stage[] => (handle ? [{ name, handle }] : []);
  const hook = (name: HookName): Stage[] =>
    [extensions.middleware?.[name] ?? []].flat().map((handle, index) => ({ name: `${name}[${index}]`, handle }));

  const stages: Stage[] = [
    ...observeStages,
    { name: 'origin-form', handle: createOriginForm() },
    { name: 'security-headers', handle: securityHeaders.handle },
    // Before anything reads the path: what is judged is what the upstream gets.
    { name: 'request-path', handle: createRequestPathStage(logger) },
    // Before anything reads headers: what the client named in Connection is gone for every stage.
    { name: 'client-headers', handle: proxy.stripClientHeaders },
    // Before rate limits and auth: probes carry no credentials and must not be throttled.
    { name: 'health', handle: health },
    // Preflights carry no credentials: answered before auth.
    ...optional('cors', cors),
    // Built once: as in Prometheus, the limiter stays as started when the web config changes.
    ...optional('rate-limit', webConfig?.rateLimit ? createRateLimitStage(webConfig.rateLimit) : undefined),
    ...optional('rate-limit.per-client', limits.perClient),
    { name: 'base-path-redirect', handle: createBasePathRedirect() },
    // Whenever the web config serves TLS: a reload can turn client certificates on.
    ...optional('client-identity', webConfig?.tls ? createClientIdentityStage() : undefined),
    ...hook('beforeAuth'),
    ...optional('rate-limit.failed-auth', methods.length > 0 ? limits.failedAuth : undefined),
    // The sign-in's callback and logout, and the session cookie opened (and refreshed) once.
    ...optional('sso', sso?.handle as RequestHandler | undefined),
    ...optional('authentication', authentication?.handle as RequestHandler | undefined),
    // After auth, which names the user; before anything that answers for the upstream.
    { name: 'access-control', handle: accessControl.handle },
    // Right after the roles are known: a tenant's request is scoped before anything else sees it.
    {
      name: 'tenancy',
      handle: createTenancyStage({
        preset: config.preset,
        upstream,
        logger,
        maxBodySize: config.web.maxRequestBodySize,
      }),
    },
    ...optional('rate-limit.per-user', limits.perUser),
    ...optional('self-metrics', config.metrics.exposeOnGateway ? createSelfMetricsStage(metrics) : undefined),
    ...hook('afterAuth'),
    ...hook('beforeProxy'),
    { name: 'proxy', handle: proxy.handle },
  ];

  const handleMounted = chainStages(stages);
  const router = express.Router({ caseSensitive: true, strict: true });
  router.use(handleMounted);
  const close = () => {
    void redis?.close();
    readiness.close();
    for (const method of methods) method.close?.();
    proxy.close();
  };
  const gateway: Gateway = Object.assign(router, {
    stages: stages.map((stage) => stage.name),
    metrics,
    securityHeaders,
    observe: chainStages([
      { name: 'metrics', handle: (req, res, next) => metrics.observeRequest(req, res, next) },
      ...accessLog,
    ]),
    health,
    close,
  });
  return {
    gateway,
    handleMounted,
    prepareWebConfig(next) {
      const users = new Map([...(next?.users ?? []), ...configUsers]);
      if (!basic && users.size > 0 && !config.auth.off)
        throw new ConfigError('basic_auth_users were added: turning authentication on needs a restart');
      const applyUsers = basic ? basic.prepareStaticUsers(users) : () => {};
      const headers = headerOverrides(next);
      return () => {
        applyUsers();
        securityHeaders.update(headers);
      };
    },
    drain: readiness.drain,
    notReadyReason: readiness.notReadyReason,
    landing: {
      basePath: config.basePath,
      preset: config.preset,
      login: basic &&
        authentication && {
          users: basic.users,
          sparedFromFailedLoginLimits: basic.sparedFromFailedLoginLimits,
          limitFailedLogins: limits.failedAuth,
          refuse: authentication.refuse,
        },
      mayOpen(req: Request, user: string | undefined) {
        const client =
          req.promgate?.client ?? (webConfig?.tls ? readClientIdentity(req.socket as TLSSocket) : undefined);
        return accessControl.policy.decide('GET', ['/'], accessControl.policy.rolesFor(user, clientNames(client)))
          .allowed;
      },
    },
    start() {
      readiness.start?.();
      for (const method of methods) method.start?.();
      redis?.start();
    },
  };
}

/** Serves the metrics at <base path>/-/promgate/metrics, after auth. */
function createSelfMetricsStage(metrics: GatewayMetrics): RequestHandler {
  return (req, res, next) => {
    if (req.url.split('?', 1)[0] !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    sendMetrics(metrics.registry, res).catch(next);
  };
}

/**
 * Runs the stages in order as one Express handler: cheaper than one router layer per stage, and
 * the order stays data. Errors and rejected promises go to Express's error handling, as in a Router.
 */
export function chainStages(stages: readonly Stage[]): RequestHandler {
  const handlers = stages.map((stage) => stage.handle);
  return function runStages(req: Request, res: Response, done: NextFunction) {
    let index = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined && error !== null && error !== 'route' && error !== 'router') return done(error);
      const handler = handlers[index++];
      if (!handler) return done();
      try {
        const result: unknown = handler(req, res, next);
        if (result instanceof Promise)
          result.catch((rejection: unknown) => next(rejection ?? new Error('middleware rejected')));
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  };
}

/** Library options to config input: `upstream` may be just the URL. */
const PROXY_EVENTS = ['proxyReq', 'proxyRes', 'error'] as const;

/** Plain JavaScript callers get no type check: a misspelled hook would silently never run. */
function checkExtensions(middleware: unknown, on: unknown): void {
  const problems: ConfigError[] = [];
  const checkKeys = (
    value: unknown,
    option: string,
    names: readonly string[],
    isValid: (entry: unknown) => boolean,
    expected: string,
  ) => {
    if (value === undefined) return;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(
        new ConfigError(`must be an object with keys ${names.join(', ')}`, {
          key: option,
          origin: 'createGateway options',
        }),
      );
      return;
    }
    for (const [name, entry] of Object.entries(value)) {
      const key = `${option}.${name}`;
      if (!names.includes(name))
        problems.push(
          new ConfigError(
            `unknown ${option === 'on' ? 'event' : 'hook'}${didYouMean(name, names)}; known: ${names.join(', ')}`,
            { key, origin: 'createGateway options' },
          ),
        );
      else if (!isValid(entry))
        problems.push(new ConfigError(`must be ${expected}`, { key, origin: 'createGateway options' }));
    }
  };
  const isFunction = (entry: unknown) => typeof entry === 'function';
  checkKeys(
    middleware,
    'middleware',
    HOOKS,
    (entry) => isFunction(entry) || (Array.isArray(entry) && entry.every(isFunction)),
    'a middleware function or an array of them',
  );
  checkKeys(on, 'on', PROXY_EVENTS, isFunction, 'a function');
  if (problems.length > 0) throw ConfigError.all(problems);
}

export function toConfigInput(
  settings: Omit<GatewayOptions, 'middleware' | 'on' | 'logger' | 'helmet' | 'registry'>,
): ConfigInput {
  const { upstream, ...rest } = settings;
  return {
    ...rest,
    ...(upstream === undefined ? {} : { upstream: typeof upstream === 'string' ? { url: upstream } : upstream }),
  };
}

export function toBlockList(entries: readonly string[]): BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = address.includes(':') ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}
