import { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../src/logger.ts';
export declare const HEALTHY_PATH = "/-/promgate/healthy";
export declare const READY_PATH = "/-/promgate/ready";
/** Ready needs a successful check no older than this many intervals (a stuck poller is not ready). */
export declare const READY_STALE_INTERVALS = 3;
export interface UpstreamReadiness {
    /** Why the gateway is not ready, or undefined when it is. */
    notReadyReason(): string | undefined;
    /** Not ready from now on (shutdown began), so load balancers stop sending new requests. */
    drain(): void;
    close(): void;
}
export interface UpstreamReadinessOptions {
    upstream: URL;
    /** Upstream path to poll; "" means ready as soon as the gateway serves. */
    path: string;
    intervalMs: number;
    logger: Logger;
    onResult?: (ready: boolean) => void;
}
export declare function watchUpstreamReadiness(options: UpstreamReadinessOptions): UpstreamReadiness;
export declare function isHealthPath(url: string | undefined): boolean;
/**
 * Answers the health paths (relative to where it is mounted) and passes anything else on.
 * GET and HEAD only, like Prometheus's own /-/healthy.
 */
export declare function createHealthStage(readiness: UpstreamReadiness): (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
