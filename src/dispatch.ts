// The standalone server's request handler: finds the route by its base path and runs that
// gateway's stages directly. No Express app or Router sits in between (their per-request layer
// matching, prefix trimming and prototype swapping cost about a tenth of the small-API req/s),
// yet requests and responses are still Express's: the server creates them from classes whose
// prototypes are an Express app's, so user middleware (`res.status(403).json()`, `req.get()`,
// `req.ip`, `req.query`) works as it does in an Express app.
import type { IncomingMessage as NodeIncomingMessage, ServerResponse } from 'node:http';
import { http } from './kernel/node-http.ts';
import express, { type Request, type Response } from 'express';
import { isHealthPath } from '../middleware/health/index.ts';
import { createLandingPage } from '../middleware/landing-page/index.ts';
import type { Config } from './config/schema.ts';
import { ConfigError, errorMessage } from './errors.ts';
import type { RouteRuntime } from './gateway.ts';
import { createResponseClass } from './gateway-response.ts';
import type { Logger } from './logger.ts';

const { IncomingMessage } = http;
type IncomingMessage = NodeIncomingMessage;

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export interface DispatcherOptions {
  routes: readonly Config[];
  runtimes: readonly RouteRuntime[];
  /** The listener's health answers, speaking for every route. */
  health: Handler;
  landingPage: boolean;
  logger: Logger;
  /** True once shutdown began: answers then say `Connection: close`. */
  isClosing: () => boolean;
}

export interface Dispatcher {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** For the server's options: the request and response classes carrying Express's prototypes. */
  readonly IncomingMessage: typeof IncomingMessage;
  readonly ServerResponse: typeof ServerResponse;
}

/** A route as the dispatcher matches it: base path without its trailing slash ('' for '/'). */
interface Mount {
  path: string;
  runtime: RouteRuntime;
}

const ABSOLUTE_FORM_ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { routes, runtimes, health, logger, isClosing } = options;
  const gateway = runtimes[0]!.gateway;
  const app = express();
  app.disable('x-powered-by');
  app.set('case sensitive routing', true); // nginx locations are case-sensitive; so are we
  const mounts: Mount[] = routes.map((route, index) => ({
    path: route.basePath === '/' ? '' : route.basePath.replace(/\/$/, ''),
    runtime: runtimes[index]!,
  }));
  // Probes also find the health endpoints at the root, whatever the base paths (all routes count).
  const rootHealth = !mounts.some((mount) => mount.path === '');
  if (options.landingPage && !rootHealth)
    throw new ConfigError('needs every route under a base path other than "/"', { key: 'landingPage' });
  const landingPage = options.landingPage ? createLandingPage(runtimes.map((runtime) => runtime.landing)) : undefined;
  const securityHeaders = gateway.securityHeaders;

  const fail = (error: unknown, req: Request, res: Response) => {
    logger.error({ method: req.method, path: req.path, error: errorMessage(error) }, 'request failed in middleware');
    if (res.headersSent) return void res.destroy();
    const status = statusOf(error);
    securityHeaders.handle(req, res, () =>
      sendText(res, status, `${status} ${status >= 500 ? 'Internal Server Error' : 'Request Error'}\n`),
    );
  };

  /** Answers outside every route: counted and logged by the first gateway's observer. */
  const answerOutsideRoutes = (req: Request, res: Response) => {
    gateway.observe(req, res, (error?: unknown) => {
      if (error) return fail(error, req, res);
      const path = pathOf(req.url);
      const notFound = () => securityHeaders.handle(req, res, () => sendText(res, 404, '404 Not Found\n'));
      if (landingPage && path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
        return securityHeaders.handle(req, res, () =>
          landingPage(req, res, (error?: unknown) => (error ? fail(error, req, res) : notFound())),
        );
      }
      notFound();
    });
  };

  /** Runs the routes from `first` on; the next one is tried when a gateway passes the request on. */
  const dispatchFrom = (req: Request, res: Response, first: number) => {
    const url = req.url;
    const path = pathOf(url);
    for (let index = first; index < mounts.length; index++) {
      const mount = mounts[index]!;
      if (!isUnder(path, mount.path)) continue;
      // What an Express mount sets: the base path in baseUrl, the rest (at least "/") in url.
      req.baseUrl = mount.path;
      const rest = url.slice(mount.path.length);
      req.url = rest[0] === '/' ? rest : `/${rest}`;
      mount.runtime.handleMounted(req, res, (error?: unknown) => {
        req.url = url;
        req.baseUrl = '';
        if (error) return fail(error, req, res);
        dispatchFrom(req, res, index + 1);
      });
      return;
    }
    answerOutsideRoutes(req, res);
  };

  class GatewayRequest extends IncomingMessage {}
  Object.setPrototypeOf(GatewayRequest.prototype, app.request);

  return {
    IncomingMessage: GatewayRequest,
    ServerResponse: createResponseClass(app.response, isClosing),
    handle(incoming, outgoing) {
      const req = incoming as Request;
      const res = outgoing as Response;
      // What Express's app and router would set.
      req.res = res;
      req.originalUrl = req.url;
      req.baseUrl = '';
      req.params = {};
      res.locals = Object.create(null) as Response['locals'];
      // Absolute form (`GET http://host/prometheus/x`): matched on its path, as Express does.
      if (req.url[0] !== '/') req.url = req.url.replace(ABSOLUTE_FORM_ORIGIN, '') || '/';
      if (rootHealth && isHealthPath(req.url)) {
        return gateway.observe(req, res, () =>
          securityHeaders.handle(req, res, () => health(req, res, () => answerOutsideRoutes(req, res))),
        );
      }
      dispatchFrom(req, res, 0);
    },
  };
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** Whether `path` is the mount or below it, as Express matches `app.use(mount, ...)` (case-sensitive). */
function isUnder(path: string, mount: string): boolean {
  if (mount === '') return true;
  return path.startsWith(mount) && (path.length === mount.length || path[mount.length] === '/');
}

export function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function statusOf(error: unknown): number {
  const status =
    (error as { status?: unknown; statusCode?: unknown } | null)?.status ??
    (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}
