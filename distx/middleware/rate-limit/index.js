export function createRateLimitStage(options) {
    const now = options.now ?? performance.now.bind(performance);
    let tokens = options.burst;
    let last = now();
    return function rateLimit(_req, res, next) {
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
//# sourceMappingURL=index.js.map