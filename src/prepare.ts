// What a start builds from the config before it opens anything: every route's gateway, with its
// plugins loaded and every stage validated and precomputed. The server, the --workers primary and
// check-config all call this, so check-config refuses exactly what a start refuses.
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { resolveRoutes } from './config/routes.ts';
import type { Config } from './config/schema.ts';
import { ConfigError } from './errors.ts';
import { assembleGateway, type GatewayExtensions, type GatewayOptions, type RouteRuntime } from './gateway.ts';
import { HOOKS, type HookName } from './kernel/request-state.ts';
import type { Logger } from './logger.ts';
import { loadPlugins, pluginHooks } from './plugins.ts';

export interface BuildGatewaysOptions extends GatewayExtensions {
  logger: Logger & { child?: (bindings: object) => Logger };
  /** One registry for every route and plugin, as they are scraped together. */
  registry: Registry;
}

export interface BuiltGateways {
  routes: Config[];
  /** One per route, in the same order; built, not started. */
  runtimes: RouteRuntime[];
}

/** Resolves the routes, loads the plugins and assembles each route's gateway; on a failure, closes what was built. */
export async function buildGateways(config: Config, options: BuildGatewaysOptions): Promise<BuiltGateways> {
  const routes = resolveRoutes(config);
  const plugins = await loadPlugins(config.plugins);
  const runtimes: RouteRuntime[] = [];
  try {
    for (const route of routes) {
      const hooks = withHooks(
        options.middleware,
        pluginHooks(plugins, route, { logger: options.logger, registry: options.registry }),
      );
      runtimes.push(assembleGateway(route, { ...options, middleware: hooks }));
    }
  } catch (error) {
    for (const built of runtimes) built.gateway.close(); // a later route's bad setting: release the earlier ones
    throw inRoute(error, config, runtimes.length);
  }
  return { routes, runtimes };
}

/** The library's hooks, then the plugins' (config order), per stage. */
function withHooks(
  middleware: GatewayOptions['middleware'],
  plugins: Partial<Record<HookName, RequestHandler[]>>,
): GatewayOptions['middleware'] {
  const hooks: NonNullable<GatewayOptions['middleware']> = {};
  for (const name of HOOKS) hooks[name] = [...[middleware?.[name] ?? []].flat(), ...(plugins[name] ?? [])];
  return hooks;
}

/**
 * A route's gateway names keys as a whole config does (accessControl.users.alice); when the
 * route itself set that key, name it there (routes.1.accessControl.users.alice) so the error
 * points at the line that set it, not at the inherited top-level one.
 */
function inRoute(error: unknown, config: Config, index: number): unknown {
  const route = config.routes[index] as Record<string, unknown> | undefined;
  if (!route || !(error instanceof ConfigError) || error.origin || !error.key) return error;
  let node: unknown = route;
  for (const segment of error.key.split('.'))
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
  return node === undefined ? error : new ConfigError(error.problem, { key: `routes.${index}.${error.key}` });
}
