import type { NextFunction, Request, Response } from 'express';
export declare function createBasePathRedirect(): (req: Request, res: Response, next: NextFunction) => void;
/**
 * `POST http://host/prometheus/x HTTP/1.1` (absolute form) reaches the gateway with req.url
 * `http://host/x`: rewritten to `/x` before any stage reads the path, so access control decides on
 * what the upstream gets (it saw `/http:/host/x` before; found in review).
 */
export declare function createOriginForm(): (req: Request, _res: Response, next: NextFunction) => void;
