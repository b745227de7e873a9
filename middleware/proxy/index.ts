// The proxy stage: forwards the request, base path already stripped by the mount, so
// `/prometheus/<rest>?<q>` reaches the upstream as `<upstream path>/<rest>?<q>` byte for byte.
// The upstream side is undici's connection pool, driven through its dispatch handler: it served
// the small-API load at about twice the rate of node:http's Agent and ClientRequest, which
// http-proxy-middleware (httpxy) is built on (docs/decisions.md). Our own pieces: request header
// hygiene, body restore, timeout -> 504, response writing.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import type { Dispatcher } from 'undici';
import type { Logger } from '../../src/kernel/logger.ts';
import type { UpstreamErrorKind } from '../../src/kernel/upstream.ts';
import type { ResponseSecurityHeaders } from '../../src/kernel/response-headers.ts';
import { answerBodyTooLarge, answerUpstreamError, BodyTooLargeError, UpstreamTimeoutError } from './errors.ts';
import { hasParsedBody, parsedBody } from './parsed-body.ts';
import { readRequestBody, type RequestBody } from './request-body.ts';
import { createRequestHeaderHygiene } from './request-headers.ts';
import { createResponseWriter, type ResponseBody, type UpstreamResponseHead } from './response.ts';
import { Pool } from './pool.ts';
import { SilenceWatch, type Watched } from './silence-watch.ts';
import type { CollectGarbage } from './young-gc.ts';

/** The request as it goes to the upstream; `proxyReq` observers may still change its headers. */
export interface UpstreamRequest {
  method: string;
  /** Path and query on the upstream. */
  path: string;
  headers: IncomingHttpHeaders;
}

/** Observers for library users; they see, they do not answer (the gateway does). */
export interface ProxyEvents {
  proxyReq?: (proxyReq: UpstreamRequest, req: IncomingMessage, res: ServerResponse) => void;
  proxyRes?: (proxyRes: UpstreamResponseHead, req: IncomingMessage, res: ServerResponse) => void;
  error?: (error: Error, req: IncomingMessage, res: ServerResponse) => void;
}

export interface ProxyStageOptions {
  upstream: URL;
  /** Idle timeout towards the upstream (connect, headers and between body chunks). */
  timeoutMs: number;
  forwardAuthorization: boolean;
  /** Headers telling the upstream who is asking (upstream.identityHeaders). */
  identityHeaders?: { user: string; groups: string } | undefined;
  /** Upstream connections (upstream.maxConnections); bodies too large to buffer get a quarter as many more. */
  maxConnections: number;
  /** Largest request body forwarded (web.maxRequestBodySize); a larger one gets 413. */
  maxBodySize: number;
  trustProxy: BlockList | undefined;
  securityHeaders: ResponseSecurityHeaders;
  logger: Logger;
  events?: ProxyEvents | undefined;
  /** Counts failed upstream requests (self-metrics). */
  onUpstreamError?: (kind: UpstreamErrorKind) => void;
  /** The standalone server's garbage collector, for scavenges while large bodies stream. */
  collectGarbage?: CollectGarbage | undefined;
}

export interface ProxyStage {
  handle(req: Request, res: Response, next: NextFunction): void;
  /** An early stage: removes the client's headers that must not reach the upstream (./request-headers.ts). */
  stripClientHeaders(req: Request, res: Response, next: NextFunction): void;
  /** Closes the upstream connections. */
  close(): void;
}

/** The upload pool's size: a quarter of the main pool's, at least one connection. */
function uploadConnections(maxConnections: number): number {
  return Math.max(1, Math.floor(maxConnections / 4));
}

/** undici's one timeout left (headers and body are the SilenceWatch's), answered as our own: 504. */
const UNDICI_CONNECT_TIMEOUT = 'UND_ERR_CONNECT_TIMEOUT';

