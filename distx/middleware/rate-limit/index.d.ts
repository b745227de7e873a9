import type { NextFunction, Request, Response } from 'express';
export interface TokenBucketOptions {
    /** One token is added per interval. */
    intervalMs: number;
    /** Bucket size; 0 refuses everything, as in Go. */
    burst: number;
    now?: () => number;
}
export declare function createRateLimitStage(options: TokenBucketOptions): (_req: Request, res: Response, next: NextFunction) => void;
