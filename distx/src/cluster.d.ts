import { Registry } from 'prom-client';
import type { Config } from './config/schema.ts';
import type { Logger } from './logger.ts';
export declare const isClusterWorker: () => boolean;
/** A worker's registry, reported to the primary's metrics listener. */
export declare function workerRegistry(): Registry;
export declare function runPrimary(config: Config, logger: Logger, cwd?: string): Promise<void>;
