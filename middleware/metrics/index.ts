// promgate's own metrics (prom-client), in a registry per gateway so two gateways in one process
// never collide; a registry handed in by a library user may be shared, then metrics are reused.
// Names follow Prometheus's conventions (prometheus_http_requests_total, ..._last_reload_successful).
// Gauges say how --workers adds them up in the primary (aggregator): counters sum, states take the minimum.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { UpstreamErrorKind } from '../../src/kernel/upstream.ts';
import { createDecisionTally, createRequestTally, type DecisionSubject, type RouteTally } from './tally.ts';

/** Where the metrics are served under the gateway's base path (behind auth) when enabled. */
export const METRICS_PATH = '/-/promgate/metrics';

/** Prometheus's usual latency buckets, stretched to its 2m default query timeout. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export type ReloadSource = 'tls' | 'htpasswd' | 'tokens';
export type { UpstreamErrorKind };

/** Anything else is counted as "other", so a client cannot grow the label set. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);
/** Marks a response already counted, so a stage mounted twice (server and gateway) counts once. */
const COUNTED = Symbol('promgate.metrics.counted');

export interface GatewayMetrics {
  readonly registry: Registry;
  /**
   * Counts the request and times it until the response closes; first stage of the chain. `route`
   * is the base path of the gateway the request reached ('' for answers outside every route).
   */
  observeRequest(req: IncomingMessage, res: ServerResponse, next: () => void, route?: string): void;
  /** A request Node's HTTP parser refused (400, 408, 413, 431): no route, its method unknown. */
  refusedByParser(status: number): void;
  upstreamError(kind: UpstreamErrorKind): void;
  authFailure(reason: string): void;
  /** A source loaded at start. */
  loaded(source: ReloadSource): void;
  /** A source re-read after its files changed; a failure keeps the previous state. */
  reloaded(source: ReloadSource, ok: boolean): void;
  upstreamUp(up: boolean): void;
  /** An access-control or rate-limit decision, with the rule that made it and who it was about. */
  decision(allowed: boolean, rule: string, subject?: DecisionSubject): void;
  /** The rate-limit store (Redis) failed a request's count. */
  rateLimitStoreError(): void;
}

