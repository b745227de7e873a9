// The web config's rate_limit, with Prometheus's semantics: one token bucket for the whole server
// (Go's rate.NewLimiter(rate.Every(interval), burst)), answered with 429 before authentication.
// Per-client and per-user limits (express-rate-limit) are another thing; a global token
// bucket is these few lines, and no limiter library models Go's exactly.
import type { NextFunction, Request, Response } from 'express';

export interface TokenBucketOptions {
  /** One token is added per interval. */
  intervalMs: number;
  /** Bucket size; 0 refuses everything, as in Go. */
  burst: number;
  now?: () => number;
}

export function createRateLimitStage(options: TokenBucketOptions) {
  const now = options.now ?? performance.now.bind(performance);
  let tokens = options.burst;
  let last = now();
  return function rateLimit(_req: Request, res: Response, next: NextFunction): void {
    const current = now();
    tokens = Math.min(options.burst, tokens + (current - last) / options.intervalMs);
    last = current;
    if (tokens >= 1) {
      tokens -= 1;
      return next();
    }
    const retryAfter = Math.max(1, Math.ceil(((1 - tokens) * options.intervalMs) / 1000));
    res.writeHead(429, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(retryAfter) });
    res.end('429 Too Many Requests\n');
  };
}
