import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
/** Where the metrics are served under the gateway's base path (behind auth) when enabled. */
export declare const METRICS_PATH = "/-/promgate/metrics";
/** Prometheus's usual latency buckets, stretched to its 2m default query timeout. */
export declare const DURATION_BUCKETS: number[];
export type ReloadSource = 'tls' | 'htpasswd';
export type UpstreamErrorKind = 'refused' | 'reset' | 'timeout' | 'dns' | 'unreachable' | 'bad_response';
export interface GatewayMetrics {
    readonly registry: Registry;
    /**
     * Counts the request and times it until the response closes; first stage of the chain. `route`
     * is the base path of the gateway the request reached ('' for answers outside every route).
     */
    observeRequest(req: IncomingMessage, res: ServerResponse, next: () => void, route?: string): void;
    upstreamError(kind: UpstreamErrorKind): void;
    authFailure(reason: string): void;
    /** A source loaded at start. */
    loaded(source: ReloadSource): void;
    /** A source re-read after its files changed; a failure keeps the previous state. */
    reloaded(source: ReloadSource, ok: boolean): void;
    upstreamUp(up: boolean): void;
    /** An access-control or rate-limit decision, with the rule that made it. */
    decision(allowed: boolean, rule: string): void;
    /** The rate-limit store (Redis) failed a request's count. */
    rateLimitStoreError(): void;
}
export declare function createGatewayMetrics(registry?: Registry): GatewayMetrics;
/** The serving certificate's expiry, read at each scrape so a reloaded certificate shows at once. */
export declare function registerCertificateExpiry(registry: Registry, notAfter: () => Date): void;
/** Answers a scrape: the text exposition format of the registry. */
export declare function sendMetrics(registry: Registry, res: ServerResponse): Promise<void>;
