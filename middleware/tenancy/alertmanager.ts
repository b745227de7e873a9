// A tenant in front of Alertmanager (API v2) sees and changes only its own alerts and silences.
// Alerts and alert groups are filtered to those whose labels are in scope; silences to the
// tenant's (silences.ts). A new silence gets the tenant's matchers added, one whose matchers on a
// scoped label reach beyond it is refused, and updates, reads and expiry of one silence look it up
// first (as prom-label-proxy does, with several labels and values). The endpoints are an
// allow-list: the v1 API, receivers, metrics and anything Alertmanager adds later are refused.
import type { NextFunction, Request, Response } from 'express';
import { sendError } from '../../src/kernel/error-answer.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import { pathReadings } from '../../src/kernel/path-readings.ts';
import type { TenantScope } from '../../src/kernel/request-state.ts';
import { filterResponse } from '../../src/kernel/response-filter.ts';
import { hasParsedBody } from '../proxy/parsed-body.ts';
import { labelsInScope } from './promql/index.ts';
import { isMatcherList, isObject, type SilenceMatcher, scopeSilenceMatchers, silenceInScope } from './silences.ts';

export { type SilenceMatcher, scopeSilenceMatchers, silenceInScope } from './silences.ts';

/** A silence or list of alerts a tenant posts is read whole; larger bodies are refused. */
export const MAX_TENANT_BODY_BYTES = 1 << 20;
/** How long looking up a silence before changing it may take. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 10_000;

export interface AlertmanagerTenancyOptions {
  logger: Logger;
  /** The route's Alertmanager: a silence is looked up there before a tenant may update or expire it. */
  upstream: URL;
  /** Timeout of that lookup; DEFAULT_LOOKUP_TIMEOUT_MS when omitted. */
  lookupTimeoutMs?: number;
  /** The largest body read (web.maxRequestBodySize); at most MAX_TENANT_BODY_BYTES. */
  maxBodySize?: number;
}

export type TenantHandler = (req: Request, res: Response, next: NextFunction, scope: TenantScope) => void;

type Kind = 'alerts' | 'alert-groups' | 'silences' | 'silence' | 'status' | 'harmless' | { refused: string };

/** What a tenant reaches, by normalized path (pathReadings: lowercase, decoded, no trailing slash). */
const ENDPOINTS: Readonly<Record<string, Kind>> = {
  '/api/v2/alerts': 'alerts',
  '/api/v2/alerts/groups': 'alert-groups',
  '/api/v2/silences': 'silences',
  // Grafana's health check of an Alertmanager data source; its config is not the tenant's.
  '/api/v2/status': 'status',
  '/-/ready': 'harmless',
  '/-/healthy': 'harmless',
  // The web UI's page and assets; the data it shows comes from the API above.
  '/': 'harmless',
  '/script.js': 'harmless',
  '/favicon.ico': 'harmless',
};
const SILENCE_PREFIX = '/api/v2/silence/';
/** Alertmanager's silence ids are UUIDs; anything else must not reach the lookup URL. */
const SILENCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const READ_METHODS = new Set(['GET', 'HEAD']);

function classify(reading: string): Kind {
  const known = ENDPOINTS[reading];
  if (known) return known;
  if (reading.startsWith(SILENCE_PREFIX) && !reading.slice(SILENCE_PREFIX.length).includes('/')) return 'silence';
  if (reading.startsWith('/lib/')) return 'harmless';
  if (reading.startsWith('/api/v1/')) return { refused: "Alertmanager's v1 API is not limited to a tenant" };
  if (reading === '/api/v2/receivers') return { refused: "the receivers are the whole Alertmanager's, not a tenant's" };
  return { refused: 'this endpoint is not limited to a tenant' };
}

/** The endpoint every reading of the path names; refused when they disagree. */
function endpointOf(rawPath: string): Kind {
  const readings = pathReadings(rawPath);
  if (!readings) return { refused: 'the request path cannot be read' };
  const kinds = readings.map(classify);
  const first = kinds[0]!;
  if (typeof first !== 'string') return first;
  return kinds.every((kind) => kind === first) ? first : { refused: 'the request path reads as several endpoints' };
}

