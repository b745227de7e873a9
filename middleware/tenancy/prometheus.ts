// A tenant's request to Prometheus: classified by every reading of its path (./endpoints.ts), its
// parameters read once into one canonical set (./form.ts), its PromQL and series selectors scoped
// to the tenant, and the request rebuilt from that set alone: what Prometheus evaluates is exactly
// what was enforced. Rules and alerts are filtered on the way back.
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { sendError } from '../../src/kernel/error-answer.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import { pathReadings } from '../../src/kernel/path-readings.ts';
import type { TenantScope } from '../../src/kernel/request-state.ts';
import { filterResponse } from '../../src/kernel/response-filter.ts';
import { classifyPath, type Endpoint } from './endpoints.ts';
import { encodeForm, FormError, mergeParameters, parseForm, REPEATABLE, type Parameters } from './form.ts';
import { filterRuleGroups } from './rules.ts';

/** The rewriter's functions the stage needs (./promql/index.ts). */
export interface PromQLEnforcer {
  enforceQuery(query: string, scope: TenantScope): string;
  enforceSeriesSelector(match: string, scope: TenantScope): string;
  scopeSelector(scope: TenantScope): string;
  labelsInScope(labels: Readonly<Record<string, string>>, scope: TenantScope): boolean;
  /** Its error for a query it refuses, whose message is fit for the client. */
  PromQLError: abstract new (
    ...args: never[]
  ) => Error;
}

export interface PrometheusTenancyOptions {
  logger: Logger;
  enforcer: PromQLEnforcer;
  /** Largest form body read (web.maxRequestBodySize). */
  maxBodySize: number;
}

export type TenantHandler = (req: Request, res: Response, next: NextFunction, scope: TenantScope) => void;

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** A request the stage refuses: its status and Prometheus error type. */
class Refusal extends Error {
  readonly status: 400 | 403 | 413;
  readonly errorType: 'bad_data' | 'forbidden';
  constructor(status: 400 | 403 | 413, errorType: 'bad_data' | 'forbidden', message: string) {
    super(message);
    this.status = status;
    this.errorType = errorType;
  }
}

/** Scoped queries remembered per handler: dashboards repeat theirs, and a rewrite costs a parse and a check. */
export const SCOPED_CACHE_ENTRIES = 1000;
/** Longer queries are rewritten every time rather than held. */
export const SCOPED_CACHE_MAX_QUERY = 4096;

export function createPrometheusTenancy(options: PrometheusTenancyOptions): TenantHandler {
  const { logger, maxBodySize } = options;
  const enforcer = cachedEnforcer(options.enforcer);

  const refuse = (req: Request, res: Response, rawPath: string, refusal: Refusal) => {
    logger.info(
      { method: req.method, path: rawPath, user: req.promgate?.user, status: refusal.status, reason: refusal.message },
      'tenant request refused',
    );
    sendError(res, rawPath, refusal.status, refusal.errorType, refusal.message);
  };

  /** The canonical parameters of the request rebuilt, enforced, into the request itself. */
  const rewrite = (req: Request, endpoint: Endpoint, parameters: Parameters, scope: TenantScope) => {
    const scoped = scopeParameters(endpoint, parameters, scope, enforcer);
    const encoded = encodeForm(scoped);
    const headers = req.headers;
    if (req.method === 'POST') {
      // As a form body: a scoped query may be too long for a URL.
      req.url = endpoint.path!;
      const body = Buffer.from(encoded);
      (req as Request & { body?: unknown }).body = body;
      // The proxy sends req.body with its length and without transfer or content encodings.
      headers['content-type'] = FORM_TYPE;
    } else {
      req.url = encoded === '' ? endpoint.path! : `${endpoint.path}?${encoded}`;
    }
    logger.debug(
      { method: req.method, path: endpoint.path, user: req.promgate?.user, scoped: encoded },
      'tenant request scoped',
    );
  };

  return (req, res, next, scope) => {
    const query = req.url.indexOf('?');
    const rawPath = query < 0 ? req.url : req.url.slice(0, query);
    const queryString = query < 0 ? '' : req.url.slice(query + 1);
    const readings = pathReadings(rawPath);
    if (!readings) return refuse(req, res, rawPath, new Refusal(400, 'bad_data', 'the request path cannot be read'));
    // Preflights carry no data, and Prometheus answers them without reading any.
    if (req.method === 'OPTIONS') return next();
    const endpoint = classifyPath(rawPath, readings);
    if (endpoint.kind === 'refused')
      return refuse(req, res, rawPath, new Refusal(403, 'forbidden', `${endpoint.reason}: forbidden for tenant roles`));
    if (!endpoint.methods.includes(req.method))
      return refuse(
        req,
        res,
        rawPath,
        new Refusal(403, 'forbidden', `${req.method} is not available to tenant roles here`),
      );
    if (endpoint.kind === 'harmless') return next();
    if (endpoint.kind === 'filtered') {
      filterResponse(req, (json) => filterRuleGroups(json, scope, enforcer.labelsInScope));
      return next();
    }
    const answer = (parameters: Parameters) => {
      try {
        rewrite(req, endpoint, parameters, scope);
      } catch (error) {
        if (error instanceof Refusal) return refuse(req, res, rawPath, error);
        if (error instanceof enforcer.PromQLError)
          return refuse(req, res, rawPath, new Refusal(400, 'bad_data', error.message));
        throw error;
      }
      next();
    };
    let fromUrl: Parameters;
    try {
      fromUrl = parseForm(queryString, 'query string');
      if (req.method !== 'POST') {
        if (hasBody(req)) throw new Refusal(400, 'bad_data', `a ${req.method} request must not have a body here`);
        return answer(mergeParameters(fromUrl));
      }
      checkFormBody(req);
    } catch (error) {
      return refuse(req, res, rawPath, asRefusal(error));
    }
    readBody(req, maxBodySize, (body) => {
      if (body instanceof Refusal) return refuse(req, res, rawPath, body);
      let parameters: Parameters;
      try {
        // Go's ParseForm reads the body first; with no parameter given twice the order is moot.
        parameters = mergeParameters(parseForm(body.toString('latin1'), 'form body'), fromUrl);
      } catch (error) {
        return refuse(req, res, rawPath, asRefusal(error));
      }
      answer(parameters);
    });
  };
}

