// Failures answered by the gateway: upstream refused/unreachable -> 502, silent too long -> 504; a
// request body over the limit -> 413.
// Under /api/ the body is Prometheus's API error JSON so clients (Grafana, promtool) parse it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { http } from '../../src/kernel/node-http.ts';
import { sendError } from '../../src/kernel/error-answer.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import type { UpstreamErrorKind } from '../../src/kernel/upstream.ts';

const { STATUS_CODES } = http;

export const UPSTREAM_TIMEOUT_CODE = 'PROMGATE_UPSTREAM_TIMEOUT';

export class UpstreamTimeoutError extends Error {
  readonly code = UPSTREAM_TIMEOUT_CODE;
  constructor(timeoutMs: number) {
    super(`upstream sent nothing for ${timeoutMs} ms`);
  }
}

/** A request body over web.maxRequestBodySize; answered 413, never sent on. */
export class BodyTooLargeError extends Error {
  readonly code = 'PROMGATE_BODY_TOO_LARGE';
  readonly limit: number;
  constructor(limit: number) {
    super(`request body larger than ${limit} bytes (web.maxRequestBodySize)`);
    this.limit = limit;
  }
}

/**
 * 413, and the connection closes: the rest of the body is never read (Node would otherwise read
 * it all to reuse the connection). A body cut while it streamed also ends the upstream request.
 */
export function answerBodyTooLarge(error: BodyTooLargeError, req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent) return void res.destroy(); // the upstream answered before the body was over
  if (res.destroyed) return;
  sendError(res, (req.url ?? '').split('?')[0] ?? '', 413, 'bad_data', error.message, { connection: 'close' });
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
};

const KINDS: Record<string, UpstreamErrorKind> = {
  [UPSTREAM_TIMEOUT_CODE]: 'timeout',
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  ETIMEDOUT: 'unreachable',
};

export function upstreamErrorKind(error: { code?: string }): UpstreamErrorKind {
  return KINDS[error.code ?? ''] ?? 'bad_response';
}

export function answerUpstreamError(
  error: Error & { code?: string },
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  securityHeaders: { handle(req: IncomingMessage, res: ServerResponse, next: () => void): void },
  onUpstreamError?: (kind: UpstreamErrorKind) => void,
): void {
  // A client that went away also ends the upstream request: not the upstream's failure.
  const clientGone = res.destroyed || req.socket.destroyed;
  if (!clientGone) onUpstreamError?.(upstreamErrorKind(error));
  const timedOut = error.code === UPSTREAM_TIMEOUT_CODE;
  const reason = timedOut ? error.message : (REASONS[error.code ?? ''] ?? 'bad response');
  const path = (req.url ?? '').split('?')[0] ?? '';
  logger.warn({ method: req.method, path, code: error.code ?? 'unknown', reason }, 'upstream request failed');
  if (res.headersSent) {
    res.destroy(); // mid-body: the client must see a broken response, not a truncated "success"
    return;
  }
  if (clientGone) return;
  // Upstream headers may already be set (it answered, then stalled): none of them describe our error.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  securityHeaders.handle(req, res, () => {});
  const status = timedOut ? 504 : 502;
  res.statusMessage = STATUS_CODES[status] ?? '';
  const message = timedOut ? `upstream timed out: ${reason}` : `upstream unavailable: ${reason}`;
  sendError(res, path, status, timedOut ? 'timeout' : 'unavailable', message);
}
