// The whole life of a request, in order. Each stage is built once by its factory (validation and
// precomputation happen there); at request time the chain only walks this array.
import { BlockList } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { HelmetOptions } from 'helmet';
import { createBasePathRedirect } from '../middleware/base-path/index.ts';
import { createBasicAuthStage } from '../middleware/basic-auth/index.ts';
import { createClientIdentityStage } from '../middleware/client-identity/index.ts';
import { createProxyStage, type ProxyEvents } from '../middleware/proxy/index.ts';
import { createRateLimitStage } from '../middleware/rate-limit/index.ts';
import { createSecurityHeaders, type SecurityHeaders } from '../middleware/security-headers/index.ts';
import { validateConfig } from './config/load.ts';
import { ConfigError } from './errors.ts';
import { loadWebConfig, type WebConfig } from './config/web-config.ts';
import { parseDuration, type Config, type ConfigInput } from './config/schema.ts';
import { silentLogger, type Logger } from './logger.ts';

/** Where user middleware slots into the chain. */
export const HOOKS = ['beforeAuth', 'afterAuth', 'beforeProxy'] as const;
export type HookName = (typeof HOOKS)[number];

export interface GatewayOptions extends Omit<ConfigInput, 'upstream'> {
  /** Upstream URL, or the full upstream settings. */
  upstream?: string | ConfigInput['upstream'];
  /** Express middleware run at named points of the chain, in array order. */
  middleware?: Partial<Record<HookName, RequestHandler | RequestHandler[]>>;
  /** Observe proxy events (the gateway still answers). */
  on?: ProxyEvents;
  logger?: Logger;
  /** Replace helmet's options (the CSP is set through `headers`). */
  helmet?: HelmetOptions;
}

export interface Stage {
  name: string;
  handle: RequestHandler;
}

/** An Express Router plus what the gateway owns. */
export type Gateway = Router & {
  /** Stage names in the order a request meets them. */
  readonly stages: readonly string[];
  /** The precomputed security headers, for answers the host app gives itself. */
  readonly securityHeaders: SecurityHeaders;
  /**
   * Checks a reloaded web config against this gateway (users, headers) and returns the function
   * that applies it; throws, changing nothing, when it cannot apply.
   */
  prepareWebConfig(next: WebConfig | undefined): () => void;
  /** Releases upstream connections and file watchers; call when the host app shuts down. */
  close(): void;
};

export function createGateway(options: GatewayOptions = {}): Gateway {
  const { middleware, on, logger = silentLogger, helmet, ...settings } = options;
  const config = validateConfig(toConfigInput(settings), 'createGateway options');
  const webConfig = config.web.config.file ? loadWebConfig(config.web.config.file) : undefined;
  return assembleGateway(config, { middleware, on, logger, helmet, webConfig });
}

export interface GatewayExtensions {
  middleware?: GatewayOptions['middleware'];
  on?: ProxyEvents | undefined;
  logger: Logger;
  helmet?: HelmetOptions | undefined;
  /** Prometheus's web config file, already read: its users and headers apply here. */
  webConfig?: WebConfig | undefined;
}

/** Builds the stage list from a validated config. */
export function assembleGateway(config: Config, extensions: GatewayExtensions): Gateway {
  const { webConfig } = extensions;
  // promgate's own `headers` win over the web config's, which win over the preset.
  const headerOverrides = (web: WebConfig | undefined) => ({ ...web?.headers, ...config.headers });
  const securityHeaders = createSecurityHeaders({ overrides: headerOverrides(webConfig), helmet: extensions.helmet });
  const proxy = createProxyStage({
    upstream: new URL(config.upstream.url),
    timeoutMs: parseDuration(config.upstream.timeout),
    forwardAuthorization: config.upstream.forwardAuthorization,
    trustProxy: toBlockList(config.trustProxy),
    securityHeaders,
    logger: extensions.logger,
    events: extensions.on,
  });
  const auth =
    config.auth.htpasswdFile || webConfig?.users.size
    ? createBasicAuthStage({
        htpasswdFile: config.auth.htpasswdFile,
        staticUsers: webConfig?.users,
        staticUsersSource: webConfig?.file,
        realm: config.auth.realm,
        allowPlaintext: config.auth.allowPlaintext,
        cacheSize: config.auth.cacheSize,
        cacheTtlMs: parseDuration(config.auth.cacheTtl),
        unauthenticatedPaths: config.auth.unauthenticatedPaths,
        logger: extensions.logger,
      })
    : undefined;
  const hook = (name: HookName): Stage[] =>
    [extensions.middleware?.[name] ?? []].flat().map((handle, index) => ({ name: `${name}[${index}]`, handle }));

  const stages: Stage[] = [
    { name: 'security-headers', handle: securityHeaders.handle },
    // Built once: as in Prometheus, the limiter stays as started when the web config changes.
    ...(webConfig?.rateLimit ? [{ name: 'rate-limit', handle: createRateLimitStage(webConfig.rateLimit) }] : []),
    { name: 'base-path-redirect', handle: createBasePathRedirect() },
    ...(webConfig?.tls?.clientAuth ? [{ name: 'client-identity', handle: createClientIdentityStage() }] : []),
    ...hook('beforeAuth'),
    ...(auth ? [{ name: 'basic-auth', handle: auth.handle }] : []),
    ...hook('afterAuth'),
    ...hook('beforeProxy'),
    { name: 'proxy', handle: proxy.handle },
  ];

  const router = express.Router({ caseSensitive: true, strict: true });
  router.use(chainStages(stages));
  const close = () => {
    auth?.close();
    proxy.close();
  };
  const prepareWebConfig = (next: WebConfig | undefined) => {
    const users = next?.users ?? new Map();
    if (!auth && users.size > 0) throw new ConfigError('basic_auth_users were added: turning authentication on needs a restart');
    const applyUsers = auth ? auth.prepareStaticUsers(users) : () => {};
    const headers = headerOverrides(next);
    return () => {
      applyUsers();
      securityHeaders.update(headers);
    };
  };
  return Object.assign(router, { stages: stages.map((stage) => stage.name), securityHeaders, prepareWebConfig, close });
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
        if (result instanceof Promise) result.catch((rejection: unknown) => next(rejection ?? new Error('middleware rejected')));
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  };
}

/** Library options to config input: `upstream` may be just the URL. */
export function toConfigInput(settings: Omit<GatewayOptions, 'middleware' | 'on' | 'logger' | 'helmet'>): ConfigInput {
  const { upstream, ...rest } = settings;
  return { ...rest, ...(upstream === undefined ? {} : { upstream: typeof upstream === 'string' ? { url: upstream } : upstream }) };
}

function toBlockList(entries: readonly string[]): BlockList | undefined {
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
