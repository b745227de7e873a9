import type { BlockList } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { type Store } from 'express-rate-limit';
import { type Config } from '../../src/config/schema.ts';
import type { Logger } from '../../src/logger.ts';
import '../../src/request-state.ts';
export type LimitName = 'per-client' | 'per-user' | 'failed-auth-per-client' | 'failed-auth-per-user';
export interface RequestLimitsOptions {
    config: Config['rateLimit'];
    trustProxy: BlockList | undefined;
    logger: Logger;
    /** A store per limit (Redis); default: express-rate-limit's memory store. */
    createStore?: (name: LimitName) => Store;
    /** Whether credentials are already known to be right (they skip the failed-login limits). */
    knownGood?: (req: Request) => boolean;
    /** Counts a limited request with its rule (self-metrics). */
    onLimited?: (rule: string) => void;
    /** Counts store failures (self-metrics); the request then passes or gets 503 (redis.failOpen). */
    onStoreError?: () => void;
}
export interface RequestLimits {
    /** Before auth: every request, per client address. */
    perClient?: RequestHandler;
    /** Before auth: requests with credentials, counted only when they fail. */
    failedAuth?: RequestHandler;
    /** After auth: per authenticated user. */
    perUser?: RequestHandler;
}
export declare function createRequestLimits(options: RequestLimitsOptions): RequestLimits;
/** The client's address: the socket's, or, from a trusted proxy, the last untrusted X-Forwarded-For hop. */
export declare function clientAddress(req: Request, trustProxy: BlockList | undefined): string;
