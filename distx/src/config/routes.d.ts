import type { Config } from './schema.ts';
/** What a route may set; the listener's settings (web, tls, log, metrics, workers) are shared. */
export declare const ROUTE_KEYS: readonly ["basePath", "preset", "upstream", "auth", "accessControl", "rateLimit", "cors", "headers"];
/** The routes to serve: the top-level settings alone when `routes` is empty. */
export declare function resolveRoutes(config: Config): Config[];
