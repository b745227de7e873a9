import { type Request, type RequestHandler, type Router } from 'express';
import type { HelmetOptions } from 'helmet';
import type { Registry } from 'prom-client';
import { type GatewayMetrics } from '../middleware/metrics/index.ts';
import { type ProxyEvents } from '../middleware/proxy/index.ts';
import { type SecurityHeaders } from '../middleware/security-headers/index.ts';
import { type WebConfig } from './config/web-config.ts';
import { type Config, type ConfigInput } from './config/schema.ts';
import { type Logger } from './logger.ts';
/** Where user middleware slots into the chain. */
export declare const HOOKS: readonly ["beforeAuth", "afterAuth", "beforeProxy"];
export type HookName = (typeof HOOKS)[number];
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
/** An Express Router plus what the gateway owns. */
export type Gateway = Router & {
    /** Stage names in the order a request meets them. */
    readonly stages: readonly string[];
    /** The precomputed security headers, for answers the host app gives itself. */
    readonly securityHeaders: SecurityHeaders;
    /** promgate's metrics and their registry (scrape it with `metrics.registry.metrics()`). */
    readonly metrics: GatewayMetrics;
    /**
     * The first stages (metrics, access log) as one handler, for requests a host app answers
     * outside the gateway; a request goes through them once even if it then enters the gateway.
     */
    readonly observe: RequestHandler;
    /** Answers /-/promgate/healthy and /-/promgate/ready (relative to where it is mounted). */
    readonly health: RequestHandler;
    /**
     * The stages as one handler, without the Router around them: for a caller that mounts the
     * gateway itself (the standalone server), having set req.baseUrl and the relative req.url.
     */
    readonly handleMounted: RequestHandler;
    /**
     * Checks a reloaded web config against this gateway (users, headers) and returns the function
     * that applies it; throws, changing nothing, when it cannot apply.
     */
    prepareWebConfig(next: WebConfig | undefined): () => void;
    /** From now on /-/promgate/ready answers 503 (shutdown began); requests are still served. */
    drain(): void;
    /** Why /-/promgate/ready answers 503 now, or undefined when it answers 200. */
    notReadyReason(): string | undefined;
    /** The failed-login limits and basic auth, as one handler (undefined without auth): for the landing page. */
    readonly authenticate: RequestHandler | undefined;
    /** Whether the request's credentials (or none) may open this route's start page. */
    mayOpen(req: Request): Promise<boolean>;
    /** Releases upstream connections and file watchers; call when the host app shuts down. */
    close(): void;
};
export declare function createGateway(options?: GatewayOptions): Gateway;
export interface GatewayExtensions {
    middleware?: GatewayOptions['middleware'];
    on?: ProxyEvents | undefined;
    logger: Logger;
    helmet?: HelmetOptions | undefined;
    registry?: Registry | undefined;
    /** Prometheus's web config file, already read: its users and headers apply here. */
    webConfig?: WebConfig | undefined;
}
/** Builds the stage list from a validated config. */
export declare function assembleGateway(config: Config, extensions: GatewayExtensions): Gateway;
/**
 * Runs the stages in order as one Express handler: cheaper than one router layer per stage, and
 * the order stays data. Errors and rejected promises go to Express's error handling, as in a Router.
 */
export declare function chainStages(stages: readonly Stage[]): RequestHandler;
/** Library options to config input: `upstream` may be just the URL. */
export declare function toConfigInput(settings: Omit<GatewayOptions, 'middleware' | 'on' | 'logger' | 'helmet' | 'registry'>): ConfigInput;