export function createGatewayMetrics(registry: Registry = new Registry()): GatewayMetrics {
  const requests = createRequestTally(registry, {
    requests: {
      name: 'promgate_http_requests_total',
      help: 'Requests answered, by status code, method and route (base path).',
    },
    duration: {
      name: 'promgate_http_request_duration_seconds',
      help: 'Time from the request to the end of its response, by method and route.',
    },
    inFlight: { name: 'promgate_http_requests_in_flight', help: 'Requests being answered now.' },
    buckets: DURATION_BUCKETS,
    knownMethods: KNOWN_METHODS,
  });
  const outsideRoutes = requests.route('');
  const upstreamErrors = reuse(
    registry,
    'promgate_upstream_errors_total',
    (name) =>
      new Counter({
        name,
        help: 'Upstream requests that failed, by kind (refused, reset, timeout, dns, unreachable, bad_response).',
        labelNames: ['kind'] as const,
        registers: [registry],
      }),
  );
  const authFailures = reuse(
    registry,
    'promgate_auth_failures_total',
    (name) =>
      new Counter({
        name,
        help: 'Requests refused by authentication, by reason.',
        labelNames: ['reason'] as const,
        registers: [registry],
      }),
  );
  const reloadOk = reuse(
    registry,
    'promgate_config_last_reload_successful',
    (name) =>
      new Gauge({
        name,
        help: 'Whether the last reload of a source (tls: certificate, key, CAs and web config; htpasswd; tokens) succeeded.',
        labelNames: ['source'] as const,
        registers: [registry],
        aggregator: 'min',
      }),
  );
  const reloadTime = reuse(
    registry,
    'promgate_config_last_reload_success_timestamp_seconds',
    (name) =>
      new Gauge({
        name,
        help: 'When a source was last loaded successfully, as a Unix timestamp.',
        labelNames: ['source'] as const,
        registers: [registry],
        aggregator: 'min',
      }),
  );
  const reloads = reuse(
    registry,
    'promgate_config_reloads_total',
    (name) =>
      new Counter({
        name,
        help: 'Reloads of a source after its files changed, by result.',
        labelNames: ['source', 'result'] as const,
        registers: [registry],
      }),
  );
  const decisions = createDecisionTally(registry, {
    name: 'promgate_access_decisions_total',
    help: 'Access-control and rate-limit decisions, by result (allowed, denied, limited), the rule that decided, and the login method and user.',
  });
  const storeErrors = reuse(
    registry,
    'promgate_rate_limit_store_errors_total',
    (name) =>
      new Counter({
        name,
        help: 'Rate-limit counts the store (Redis) failed; the request passed or got 503 as rateLimit.redis.failOpen says.',
        registers: [registry],
      }),
  );
  const upstreamUp = reuse(
    registry,
    'promgate_upstream_up',
    (name) =>
      new Gauge({
        name,
        help: 'Whether the upstream answered its ready path at the last check.',
        registers: [registry],
        aggregator: 'min',
      }),
  );

  return {
    registry,
    observeRequest(req, res, next, route) {
      const counted = res as ServerResponse & { [COUNTED]?: { route: RouteTally } };
      if (counted[COUNTED]) {
        // Counted by the server already; now the request reached a route, which names it.
        if (route !== undefined) counted[COUNTED].route = requests.route(route);
        return next();
      }
      const state = { route: route === undefined ? outsideRoutes : requests.route(route) };
      counted[COUNTED] = state;
      const start = performance.now();
      requests.inFlight++;
      // 'close' comes once per response; `on` spares the wrapper `once` allocates per request.
      res.on('close', () => {
        requests.inFlight--;
        state.route.answered(req.method, res.statusCode, (performance.now() - start) / 1000);
      });
      next();
    },
    refusedByParser: (status) => outsideRoutes.answered(undefined, status),
    upstreamError: (kind) => upstreamErrors.inc({ kind }),
    authFailure: (reason) => authFailures.inc({ reason }),
    loaded(source) {
      reloadOk.set({ source }, 1);
      reloadTime.set({ source }, Date.now() / 1000);
    },
    reloaded(source, ok) {
      reloads.inc({ source, result: ok ? 'success' : 'failure' });
      reloadOk.set({ source }, ok ? 1 : 0);
      if (ok) reloadTime.set({ source }, Date.now() / 1000);
    },
    upstreamUp: (up) => upstreamUp.set(up ? 1 : 0),
    rateLimitStoreError: () => storeErrors.inc(),
    decision: (allowed, rule, subject) =>
      decisions(allowed ? 'allowed' : rule.startsWith('rate-limit.') ? 'limited' : 'denied', rule, subject),
  };
}

/**
 * prom-client's gauges named like counters: `promtool check metrics` flags a gauge ending in _total,
 * and each is the sum of its unsuffixed sibling by type (sum(nodejs_active_handles)).
 */
const COUNTER_NAMED_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** prom-client's process_* and nodejs_* metrics, once per registry, minus those misnamed gauges. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of COUNTER_NAMED_GAUGES) registry.removeSingleMetric(name);
}

/** The serving certificate's expiry, read at each scrape so a reloaded certificate shows at once. */
export function registerCertificateExpiry(registry: Registry, notAfter: () => Date): void {
  reuse(
    registry,
    'promgate_tls_certificate_expiry_timestamp_seconds',
    (name) =>
      new Gauge({
        name,
        help: 'When the served TLS certificate expires, as a Unix timestamp.',
        registers: [registry],
        aggregator: 'min', // --workers: the earliest any worker serves
        collect() {
          this.set(notAfter().getTime() / 1000);
        },
      }),
  );
}

/** Answers a scrape: the text exposition format of the registry. */
export async function sendMetrics(registry: Registry, res: ServerResponse): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function reuse<M extends Metric>(registry: Registry, name: string, create: (name: string) => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create(name);
}
