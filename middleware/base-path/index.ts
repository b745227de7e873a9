// `GET /prometheus` -> `/prometheus/`, query kept, as nginx does for `location /prometheus/`.
// Relative links in the UI only resolve under the base path with the trailing slash.
import type { NextFunction, Request, Response } from 'express';

export function createBasePathRedirect() {
  return function redirectToBasePath(req: Request, res: Response, next: NextFunction): void {
    const mount = req.baseUrl;
    const original = req.originalUrl;
    if (mount === '' || !original.startsWith(mount)) return next();
    const rest = original.slice(mount.length);
    if (rest !== '' && rest[0] !== '?') return next();
    // 308 keeps the method and body for anything but GET/HEAD.
    const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
    res.writeHead(status, { location: `${mount}/${rest}`, 'content-length': 0 });
    res.end();
  };
}