const labelsOf = (item: unknown): Record<string, string> =>
  isObject(item) && isObject(item.labels) ? (item.labels as Record<string, string>) : {};

/** An answer of an unexpected shape gives the tenant nothing rather than everything. */
function filterAlerts(json: unknown, scope: TenantScope): unknown {
  return Array.isArray(json) ? json.filter((alert) => labelsInScope(labelsOf(alert), scope)) : [];
}

function filterAlertGroups(json: unknown, scope: TenantScope): unknown {
  if (!Array.isArray(json)) return [];
  return json.flatMap((group) => {
    if (!isObject(group)) return [];
    const alerts = filterAlerts(group.alerts, scope) as unknown[];
    return alerts.length > 0 ? [{ ...group, alerts }] : [];
  });
}

function filterSilences(json: unknown, scope: TenantScope): unknown {
  if (!Array.isArray(json)) return [];
  return json.filter(
    (silence) => isObject(silence) && isMatcherList(silence.matchers) && silenceInScope(silence.matchers, scope),
  );
}

/** The status without Alertmanager's configuration (every team's routes and receivers, with their URLs). */
function filterStatus(json: unknown): unknown {
  return isObject(json) ? { ...json, config: { original: '' } } : {};
}

/** A refusal the tenant can act on (4xx) or an upstream failure (502). */
class TenantRefusal extends Error {
  readonly status: number;
  readonly errorType: string;
  constructor(status: number, errorType: string, message: string) {
    super(message);
    this.status = status;
    this.errorType = errorType;
  }
}