export function createProxyStage(options: ProxyStageOptions): ProxyStage {
  const { upstream, timeoutMs, logger, events, maxBodySize } = options;
  // Per gateway, so two gateways share nothing. Headers and body timeouts: the watch below,
  // without a timer object per request.
  const poolOptions = { headersTimeout: 0, bodyTimeout: 0, connectTimeout: timeoutMs };
  const pool = new Pool(upstream.origin, { ...poolOptions, connections: options.maxConnections });
  // Bodies too large to buffer hold their connection while the client sends: slow uploads then
  // wait for each other here, never take the connections GETs and small POSTs use.
  const uploadPool = new Pool(upstream.origin, {
    ...poolOptions,
    connections: uploadConnections(options.maxConnections),
  });
  const watch = new SilenceWatch(timeoutMs);
  // Prefix of every upstream path: `http://host/sub/` + `/api/v1/query` -> `/sub/api/v1/query`.
  const upstreamPath = upstream.pathname.replace(/\/$/, '');
  const { stripClientHeaders, rewriteRequestHeaders } = createRequestHeaderHygiene(options);
  const writeResponse = createResponseWriter(options);
  // User observers run inside undici's callbacks, where a throw would break the request.
  const observe = (event: string, call: () => void) => {
    try {
      call();
    } catch (error) {
      logger.error(
        { event, error: error instanceof Error ? error.message : String(error) },
        'proxy event observer threw',
      );
    }
  };
  // The upstream's answer, for every request's handler: built once here.
  const answer: UpstreamAnswer = {
    watch,
    timeoutMs,
    start(head, req, res, clientHost) {
      if (events?.proxyRes) observe('proxyRes', () => events.proxyRes!(head, req, res));
      return writeResponse(head, req, res, clientHost);
    },
    fail(error, req, res) {
      if (error instanceof BodyTooLargeError) return answerBodyTooLarge(error, req, res);
      const code = (error as { code?: string }).code;
      const answered = code === UNDICI_CONNECT_TIMEOUT ? new UpstreamTimeoutError(timeoutMs) : error;
      if (events?.error) observe('error', () => events.error!(answered, req, res));
      answerUpstreamError(answered, req, res, logger, options.securityHeaders, options.onUpstreamError);
    },
  };

  const forward = (
    req: Request,
    res: Response,
    clientHost: string | undefined,
    body: Exclude<RequestBody, BodyTooLargeError> | null,
  ) => {
    const outgoing: UpstreamRequest = { method: req.method, path: upstreamPath + req.url, headers: req.headers };
    if (events?.proxyReq) observe('proxyReq', () => events.proxyReq!(outgoing, req, res));
    const via = body === null || Buffer.isBuffer(body) ? pool : uploadPool;
    via.dispatch(
      { origin: upstream.origin, method: outgoing.method, path: outgoing.path, headers: outgoing.headers, body },
      new ForwardHandler(answer, req, res, clientHost),
    );
  };

  return {
    stripClientHeaders,
    handle(req, res) {
      rewriteRequestHeaders(req, req.baseUrl);
      const headers = req.headers;
      const clientHost = headers.host;
      headers.host = upstream.host; // as nginx's proxy_pass does; the client's goes in X-Forwarded-Host
      const chunked = headers['transfer-encoding'] !== undefined;
      if (chunked) headers['transfer-encoding'] = undefined; // undici frames the body itself (chunked when there is no length)
      const length = headers['content-length'];
      if (hasParsedBody(req)) return forward(req, res, clientHost, parsedBody(req, headers));
      if (!chunked && (length === undefined || length === '0')) return forward(req, res, clientHost, null);
      readRequestBody(req, chunked ? undefined : Number(length), maxBodySize, (body) => {
        if (body instanceof BodyTooLargeError) return answerBodyTooLarge(body, req, res);
        if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length); // a chunked body, now whole
        forward(req, res, clientHost, body);
      });
    },
    close() {
      watch.close();
      void pool.destroy();
      void uploadPool.destroy();
    },
  };
}

/** One request's life on the upstream side: undici calls it, it writes the client's response. */
class ForwardHandler implements Dispatcher.DispatchHandler, Watched {
  watchPrev: Watched | undefined = undefined;
  watchNext: Watched | undefined = undefined;
  lastTick = 0;
  held = false;
  private controller: Dispatcher.DispatchController | undefined;
  private body: ResponseBody | undefined;
  private readonly answer: UpstreamAnswer;
  private readonly req: Request;
  private readonly res: Response;
  /** The Host the client asked for (req.headers now carries the upstream's). */
  private readonly clientHost: string | undefined;

  constructor(answer: UpstreamAnswer, req: Request, res: Response, clientHost: string | undefined) {
    this.answer = answer;
    this.req = req;
    this.res = res;
    this.clientHost = clientHost;
    // A client that goes away ends the upstream request (and frees its connection for others).
    // `on`: 'close' comes once, and `once` would allocate a wrapper per request.
    res.on('close', () => {
      if (!res.writableFinished) this.controller?.abort(new ClientGoneError());
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.res.destroyed) return controller.abort(new ClientGoneError());
    this.answer.watch.start(this);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    this.answer.watch.renew(this);
    this.body = this.answer.start({ statusCode, statusMessage, headers }, this.req, this.res, this.clientHost);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.answer.watch.renew(this);
    if (this.body!.data(chunk)) return;
    // The client reads slower than the upstream sends: hold the upstream until it catches up.
    controller.pause();
    this.held = true;
    this.res.once('drain', () => {
      this.held = false;
      this.answer.watch.renew(this);
      controller.resume();
    });
  }

  onResponseEnd(): void {
    this.answer.watch.stop(this);
    this.body!.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.answer.watch.stop(this);
    if (error instanceof ClientGoneError) return;
    this.answer.fail(error, this.req, this.res);
  }

  /** The upstream stayed silent for the whole timeout: 504, or a cut body once it started. */
  expire(): void {
    this.controller?.abort(new UpstreamTimeoutError(this.answer.timeoutMs));
  }
}

/** What a request's handler does with the upstream's answer; one per proxy stage. */
interface UpstreamAnswer {
  /** Times the upstream's silence for every request in flight. */
  watch: SilenceWatch;
  /** ProxyStageOptions.timeoutMs, for the timeout's error. */
  timeoutMs: number;
  /** Observers, then status and headers to the client; returns where the body goes. */
  start(head: UpstreamResponseHead, req: Request, res: Response, clientHost: string | undefined): ResponseBody;
  /** Answers a failed upstream request (502/504, or a broken response mid-body). */
  fail(error: Error, req: Request, res: Response): void;
}

class ClientGoneError extends Error {
  readonly code = 'PROMGATE_CLIENT_GONE';
  constructor() {
    super('the client closed the connection');
  }
}
