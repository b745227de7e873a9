// The gateway's own health endpoints, answered without auth (probes carry no credentials):
//   /-/promgate/healthy  the process serves requests;
//   /-/promgate/ready    and the upstream answered its own ready path (Prometheus: /-/ready) at
//                        the last check, polled in the background so a probe never waits on it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { http } from '../../src/kernel/node-http.ts';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '../../src/kernel/logger.ts';

const { request: httpRequest } = http;

export const HEALTHY_PATH = '/-/promgate/healthy';
export const READY_PATH = '/-/promgate/ready';
/** Ready needs a successful check no older than this many intervals (a stuck poller is not ready). */
export const READY_STALE_INTERVALS = 3;

export interface UpstreamReadiness {
  /** Why the gateway is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
  /** Not ready from now on (shutdown began), so load balancers stop sending new requests. */
  drain(): void;
  /** Begins polling the upstream; building polls nothing (check-config builds and never starts). */
  start?(): void;
  close(): void;
}

export interface UpstreamReadinessOptions {
  upstream: URL;
  /** Upstream path to poll; "" means ready as soon as the gateway serves. */
  path: string;
  intervalMs: number;
  logger: Logger;
  onResult?: (ready: boolean) => void;
}

export function watchUpstreamReadiness(options: UpstreamReadinessOptions): UpstreamReadiness {
  const { upstream, path, intervalMs, logger } = options;
  let draining = false;
  const drain = () => void (draining = true);
  if (path === '')
    return { notReadyReason: () => (draining ? 'shutting down' : undefined), drain, start: () => {}, close: () => {} };
  const target = new URL(upstream.pathname.replace(/\/$/, '') + path, upstream);
  let lastSuccess = 0;
  let failure: string | undefined = 'upstream not checked yet';
  let checking = false;
  const check = () => {
    if (checking) return;
    checking = true;
    probe(target, intervalMs).then(
      (problem) => {
        checking = false;
        if (problem === undefined) lastSuccess = performance.now();
        if (problem !== failure) {
          if (problem === undefined) logger.info({ upstream_path: path }, 'upstream is ready');
          else logger.warn({ upstream_path: path, reason: problem }, 'upstream is not ready');
        }
        failure = problem;
        options.onResult?.(problem === undefined);
      },
      () => (checking = false),
    );
  };
  let timer: NodeJS.Timeout | undefined;
  return {
    start() {
      if (timer) return;
      check();
      timer = setInterval(check, intervalMs);
      timer.unref();
    },
    notReadyReason() {
      if (draining) return 'shutting down';
      if (failure !== undefined) return failure;
      if (performance.now() - lastSuccess > READY_STALE_INTERVALS * intervalMs)
        return 'no recent answer from the upstream';
      return undefined;
    },
    drain,
    close: () => clearInterval(timer),
  };
}

/** One GET of the ready path; resolves to a reason when it did not answer 2xx in time. */
function probe(target: URL, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      target,
      { method: 'GET', timeout: timeoutMs, headers: { 'user-agent': 'promgate-readiness' } },
      (res) => {
        res.resume();
        const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
        resolve(ok ? undefined : `upstream ready path answered ${res.statusCode}`);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (error: NodeJS.ErrnoException) =>
      resolve(`upstream unreachable: ${error.code ?? error.message}`),
    );
    req.end();
  });
}

export function isHealthPath(url: string | undefined): boolean {
  return url !== undefined && (hasPath(url, HEALTHY_PATH) || hasPath(url, READY_PATH));
}

/** Whether the URL's path (before any query) is `path`; asked twice per request, so no split. */
function hasPath(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url[path.length] === '?');
}

/**
 * Answers the health paths (relative to where it is mounted) and passes anything else on.
 * GET and HEAD only, like Prometheus's own /-/healthy.
 */
export function createHealthStage(readiness: UpstreamReadiness) {
  return function health(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    if (!isHealthPath(req.url)) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, req, 405, 'Only GET and HEAD are allowed.\n', { allow: 'GET, HEAD' });
    }
    if (hasPath(req.url!, HEALTHY_PATH)) return send(res, req, 200, 'promgate is Healthy.\n');
    const reason = readiness.notReadyReason();
    send(
      res,
      req,
      reason === undefined ? 200 : 503,
      reason === undefined ? 'promgate is Ready.\n' : `promgate is not ready: ${reason}.\n`,
    );
  };
}

function send(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
