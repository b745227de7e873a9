import { Pool } from 'undici';
import { answerUpstreamError, UpstreamTimeoutError } from "./errors.js";
import { hasParsedBody, parsedBody } from "./parsed-body.js";
import { createRequestHeaderRewriter } from "./request-headers.js";
import { createResponseWriter } from "./response.js";
/** Upstream keep-alive pool; per gateway, so two gateways share nothing. */
export const UPSTREAM_MAX_CONNECTIONS = 256;
/** undici's timeout errors, answered as our own: 504. */
const UNDICI_TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
export function createProxyStage(options) {
    const { upstream, timeoutMs, logger, events } = options;
    const pool = new Pool(upstream.origin, {
        connections: UPSTREAM_MAX_CONNECTIONS,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        connectTimeout: timeoutMs,
    });
    // Prefix of every upstream path: `http://host/sub/` + `/api/v1/query` -> `/sub/api/v1/query`.
    const upstreamPath = upstream.pathname.replace(/\/$/, '');
    const rewriteRequestHeaders = createRequestHeaderRewriter(options);
    const writeResponse = createResponseWriter(options);
    // User observers run inside undici's callbacks, where a throw would break the request.
    const observe = (event, call) => {
        try {
            call();
        }
        catch (error) {
            logger.error({ event, error: error instanceof Error ? error.message : String(error) }, 'proxy event observer threw');
        }
    };
    const fail = (error, req, res) => {
        const answered = error.code !== undefined && UNDICI_TIMEOUTS.has(error.code) ? new UpstreamTimeoutError(timeoutMs) : error;
        if (events?.error)
            observe('error', () => events.error(answered, req, res));
        answerUpstreamError(answered, req, res, logger, options.securityHeaders, options.onUpstreamError);
    };
    return {
        handle(req, res) {
            rewriteRequestHeaders(req, req.baseUrl);
            const headers = req.headers;
            const clientHost = headers.host;
            headers.host = upstream.host; // as nginx's proxy_pass does; the client's goes in X-Forwarded-Host
            let body = null;
            if (hasParsedBody(req))
                body = parsedBody(req, headers);
            else if (headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0'))
                body = req;
            // undici frames the body itself (chunked when there is no length).
            if (headers['transfer-encoding'] !== undefined)
                headers['transfer-encoding'] = undefined;
            const outgoing = { method: req.method, path: upstreamPath + req.url, headers };
            if (events?.proxyReq)
                observe('proxyReq', () => events.proxyReq(outgoing, req, res));
            pool.dispatch({ origin: upstream.origin, method: outgoing.method, path: outgoing.path, headers: outgoing.headers, body }, new ForwardHandler(req, res, clientHost, writeResponse, events, observe, fail));
        },
        close() {
            void pool.destroy();
        },
    };
}
/** One request's life on the upstream side: undici calls it, it writes the client's response. */
class ForwardHandler {
    controller;
    body;
    req;
    res;
    clientHost;
    writeResponse;
    events;
    observe;
    fail;
    constructor(req, res, clientHost, writeResponse, events, observe, fail) {
        this.req = req;
        this.res = res;
        this.clientHost = clientHost;
        this.writeResponse = writeResponse;
        this.events = events;
        this.observe = observe;
        this.fail = fail;
        // A client that goes away ends the upstream request (and frees its connection for others).
        res.once('close', () => {
            if (!res.writableFinished)
                this.controller?.abort(new ClientGoneError());
        });
    }
    onRequestStart(controller) {
        this.controller = controller;
        if (this.res.destroyed)
            controller.abort(new ClientGoneError());
    }
    onResponseStart(controller, statusCode, headers, statusMessage) {
        const head = { statusCode, statusMessage, headers };
        if (this.events?.proxyRes)
            this.observe('proxyRes', () => this.events.proxyRes(head, this.req, this.res));
        this.body = this.writeResponse(head, this.req, this.res, this.clientHost);
        void controller;
    }
    onResponseData(controller, chunk) {
        if (this.body.data(chunk))
            return;
        // The client reads slower than the upstream sends: hold the upstream until it catches up.
        controller.pause();
        this.res.once('drain', () => controller.resume());
    }
    onResponseEnd() {
        this.body.end();
    }
    onResponseError(_controller, error) {
        if (error instanceof ClientGoneError)
            return;
        this.fail(error, this.req, this.res);
    }
}
class ClientGoneError extends Error {
    code = 'PROMGATE_CLIENT_GONE';
    constructor() {
        super('the client closed the connection');
    }
}
//# sourceMappingURL=index.js.map