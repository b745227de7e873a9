// Counting for the metrics every request touches: requests answered, their durations, access
// decisions. prom-client validates and hashes the label object on every inc() and observe():
// about 0.6 us a request for these (scratch micro-benchmark), 2-3% of promgate's CPU on the small
// API (bench:profile). Here a request finds its counts by Map lookups of values it already
// has, and prom-client's Registry gets the series at scrape time in the shape its own counter and
// histogram give, so exposition, OpenMetrics and the --workers aggregation stay prom-client's.
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string | number>;
interface Series {
  labels: Labels;
  value: number;
  metricName?: string;
}
interface MetricText {
  name: string;
  help: string;
}

/** Marks the metrics made here, so gateways sharing a registry share their counts too. */
const TALLY = Symbol('promgate.metrics.tally');

/** One route's counts for one method. */
interface MethodCounts {
  readonly codes: Map<number, number>;
  /** Per bucket, not cumulative; the last one is above the highest bound (+Inf). */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** The counts of one route: a gateway's base path, '' for answers outside every route. */
export interface RouteTally {
  /** A response with this status, which took `seconds` (none for a request Node's parser refused). */
  answered(method: string | undefined, status: number, seconds?: number): void;
}

export interface RequestTally {
  /** Requests being answered now. */
  inFlight: number;
  route(route: string): RouteTally;
}

export interface RequestTallyOptions {
  requests: MetricText;
  duration: MetricText;
  inFlight: MetricText;
  buckets: readonly number[];
  /** Methods counted by name; any other is "other", so clients cannot grow the label set. */
  knownMethods: ReadonlySet<string>;
}

/**
 * Requests answered by code, method and route (a counter), their durations by method and route
 * (a histogram), and the requests in flight (a gauge), registered in `registry`.
 */
export function createRequestTally(registry: Registry, options: RequestTallyOptions): RequestTally {
  const shared = ours<RequestTally>(registry, options.requests.name);
  if (shared) return shared;
  const { buckets: bounds, knownMethods } = options;
  const routes = new Map<string, { tally: RouteTally; methods: Map<string, MethodCounts> }>();

  const routeTally = (methods: Map<string, MethodCounts>): RouteTally => {
    const countsOf = (method: string | undefined): MethodCounts => {
      const name = method !== undefined && knownMethods.has(method) ? method : 'other';
      let counts = methods.get(name);
      if (!counts)
        methods.set(
          name,
          (counts = { codes: new Map(), buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0 }),
        );
      return counts;
    };
    return {
      answered(method, status, seconds) {
        const counts = countsOf(method);
        counts.codes.set(status, (counts.codes.get(status) ?? 0) + 1);
        if (seconds === undefined) return;
        let bucket = 0;
        while (bucket < bounds.length && seconds > bounds[bucket]!) bucket++;
        counts.buckets[bucket]!++;
        counts.sum += seconds;
        counts.count++;
      },
    };
  };
  const tally: RequestTally = {
    inFlight: 0,
    route(route) {
      let found = routes.get(route);
      if (!found) {
        const methods = new Map<string, MethodCounts>();
        routes.set(route, (found = { tally: routeTally(methods), methods }));
      }
      return found.tally;
    },
  };
  const eachCounts = function* () {
    for (const [route, { methods }] of routes) for (const [method, counts] of methods) yield { route, method, counts };
  };

  register(registry, tally, {
    ...options.requests,
    type: 'counter',
    series: () =>
      [...eachCounts()].flatMap(({ route, method, counts }) =>
        [...counts.codes].map(([code, value]) => ({ labels: { code, method, route }, value })),
      ),
    reset: () => {
      for (const { counts } of eachCounts()) counts.codes.clear();
    },
  });
  const { name } = options.duration;
  register(registry, tally, {
    ...options.duration,
    type: 'histogram',
    series: () =>
      [...eachCounts()].flatMap(({ route, method, counts }): Series[] => {
        if (counts.count === 0) return [];
        let cumulative = 0;
        return [
          ...bounds.map((le, bucket) => ({
            labels: { le, method, route },
            value: (cumulative += counts.buckets[bucket]!),
            metricName: `${name}_bucket`,
          })),
          { labels: { le: '+Inf', method, route }, value: counts.count, metricName: `${name}_bucket` },
          { labels: { method, route }, value: counts.sum, metricName: `${name}_sum` },
          { labels: { method, route }, value: counts.count, metricName: `${name}_count` },
        ];
      }),
    reset: () => {
      for (const { counts } of eachCounts()) {
        counts.buckets.fill(0);
        counts.sum = 0;
        counts.count = 0;
      }
    },
  });
  register(registry, tally, {
    ...options.inFlight,
    type: 'gauge',
    series: () => [{ labels: {}, value: tally.inFlight }],
    reset: () => {}, // a gauge of now: there is nothing to forget
  });
  return tally;
}

/** Distinct users counted by name; later ones are counted as user="*", so a large directory cannot flood the metric. */
export const MAX_DECISION_USERS = 500;

/** Who a decision was about: the login method and user name (both absent for anonymous requests). */
export interface DecisionSubject {
  method?: string | undefined;
  user?: string | undefined;
}

/** Access-control and rate-limit decisions by result, rule and who: `count(decision, rule, subject)`. */
export function createDecisionTally(
  registry: Registry,
  text: MetricText,
): (decision: string, rule: string, subject?: DecisionSubject) => void {
  type Count = (decision: string, rule: string, subject?: DecisionSubject) => void;
  const shared = ours<Count>(registry, text.name);
  if (shared) return shared;
  // One entry per label set; a rule name is a config key, and users are capped.
  const counts = new Map<string, { labels: Record<string, string>; value: number }>();
  const users = new Set<string>();
  const count: Count = (decision, rule, subject) => {
    let user = subject?.user;
    if (user !== undefined && !users.has(user)) {
      if (users.size < MAX_DECISION_USERS) users.add(user);
      else user = '*';
    }
    const method = subject?.method;
    const key = `${decision}\0${rule}\0${method ?? ''}\0${user ?? ''}`;
    const entry = counts.get(key);
    if (entry) entry.value++;
    else {
      const labels: Record<string, string> = { decision, rule };
      if (method !== undefined) labels.auth_method = method;
      if (user !== undefined) labels.user = user;
      counts.set(key, { labels, value: 1 });
    }
  };
  register(registry, count, {
    ...text,
    type: 'counter',
    series: () => [...counts.values()].map(({ labels, value }) => ({ labels, value })),
    reset: () => {
      counts.clear();
      users.clear();
    },
  });
  return count;
}

interface TallyMetric<T> extends MetricText {
  type: 'counter' | 'gauge' | 'histogram';
  series(): Series[];
  reset(): void;
  [TALLY]?: T;
}

/** Registers what prom-client's Registry asks of a metric: name, help, type, get(), reset(). */
function register<T>(registry: Registry, tally: T, metric: TallyMetric<T>): void {
  const { series, ...rest } = metric;
  const registered = {
    ...rest,
    [TALLY]: tally,
    aggregator: 'sum', // --workers: the primary adds the workers' series up (in flight too)
    async get() {
      return {
        name: registered.name,
        help: registered.help,
        type: registered.type,
        aggregator: registered.aggregator,
        values: series(),
      };
    },
  };
  registry.registerMetric(registered as unknown as Metric);
}

/** What an earlier gateway on this registry counts in; an error if another owner took the name. */
function ours<T>(registry: Registry, name: string): T | undefined {
  const existing = registry.getSingleMetric(name) as Partial<TallyMetric<T>> | undefined;
  if (!existing) return undefined;
  if (existing[TALLY] === undefined)
    throw new Error(`metric ${name} is already in the registry, not as promgate's; use a registry without it`);
  return existing[TALLY];
}
