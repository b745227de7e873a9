// An audit trail of the requests that change something (by default every method but GET, HEAD
// and OPTIONS): who (user or client certificate), what (method, path), from where, and the answer,
// one line each when the response ends, to the log or to a file of JSON lines.
//
//   plugins:
//     - module: promgate/plugins/audit-log
//       stage: beforeAuth         # so refused requests (401, 403, failed-login 429) are audited; the user
//                                 # is known by the time the answer ends, when the line is written
//       options: { file: /var/log/promgate/audit.jsonl }
import { createWriteStream } from 'node:fs';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { definePlugin } from '../src/index.ts';

export default definePlugin({
  name: 'audit-log',
  options: z.strictObject({
    methods: z.array(z.string().regex(/^[A-Z]+$/)).default(['POST', 'PUT', 'PATCH', 'DELETE']),
    /** A file to append JSON lines to; default: the gateway's log (msg "audit"). */
    file: z.string().min(1).optional(),
  }),
  create(options, { logger, route }) {
    const methods = new Set(options.methods);
    const file = options.file ? createWriteStream(options.file, { flags: 'a', mode: 0o600 }) : undefined;
    file?.on('error', (error) =>
      logger.error({ file: options.file, error: error.message }, 'cannot write the audit log'),
    );
    return (req: Request, res: Response, next: NextFunction) => {
      if (!methods.has(req.method)) return next();
      const started = Date.now();
      res.once('close', () => {
        const entry = {
          route: route.basePath,
          method: req.method,
          path: req.originalUrl.split('?', 1)[0],
          status: res.statusCode,
          user: req.promgate?.user,
          client_subject: req.promgate?.client?.subject,
          remote_address: req.socket.remoteAddress,
          rule: req.promgate?.rule,
          duration_ms: Date.now() - started,
        };
        if (file) file.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
        else logger.info(entry, 'audit');
      });
      next();
    };
  },
});