export function createAlertmanagerTenancy(options: AlertmanagerTenancyOptions): TenantHandler {
  const { logger } = options;
  const lookupTimeoutMs = options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
  const maxBodySize = Math.min(options.maxBodySize ?? MAX_TENANT_BODY_BYTES, MAX_TENANT_BODY_BYTES);
  const silenceBase = `${options.upstream.origin}${options.upstream.pathname.replace(/\/+$/, '')}${SILENCE_PREFIX}`;

  /** The silence with this id, undefined when Alertmanager has none. */
  async function lookUpSilence(id: string): Promise<{ matchers: SilenceMatcher[] } | undefined> {
    let response: globalThis.Response;
    try {
      response = await fetch(`${silenceBase}${encodeURIComponent(id)}`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(lookupTimeoutMs),
      });
    } catch (error) {
      throw new TenantRefusal(502, 'unavailable', `looking up silence ${id} failed: ${(error as Error).message}`);
    }
    if (response.status === 404) return undefined;
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok || !isObject(body) || !isMatcherList(body.matchers))
      throw new TenantRefusal(
        502,
        'unavailable',
        `looking up silence ${id} failed: Alertmanager answered ${response.status}`,
      );
    return { matchers: body.matchers };
  }

  async function requireOwnSilence(id: string, scope: TenantScope): Promise<void> {
    if (!SILENCE_ID.test(id)) throw new TenantRefusal(400, 'bad_data', 'a silence id is a UUID');
    const silence = await lookUpSilence(id);
    // An unknown id goes on: Alertmanager answers it (404) as it would anyone.
    if (silence && !silenceInScope(silence.matchers, scope))
      throw new TenantRefusal(403, 'forbidden', `silence ${id} is not your tenant's`);
  }

  async function postSilence(req: Request, scope: TenantScope): Promise<void> {
    const silence = await readJson(req, maxBodySize);
    if (!isObject(silence) || !isMatcherList(silence.matchers))
      throw new TenantRefusal(400, 'bad_data', 'a silence is a JSON object with a list of matchers');
    // An empty list would become a silence of everything the tenant has, which nobody asked for.
    if (silence.matchers.length === 0) throw new TenantRefusal(400, 'bad_data', 'a silence needs at least one matcher');
    if (silence.id !== undefined && silence.id !== '') await requireOwnSilence(String(silence.id), scope);
    const matchers = scopeSilenceMatchers(silence.matchers, scope);
    if (typeof matchers === 'string') throw new TenantRefusal(403, 'forbidden', matchers);
    setBody(req, { ...silence, matchers });
  }

  async function postAlerts(req: Request, scope: TenantScope): Promise<void> {
    const alerts = await readJson(req, maxBodySize);
    if (!Array.isArray(alerts)) throw new TenantRefusal(400, 'bad_data', 'alerts are posted as a JSON list');
    if (!alerts.every((alert) => labelsInScope(labelsOf(alert), scope)))
      throw new TenantRefusal(403, 'forbidden', "an alert's labels are outside your tenant");
    setBody(req, alerts);
  }

  const refuse = (req: Request, res: Response, rawPath: string, refusal: TenantRefusal) => {
    if (refusal.status !== 502)
      logger.info(
        {
          method: req.method,
          path: req.originalUrl.split('?', 1)[0],
          user: req.promgate?.user,
          reason: refusal.message,
        },
        'tenant refused',
      );
    else logger.warn({ method: req.method, path: rawPath, err: refusal.message }, 'tenant check failed');
    if (!res.headersSent) sendError(res, rawPath, refusal.status, refusal.errorType, refusal.message);
  };

  return (req, res, next, scope) => {
    const query = req.url.indexOf('?');
    const rawPath = query < 0 ? req.url : req.url.slice(0, query);
    const kind = endpointOf(rawPath);
    const read = READ_METHODS.has(req.method);
    const run = (work: Promise<void>) =>
      work.then(
        () => next(),
        (error: unknown) => {
          if (error instanceof TenantRefusal) refuse(req, res, rawPath, error);
          else next(error);
        },
      );
    if (typeof kind !== 'string') return refuse(req, res, rawPath, new TenantRefusal(403, 'forbidden', kind.refused));
    if (req.method === 'OPTIONS' || (kind === 'harmless' && read)) return next();
    switch (kind) {
      case 'alerts':
        if (read) {
          filterResponse(req, (json) => filterAlerts(json, scope));
          return next();
        }
        if (req.method === 'POST') return void run(postAlerts(req, scope));
        break;
      case 'alert-groups':
        if (!read) break;
        filterResponse(req, (json) => filterAlertGroups(json, scope));
        return next();
      case 'silences':
        if (read) {
          filterResponse(req, (json) => filterSilences(json, scope));
          return next();
        }
        if (req.method === 'POST') return void run(postSilence(req, scope));
        break;
      case 'silence':
        if (read || req.method === 'DELETE') return void run(requireOwnSilence(silenceIdOf(rawPath), scope));
        break;
      case 'status':
        if (!read) break;
        filterResponse(req, filterStatus);
        return next();
    }
    refuse(req, res, rawPath, new TenantRefusal(405, 'bad_data', `${req.method} is not allowed here for a tenant`));
  };
}

/** The id as Alertmanager's router reads it: the last segment, percent-decoded once. */
function silenceIdOf(rawPath: string): string {
  const segment = rawPath.slice(rawPath.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // not a UUID: refused by the id check
  }
}

/** The request's JSON body: read here (up to maxBodySize), or what a host app's parser left. */
async function readJson(req: Request, maxBodySize: number): Promise<unknown> {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') throw new TenantRefusal(415, 'bad_data', 'send the body without a Content-Encoding');
  let text: string;
  if (hasParsedBody(req)) {
    const parsed: unknown = req.body;
    if (Buffer.isBuffer(parsed) || typeof parsed === 'string') text = parsed.toString();
    else return parsed;
  } else {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBodySize) {
        // The rest of the body is never read: the connection cannot carry another request.
        req.res?.setHeader('connection', 'close');
        throw new TenantRefusal(413, 'bad_data', `the body is larger than ${maxBodySize} bytes`);
      }
      chunks.push(chunk);
    }
    text = Buffer.concat(chunks).toString('utf8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TenantRefusal(400, 'bad_data', 'the body is not JSON');
  }
}

/** The proxy forwards req.body (parsed-body.ts) with a Content-Length of its own. */
function setBody(req: Request, json: unknown): void {
  req.body = Buffer.from(JSON.stringify(json));
  req.headers['content-type'] = 'application/json';
}
