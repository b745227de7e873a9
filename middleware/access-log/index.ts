// Access log (pino-http): one line per request when its response closes, with flat fields
// (method, path, status, duration, bytes, who, from where). Headers are never serialized, so
// Authorization, cookies and passwords cannot reach the log; the query string is left out too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger as PinoLogger } from 'pino';
import { pinoHttp } from 'pino-http';
import '../../src/request-state.ts';

/** Marks a request already logged, so a stage mounted twice (server and gateway) logs once. */
const LOGGED = Symbol('promgate.accessLog.logged');
const BYTES_AT_START = Symbol('promgate.accessLog.bytesAtStart');

type LoggedRequest = IncomingMessage & {
  originalUrl?: string;
  promgate?: Express.Request['promgate'];
  [LOGGED]?: true;
  [BYTES_AT_START]?: number;
};

export type AccessLogStage = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export function createAccessLogStage(logger: PinoLogger): AccessLogStage {
  const fields = (req: LoggedRequest, res: ServerResponse, durationMs: number) => {
    const path = (req.originalUrl ?? req.url ?? '').split('?', 1)[0];
    const identity = req.promgate;
    return {
      method: req.method,
      path,
      status: res.statusCode,
      duration_ms: durationMs,
      // Bytes written to the connection for this response, headers included (nginx's $bytes_sent).
      bytes_sent: req.socket.bytesWritten - (req[BYTES_AT_START] ?? 0),
      ...(identity?.user === undefined ? {} : { user: identity.user }),
      ...(identity?.client === undefined ? {} : { client_subject: identity.client.subject }),
      ...(identity?.rule === undefined ? {} : { rule: identity.rule }),
      remote_address: req.socket.remoteAddress,
      ...(res.writableFinished ? {} : { aborted: true }),
    };
  };
  const log = pinoHttp({
    logger,
    quietReqLogger: true, // req.log carries only the request id, not a serialized request
    quietResLogger: true,
    wrapSerializers: false,
    serializers: { req: () => undefined, res: () => undefined },
    customAttributeKeys: { reqId: 'request_id' },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'warn' : 'info'),
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request',
    customSuccessObject: (req, res, value: { responseTime: number }) => fields(req as LoggedRequest, res, value.responseTime),
    customErrorObject: (req, res, _error, value: { responseTime: number }) => fields(req as LoggedRequest, res, value.responseTime),
  });
  return (req, res, next) => {
    const logged = req as LoggedRequest;
    if (logged[LOGGED]) return next();
    logged[LOGGED] = true;
    logged[BYTES_AT_START] = req.socket.bytesWritten;
    log(req, res, next);
  };
}
