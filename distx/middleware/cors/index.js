import cors from 'cors';
import { parseDuration } from "../../src/config/schema.js";
export function createCorsStage(config) {
    if (config.allowedOrigins.length === 0)
        return undefined;
    const handle = cors({
        origin: config.allowedOrigins.includes('*') ? '*' : config.allowedOrigins,
        methods: config.allowedMethods,
        allowedHeaders: config.allowedHeaders,
        credentials: config.allowCredentials,
        maxAge: Math.floor(parseDuration(config.maxAge) / 1000),
        preflightContinue: false,
        optionsSuccessStatus: 204,
    });
    // The cors package takes every OPTIONS for a preflight; only real ones (Origin and
    // Access-Control-Request-Method) are answered here, other OPTIONS go on like any request.
    return (req, res, next) => {
        if (req.method === 'OPTIONS' && (req.headers.origin === undefined || req.headers['access-control-request-method'] === undefined))
            return next();
        handle(req, res, next);
    };
}
//# sourceMappingURL=index.js.map