/** The parameters with `query` or each `match[]` scoped to the tenant; the tenant's selector when there is no match[]. */
function scopeParameters(
  endpoint: Endpoint,
  parameters: Parameters,
  scope: TenantScope,
  enforcer: PromQLEnforcer,
): Parameters {
  if (endpoint.kind === 'query') {
    const query = parameters.find(([name]) => name === 'query');
    if (!query || query[1].trim() === '')
      throw new Refusal(400, 'bad_data', 'invalid parameter "query": no query given');
    // match[] means nothing to these endpoints; dropped so that nothing unscoped goes on.
    return parameters
      .filter(([name]) => name !== REPEATABLE)
      .map(([name, value]) => [name, name === 'query' ? enforcer.enforceQuery(value, scope) : value]);
  }
  const others = parameters.filter(([name]) => name !== REPEATABLE);
  const matches = parameters.filter(([name]) => name === REPEATABLE).map(([, value]) => value);
  if (matches.length === 0) {
    if (endpoint.kind === 'federate')
      throw new Refusal(400, 'bad_data', 'federation needs at least one match[] parameter');
    return [...others, [REPEATABLE, enforcer.scopeSelector(scope)]];
  }
  return [
    ...others,
    ...matches.map((match): [string, string] => [REPEATABLE, enforcer.enforceSeriesSelector(match, scope)]),
  ];
}

/** The enforcer with its rewrites of queries and selectors remembered, the oldest out first (a hit moves nothing). */
export function cachedEnforcer(enforcer: PromQLEnforcer): PromQLEnforcer {
  const cache = new Map<string, string>();
  // Roles with fixed values share one scope object: its key is computed once.
  const scopeKeys = new WeakMap<TenantScope, string>();
  const keyOf = (scope: TenantScope) => {
    let key = scopeKeys.get(scope);
    if (key === undefined) scopeKeys.set(scope, (key = JSON.stringify(scope)));
    return key;
  };
  const remembered =
    (rewrite: (text: string, scope: TenantScope) => string, kind: string) => (text: string, scope: TenantScope) => {
      if (text.length > SCOPED_CACHE_MAX_QUERY) return rewrite(text, scope);
      const key = `${kind}\n${keyOf(scope)}\n${text}`;
      const known = cache.get(key);
      if (known !== undefined) return known;
      const scoped = rewrite(text, scope);
      if (cache.size >= SCOPED_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(key, scoped);
      return scoped;
    };
  // A label API's default match[]: the same for every request of a role with fixed values.
  const selectors = new WeakMap<TenantScope, string>();
  const scopeSelector = (scope: TenantScope) => {
    let selector = selectors.get(scope);
    if (selector === undefined) selectors.set(scope, (selector = enforcer.scopeSelector(scope)));
    return selector;
  };
  return {
    ...enforcer,
    scopeSelector,
    enforceQuery: remembered(enforcer.enforceQuery, 'query'),
    enforceSeriesSelector: remembered(enforcer.enforceSeriesSelector, 'match'),
  };
}

function asRefusal(error: unknown): Refusal {
  if (error instanceof Refusal) return error;
  if (error instanceof FormError) return new Refusal(400, 'bad_data', error.message);
  throw error;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Only a urlencoded form, as sent: Go's FormValue would also read multipart, which is not rewritten here. */
function checkFormBody(req: Request): void {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (hasBody(req) && type !== FORM_TYPE)
    throw new Refusal(400, 'bad_data', `a POST body here must be ${FORM_TYPE}, not ${type || 'untyped'}`);
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    throw new Refusal(400, 'bad_data', 'a compressed form body is not read here');
  const parsed = (req as Request & { body?: unknown }).body;
  if (req.readableEnded && parsed !== undefined && !Buffer.isBuffer(parsed) && typeof parsed !== 'string')
    throw new Refusal(400, 'bad_data', 'the form body was parsed before the gateway; mount body parsers after it');
}

/** The whole form body (small: it is a form); one already read by a host app's raw parser is used as is. */
function readBody(req: Request, maxSize: number, done: (body: Buffer | Refusal) => void): void {
  const parsed = (req as Request & { body?: unknown }).body;
  if (req.readableEnded) return done(Buffer.isBuffer(parsed) ? parsed : Buffer.from(String(parsed ?? ''), 'latin1'));
  const tooLarge = () =>
    new Refusal(413, 'bad_data', `request body larger than ${maxSize} bytes (web.maxRequestBodySize)`);
  if (Number(req.headers['content-length'] ?? 0) > maxSize) return done(tooLarge());
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxSize && !over) {
      over = true;
      done(tooLarge());
    }
    if (!over) chunks.push(chunk);
  });
  req.on('end', () => {
    if (!over) done(Buffer.concat(chunks, size));
  });
}
