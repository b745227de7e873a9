// `routes:` several upstreams behind one listener. Each route is the top-level settings with the
// route's own keys merged in (objects key by key, lists and values replaced), then validated by
// the same schema, so a route is a whole Config and the gateway does not know routes exist.
import { ConfigError } from '../errors.ts';
import { validateConfig } from './load.ts';
import type { Config } from './schema.ts';

/** What a route may set; the listener's settings (web, tls, log, metrics, workers) are shared. */
export const ROUTE_KEYS = [
  'basePath',
  'preset',
  'upstream',
  'auth',
  'accessControl',
  'rateLimit',
  'cors',
  'headers',
] as const;

type Plain = Record<string, unknown>;

/** The routes to serve: the top-level settings alone when `routes` is empty. */
export function resolveRoutes(config: Config): Config[] {
  if (config.routes.length === 0) return [config];
  const { routes, ...shared } = config;
  const resolved = routes.map((route, index) => {
    const where = `routes.${index}`;
    for (const key of Object.keys(route)) {
      if (!(ROUTE_KEYS as readonly string[]).includes(key)) {
        throw new ConfigError(
          `"${key}" cannot be set per route (route keys: ${ROUTE_KEYS.join(', ')}); set it at the top level`,
          { key: `${where}.${key}` },
        );
      }
    }
    // Inheriting the top-level upstream would silently send, say, Alertmanager's route to Prometheus.
    if (typeof (route.upstream as Plain | undefined)?.url !== 'string') {
      throw new ConfigError('every route needs its own upstream.url', { key: `${where}.upstream.url` });
    }
    const merged = merge(shared, route) as Plain & { rateLimit: { redis: { prefix: string } } };
    // Routes count apart in Redis too (the memory store keeps them apart by itself).
    if (!(route.rateLimit as { redis?: { prefix?: unknown } } | undefined)?.redis?.prefix) {
      merged.rateLimit = {
        ...merged.rateLimit,
        redis: {
          ...merged.rateLimit.redis,
          prefix: `${shared.rateLimit.redis.prefix}${route.basePath.replace(/^\/|\/$/g, '') || 'root'}:`,
        },
      };
    }
    return validateConfig(
      { ...merged, routes: [] } as Parameters<typeof validateConfig>[0],
      `${where} (${route.basePath})`,
    );
  });
  checkOverlaps(resolved.map((route) => route.basePath));
  return resolved;
}

function merge(base: unknown, override: unknown): unknown {
  if (!isPlain(base) || !isPlain(override)) return override === undefined ? base : override;
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = merge(base[key], value);
  return out;
}

const isPlain = (value: unknown): value is Plain =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Two routes may not share a base path, and none may lie inside another (or under "/"). */
function checkOverlaps(basePaths: readonly string[]): void {
  const normalized = basePaths.map((path) => path.replace(/\/+$/, ''));
  for (let i = 0; i < normalized.length; i++) {
    for (let j = i + 1; j < normalized.length; j++) {
      const [a, b] = [normalized[i]!, normalized[j]!];
      if (a === b || a === '' || b === '' || b.startsWith(`${a}/`) || a.startsWith(`${b}/`)) {
        throw new ConfigError(
          `routes ${i} (${basePaths[i]}) and ${j} (${basePaths[j]}) overlap: each request must belong to one route`,
          { key: `routes.${j}.basePath` },
        );
      }
    }
  }
}
