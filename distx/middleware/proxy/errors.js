// Upstream failures answered by the gateway: refused/unreachable -> 502, silent too long -> 504.
// Under /api/ the body is Prometheus's API error JSON so clients (Grafana, promtool) parse it.
import { STATUS_CODES } from 'node:http';
import { sendError } from "../../src/error-answer.js";
export const UPSTREAM_TIMEOUT_CODE = 'PROMGATE_UPSTREAM_TIMEOUT';
export class UpstreamTimeoutError extends Error {
    code = UPSTREAM_TIMEOUT_CODE;
    constructor(timeoutMs) {
        super(`upstream sent nothing for ${timeoutMs} ms`);
    }
}
const REASONS = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed',
    ETIMEDOUT: 'connection timed out',
    EPIPE: 'connection closed',
};
const KINDS = {
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
export function upstreamErrorKind(error) {
    return KINDS[error.code ?? ''] ?? 'bad_response';
}
export function answerUpstreamError(error, req, res, logger, securityHeaders, onUpstreamError) {
    // A client that went away also ends the upstream request: not the upstream's failure.
    const clientGone = res.destroyed || req.socket.destroyed;
    if (!clientGone)
        onUpstreamError?.(upstreamErrorKind(error));
    const timedOut = error.code === UPSTREAM_TIMEOUT_CODE;
    const reason = timedOut ? error.message : REASONS[error.code ?? ''] ?? 'bad response';
    const path = (req.url ?? '').split('?')[0] ?? '';
    logger.warn({ method: req.method, path, code: error.code ?? 'unknown', reason }, 'upstream request failed');
    if (res.headersSent) {
        res.destroy(); // mid-body: the client must see a broken response, not a truncated "success"
        return;
    }
    if (clientGone)
        return;
    // Upstream headers may already be set (it answered, then stalled): none of them describe our error.
    for (const name of res.getHeaderNames())
        res.removeHeader(name);
    securityHeaders.handle(req, res, () => { });
    const status = timedOut ? 504 : 502;
    res.statusMessage = STATUS_CODES[status] ?? '';
    const message = timedOut ? `upstream timed out: ${reason}` : `upstream unavailable: ${reason}`;
    sendError(res, path, status, timedOut ? 'timeout' : 'unavailable', message);
}
//# sourceMappingURL=errors.js.map