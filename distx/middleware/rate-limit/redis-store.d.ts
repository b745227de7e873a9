import type { Store } from 'express-rate-limit';
import type { Logger } from '../../src/logger.ts';
export interface RedisConnection {
    createStore(name: string): Store;
    close(): Promise<void>;
}
export declare function connectRedis(url: string, prefix: string, logger: Logger): RedisConnection;
/** The URL without a password, for logs. */
export declare function redactedUrl(url: string): string;
