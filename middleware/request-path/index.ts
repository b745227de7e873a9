// The request-path stage: the path the upstream receives is byte for byte the path every stage
// judges. A path that some reader could resolve differently (dot or empty segments, also encoded,
// with `\` or `;params`) is refused here, before health, auth, access control or routing by the
// upstream (nginx, an ingress, an upstream URL with a path) could read it two ways.
import type { NextFunction, Request, Response } from 'express';
import { pathRefusal } from '../../src/kernel/path-readings.ts';
import { sendError } from '../../src/kernel/error-answer.ts';
import type { Logger } from '../../src/kernel/logger.ts';

export function createRequestPathStage(logger: Logger) {
  return function checkRequestPath(req: Request, res: Response, next: NextFunction): void {
    const url = req.url;
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const refusal = pathRefusal(path);
    if (refusal === undefined) return next();
    const state = (req.promgate ??= {});
    state.rule = 'request-path';
    logger.info(
      { method: req.method, path: req.originalUrl.split('?', 1)[0], reason: refusal },
      'request path refused',
    );
    sendError(res, path, 400, 'bad_data', refusal);
  };
}
