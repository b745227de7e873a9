// CORS with the cors package, only when origins are configured (no CORS headers otherwise).
// Before auth: a browser's preflight OPTIONS carries no credentials, and refusing it with 401
// breaks every cross-origin call (exporter-toolkit#71). The preflight is answered here, 204.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import cors from 'cors';

export interface CorsOptions {
  /** Origins allowed to call; `*` for any; none turns CORS off. */
  allowedOrigins: readonly string[];
  allowedMethods: readonly string[];
  allowedHeaders: readonly string[];
  allowCredentials: boolean;
  /** How long a browser may cache a preflight answer. */
  maxAgeMs: number;
}

export function createCorsStage(config: CorsOptions): RequestHandler | undefined {
  if (config.allowedOrigins.length === 0) return undefined;
  const handle = cors({
    origin: config.allowedOrigins.includes('*') ? '*' : [...config.allowedOrigins],
    methods: [...config.allowedMethods],
    allowedHeaders: [...config.allowedHeaders],
    credentials: config.allowCredentials,
    maxAge: Math.floor(config.maxAgeMs / 1000),
    preflightContinue: false,
    optionsSuccessStatus: 204,
  });
  // The cors package takes every OPTIONS for a preflight; only real ones (Origin and
  // Access-Control-Request-Method) are answered here, other OPTIONS go on like any request.
  return (req: Request, res: Response, next: NextFunction) => {
    if (
      req.method === 'OPTIONS' &&
      (req.headers.origin === undefined || req.headers['access-control-request-method'] === undefined)
    )
      return next();
    handle(req, res, next);
  };
}
