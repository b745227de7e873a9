// The proxy stage: http-proxy-middleware (httpxy) forwards the request with the base path already
// stripped by the mount, so `/prometheus/<rest>?<q>` reaches the upstream as `/<rest>?<q>` byte for
// byte. Our own pieces: request header hygiene, body restore, timeout -> 504, response writing.
import { Agent as HttpAgent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { BlockList } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { createProxyMiddleware, proxyEventsPlugin } from 'http-proxy-middleware';
import type { Logger } from '../../src/logger.ts';
import type { UpstreamErrorKind } from '../metrics/index.ts';
import type { SecurityHeaders } from '../security-headers/index.ts';
import { answerUpstreamError, UpstreamTimeoutError } from './errors.ts';
import { hasParsedBody, writeParsedBody } from './parsed-body.ts';
import { createRequestHeaderRewriter } from './request-headers.ts';
import { createResponseWriter } from './response.ts';

/** Observers for library users; they see, they do not answer (the gateway does). */
export interface ProxyEvents {
  proxyReq?: (proxyReq: ClientRequest, req: IncomingMessage, res: ServerResponse) => void;
  proxyRes?: (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse) => void;
  error?: (error: Error, req: IncomingMessage, res: ServerResponse) => void;
}

export interface ProxyStageOptions {
  upstream: URL;
  /** Idle timeout towards the upstream (connect, headers and between body chunks). */
  timeoutMs: number;
  forwardAuthorization: boolean;
  trustProxy: BlockList | undefined;
  securityHeaders: SecurityHeaders;
  logger: Logger;
  events?: ProxyEvents;
  /** Counts failed upstream requests (self-metrics). */
  onUpstreamError?: (kind: UpstreamErrorKind) => void;
}

export interface ProxyStage {
  handle(req: Request, res: Response, next: NextFunction): void;
  /** Closes idle upstream connections. */
  close(): void;
}


/** Upstream keep-alive pool; per gateway, so two gateways share nothing. */
export const UPSTREAM_MAX_SOCKETS = 256;
export const UPSTREAM_MAX_FREE_SOCKETS = 64;

export function createProxyStage(options: ProxyStageOptions): ProxyStage {
  const { upstream, timeoutMs, logger, events } = options;
  const agentOptions = { keepAlive: true, maxSockets: UPSTREAM_MAX_SOCKETS, maxFreeSockets: UPSTREAM_MAX_FREE_SOCKETS, timeout: timeoutMs, scheduling: 'lifo' as const };
  const agent = upstream.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const rewriteRequestHeaders = createRequestHeaderRewriter(options);
  // User observers run inside emitter callbacks, where a throw would take the process down.
  const observe = (event: string, call: () => void) => {
    try {
      call();
    } catch (error) {
      logger.error({ event, error: error instanceof Error ? error.message : String(error) }, 'proxy event observer threw');
    }
  };
  const writeResponse = createResponseWriter(options);

  const proxy = createProxyMiddleware({
    target: upstream.href,
    changeOrigin: true, // Host: the upstream's, as nginx's proxy_pass does; the client's goes in X-Forwarded-Host
    xfwd: false, // set by rewriteRequestHeaders, which knows whom to trust
    selfHandleResponse: true,
    ejectPlugins: true, // no default logger or error page: errors are answered below
    plugins: [proxyEventsPlugin], // wires up `on`
    agent,
    on: {
      proxyReq(proxyReq, req, res) {
        proxyReq.once('timeout', () => proxyReq.destroy(new UpstreamTimeoutError(timeoutMs)));
        if (hasParsedBody(req)) writeParsedBody(proxyReq, req);
        observe('proxyReq', () => events?.proxyReq?.(proxyReq, req, res));
      },
      proxyRes(proxyRes, req, res) {
        observe('proxyRes', () => events?.proxyRes?.(proxyRes, req, res));
        writeResponse(proxyRes, req as Request, res);
      },
      error(error, req, res) {
        const response = res as ServerResponse; // never a socket: no WebSocket proxying
        observe('error', () => events?.error?.(error, req, response));
        answerUpstreamError(error, req, response, logger, options.securityHeaders, options.onUpstreamError);
      },
    },
  });

  return {
    handle(req, res, next) {
      rewriteRequestHeaders(req, req.baseUrl);
      void proxy(req, res, next);
    },
    close() {
      agent.destroy();
    },
  };
}
