// Every Prometheus endpoint, as a tenant sees it. Under /api/ this is an allow-list: an endpoint
// Prometheus adds later is refused until it is classified here. The classes follow the Register
// function of Prometheus's web/api/v1/api.go and its web.go routes.

export type EndpointKind =
  /** PromQL in `query`, rewritten so every selector carries the tenant's matchers. */
  | 'query'
  /** Series selectors in `match[]`, rewritten; the tenant's own selector when there is none. */
  | 'match'
  /** /federate: `match[]` rewritten, and required. */
  | 'federate'
  /** Forwarded unchanged; the JSON answer is filtered to the tenant's series. */
  | 'filtered'
  /** Forwarded unchanged: reads no series (version, the client's own query text, the UI). */
  | 'harmless'
  | 'refused';

export interface Endpoint {
  kind: EndpointKind;
  /** The methods Prometheus serves there (HEAD goes with GET); others are refused. */
  methods: readonly string[];
  /** For a rewritten endpoint: the path it goes to upstream. */
  path?: string;
  /** For a refused one: why, in the 403's message. */
  reason?: string;
}

const READ = ['GET', 'HEAD'] as const;
const READ_OR_FORM = ['GET', 'HEAD', 'POST'] as const;

const API: Readonly<Record<string, Endpoint>> = {
  '/api/v1/query': { kind: 'query', methods: READ_OR_FORM, path: '/api/v1/query' },
  '/api/v1/query_range': { kind: 'query', methods: READ_OR_FORM, path: '/api/v1/query_range' },
  '/api/v1/query_exemplars': { kind: 'query', methods: READ_OR_FORM, path: '/api/v1/query_exemplars' },
  '/api/v1/series': { kind: 'match', methods: READ_OR_FORM, path: '/api/v1/series' },
  '/api/v1/labels': { kind: 'match', methods: READ_OR_FORM, path: '/api/v1/labels' },
  '/api/v1/rules': { kind: 'filtered', methods: READ },
  '/api/v1/alerts': { kind: 'filtered', methods: READ },
  // Grafana reads the version to pick its query features.
  '/api/v1/status/buildinfo': { kind: 'harmless', methods: READ },
  // They parse the client's own query text and read no series.
  '/api/v1/format_query': { kind: 'harmless', methods: READ_OR_FORM },
  '/api/v1/parse_query': { kind: 'harmless', methods: READ_OR_FORM },
};

const REFUSED_API: ReadonlyArray<[prefix: string, reason: string]> = [
  ['/api/v1/metadata', 'metric metadata cannot be limited to a tenant'],
  ['/api/v1/targets', "scrape targets are not limited to a tenant's series"],
  ['/api/v1/scrape_pools', "scrape pools are not limited to a tenant's series"],
  ['/api/v1/alertmanagers', 'the Alertmanager list is not tenant data'],
  ['/api/v1/status/', "Prometheus's status (config, flags, TSDB statistics) spans all tenants"],
  ['/api/v1/notifications', "Prometheus's notifications span all tenants"],
  ['/api/v1/read', 'remote read cannot be limited to a tenant here'],
  ['/api/v1/write', 'a tenant may not write series'],
  ['/api/v1/otlp/', 'a tenant may not write series'],
  ['/api/v1/admin/', 'the admin API is not for tenants'],
];

const REFUSED: Endpoint = { kind: 'refused', methods: [], reason: 'this API endpoint is not available to tenants' };
const PAGE: Endpoint = { kind: 'harmless', methods: ['GET', 'HEAD'] };
const LABEL_VALUES = /^\/api\/v1\/label\/[^/]+\/values$/;
/** A label name as Prometheus's router and LabelNameRE take it (UTF-8 names come escaped as U__...). */
const LABEL_VALUES_RAW = /^\/api\/v1\/label\/([A-Za-z_][A-Za-z0-9_]*)\/values\/?$/;

/** What one normalized reading of the path (src/kernel/path-readings.ts) is to a tenant. */
export function classifyReading(reading: string): Endpoint {
  if (reading === '/api' || reading.startsWith('/api/')) {
    const known = API[reading];
    if (known) return known;
    if (LABEL_VALUES.test(reading)) return { kind: 'match', methods: READ };
    for (const [prefix, reason] of REFUSED_API) {
      if (reading === prefix.replace(/\/$/, '') || reading.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`))
        return { kind: 'refused', methods: [], reason };
    }
    return REFUSED;
  }
  if (reading === '/federate') return { kind: 'federate', methods: READ, path: '/federate' };
  // Console templates run PromQL on the server, outside any rewrite.
  if (reading === '/consoles' || reading.startsWith('/consoles/'))
    return { kind: 'refused', methods: [], reason: 'console templates query every tenant' };
  // Go's profiles and heap dumps hold every tenant's label values.
  if (reading === '/debug' || reading.startsWith('/debug/'))
    return { kind: 'refused', methods: [], reason: "Prometheus's debug handlers span all tenants" };
  // Prometheus's own metrics name every scrape job and rule group.
  if (reading === '/metrics')
    return { kind: 'refused', methods: [], reason: "Prometheus's own metrics span all tenants" };
  return PAGE;
}

/**
 * What the request's path is to a tenant, judged on every reading: refused when any reading is
 * refused or when the readings name different endpoints.
 */
export function classifyPath(rawPath: string, readings: readonly string[]): Endpoint {
  let chosen: Endpoint | undefined;
  for (const reading of readings) {
    const endpoint = classifyReading(reading);
    if (endpoint.kind === 'refused') return endpoint;
    if (chosen && (chosen.kind !== endpoint.kind || chosen.path !== endpoint.path))
      return { kind: 'refused', methods: [], reason: 'the path reads as more than one endpoint' };
    chosen = endpoint;
  }
  if (!chosen) return REFUSED;
  if (chosen.kind === 'match' && chosen.path === undefined) {
    // Label values: the name comes from the path as sent (the readings are lower-cased).
    const name = LABEL_VALUES_RAW.exec(rawPath)?.[1];
    if (!name) return { kind: 'refused', methods: [], reason: 'the label name in the path must be sent unencoded' };
    return { ...chosen, path: `/api/v1/label/${name}/values` };
  }
  return chosen;
}
