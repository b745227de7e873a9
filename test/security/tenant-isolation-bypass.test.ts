// Tenant isolation bypasses against a real Prometheus holding four namespaces' data: every trick
// a tenant might use to read another tenant's series (selectors that match everything, joins,
// label renaming, absent(), subqueries, @ modifiers, comments and string escapes, UTF-8 quoted
// label names, duplicate and conflicting parameters, multipart bodies, encoded paths), and the
// request patterns Grafana sends. Each answer is either refused (4xx) or holds no data of another
// tenant: no label set outside the scope, no other tenant's sample value, trace id, namespace or
// env, nor the unlabelled fleet's build version.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PROMETHEUS_BINARY } from '../helpers/prometheus.ts';
import { requireCommands } from '../helpers/requirements.ts';
import {
  ENVS,
  NAMESPACES,
  PROMTOOL_BINARY,
  queueDepth,
  startTenantPrometheus,
  type TenantPrometheus,
  type TenantUser,
  USER_SCOPES,
  visibleTo,
} from '../helpers/tenants.ts';

type Attacker = 'alice' | 'bob';
/** A namespace and an env the attacker may not see (bob may see b, but not in dev). */
const OTHER: Record<Attacker, { namespace: string; env: string }> = {
  alice: { namespace: 'b', env: 'prod' },
  bob: { namespace: 'b', env: 'dev' },
};

/** Strings that only another tenant's data (or the unlabelled fleet's) can put into an answer. */
function foreignStrings(user: Attacker): Set<string> {
  const strings = new Set<string>(['1.2.3']);
  const scope = USER_SCOPES[user]!;
  for (const namespace of NAMESPACES)
    for (const env of ENVS)
      if (!visibleTo(user, { namespace, env })) {
        strings.add(String(queueDepth(namespace, env)));
        strings.add(`trace-${namespace}-${env}`);
      }
  for (const [label, values] of Object.entries(scope))
    for (const value of label === 'namespace' ? NAMESPACES : ENVS) if (!values.includes(value)) strings.add(value);
  return strings;
}

/** What in a JSON answer belongs to another tenant: label sets out of scope and foreign strings. */
function leaksIn(user: Attacker, json: unknown): string[] {
  const scope = USER_SCOPES[user]!;
  const foreign = foreignStrings(user);
  const leaks: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (typeof value === 'string') {
      if (foreign.has(value)) leaks.push(`${path} = ${JSON.stringify(value)}`);
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) walk(item, `${path}[${index}]`);
    } else if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      for (const [label, allowed] of Object.entries(scope)) {
        const labelValue = record[label];
        if (typeof labelValue === 'string' && !allowed.includes(labelValue))
          leaks.push(`${path}.${label} = ${JSON.stringify(labelValue)}`);
      }
      for (const [key, item] of Object.entries(record)) walk(item, `${path}.${key}`);
    }
  };
  walk(json, '$');
  return leaks;
}

/** The text exposition of /federate as label sets with their sample value under "value". */
function federated(text: string): Array<Record<string, string>> {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const labels: Record<string, string> = {};
      for (const pair of line.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
      labels.value = line
        .slice(line.lastIndexOf('}') + 1)
        .trim()
        .split(' ')[0]!;
      return labels;
    });
}

interface Attack {
  name: string;
  method?: 'GET' | 'POST';
  /** Relative to the base path; `$NS` and `$ENV` are the attacker's OTHER namespace and env. */
  path: string;
  body?: string | Buffer;
  contentType?: string;
  /** Grafana's own requests must work, not only leak nothing. */
  mustSucceed?: boolean;
}

const q = (query: string) => encodeURIComponent(query);
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const MULTIPART_BOUNDARY = 'promgate-boundary';
const multipart = (fields: Record<string, string>) =>
  `${Object.entries(fields)
    .map(
      ([name, value]) =>
        `--${MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    )
    .join('')}--${MULTIPART_BOUNDARY}--\r\n`;

const queries: Array<[string, string]> = [
  ['every metric name', '{__name__=~".+"}'],
  ['every namespace', '{namespace=~".*"}'],
  ['a regex naming every namespace', 'app_queue_depth{namespace=~"a|b|shared|c"}'],
  ["another tenant's namespace", 'app_queue_depth{namespace="$NS"}'],
  ["another tenant's env", 'app_queue_depth{env="$ENV"}'],
  ['a negative matcher', 'app_queue_depth{namespace!="zzz"}'],
  ['__name__ in braces', '{__name__="app_queue_depth",namespace="$NS"}'],
  ['a name regex with the unlabelled build_info', '{__name__=~"app_queue_depth|build_info"}'],
  ['build_info itself', 'build_info'],
  ['or', 'app_queue_depth or app_queue_depth{namespace="$NS",env="$ENV"}'],
  ['or on()', 'app_queue_depth{namespace="$NS",env="$ENV"} or on() vector(0)'],
  ['and on()', 'app_queue_depth{namespace="$NS",env="$ENV"} and on() vector(1)'],
  ['unless', 'app_queue_depth{namespace="$NS",env="$ENV"} unless app_queue_depth{namespace="zzz"}'],
  [
    'group_left join',
    'app_queue_depth{namespace="$NS",env="$ENV"} + on(env) group_left() count by (env) (app_queue_depth)',
  ],
  [
    'label_replace renaming to the own namespace',
    'label_replace(app_queue_depth{namespace="$NS",env="$ENV"}, "namespace", "a", "", "")',
  ],
  [
    'label_replace copying the namespace away',
    'label_replace({namespace="$NS",env="$ENV"}, "origin", "$1", "namespace", "(.*)")',
  ],
  ['label_join', 'label_join(app_queue_depth{namespace="$NS",env="$ENV"}, "namespace", "", "env")'],
  ['count_values', 'count_values("depth", app_queue_depth)'],
  ['count_values over another namespace', 'count_values("depth", app_queue_depth{namespace="$NS",env="$ENV"})'],
  ['absent', 'absent(app_queue_depth{namespace="$NS",env="$ENV"})'],
  ['absent_over_time', 'absent_over_time(app_queue_depth{namespace="$NS",env="$ENV"}[5m])'],
  ['a subquery', 'max_over_time(app_queue_depth{namespace="$NS",env="$ENV"}[10m:1m])'],
  ['a nested subquery', 'max_over_time(max_over_time({namespace="$NS",env="$ENV"}[5m:1m])[10m:1m])'],
  ['@ start()', 'app_queue_depth{namespace="$NS",env="$ENV"} @ start()'],
  ['@ end() with offset', 'app_queue_depth{namespace="$NS",env="$ENV"} @ end() offset 1m'],
  ['a comment hiding a matcher', 'app_queue_depth # {namespace="a"}\n or {namespace="$NS",env="$ENV"}'],
  ['a comment first', '# just a comment\n{namespace="$NS",env="$ENV"}'],
  ['backtick strings', 'app_queue_depth{namespace=`$NS`,env=`$ENV`}'],
  ['single-quoted strings', "app_queue_depth{namespace='$NS',env='$ENV'}"],
  ['escaped strings', 'app_queue_depth{namespace="\\x$NSX",env="$ENV"}'],
  ['unicode escapes', 'app_queue_depth{namespace="\\u00$NSX",env="$ENV"}'],
  ['a UTF-8 quoted label name', '{"namespace"="$NS","__name__"="app_queue_depth"}'],
  ['a UTF-8 quoted metric name', '{"app_queue_depth", namespace="$NS"}'],
  ['a scalar of another namespace', 'scalar(app_queue_depth{namespace="$NS",env="$ENV"})'],
  ['topk over everything', 'topk(100, {__name__=~".+"})'],
  ['sort_desc', 'sort_desc({__name__=~"app_.*"})'],
  ['timestamp()', 'timestamp(app_queue_depth{namespace="$NS",env="$ENV"})'],
  ['ALERTS of others', 'ALERTS{namespace="$NS",env="$ENV"}'],
  ['a recorded series of others', 'namespace_env:http_requests:rate1h{namespace="$NS",env="$ENV"}'],
];

const ATTACKS: Attack[] = [
  ...queries.map(([name, query]) => ({ name: `query: ${name}`, path: `/api/v1/query?query=${q(query)}` })),
  ...queries.map(([name, query]) => ({
    name: `POST form query: ${name}`,
    method: 'POST' as const,
    path: '/api/v1/query',
    body: form({ query }),
  })),
  {
    name: 'query_range over another namespace',
    path: `/api/v1/query_range?query=${q('{namespace="$NS",env="$ENV"}')}&start=$START&end=$END&step=60`,
  },
  {
    name: 'query_exemplars of another namespace',
    path: `/api/v1/query_exemplars?query=${q('checkout_latency_seconds_bucket{namespace="$NS",env="$ENV"}')}&start=$START&end=$END`,
  },
  {
    name: 'query_exemplars of everything',
    path: `/api/v1/query_exemplars?query=${q('{__name__=~".+"}')}&start=$START&end=$END`,
  },
  // Parameters: Go's FormValue takes the first of the query string and body together.
  {
    name: 'duplicate query parameters',
    path: `/api/v1/query?query=app_queue_depth&query=${q('{namespace="$NS",env="$ENV"}')}`,
  },
  {
    name: 'duplicate query parameters, the foreign one first',
    path: `/api/v1/query?query=${q('{namespace="$NS",env="$ENV"}')}&query=app_queue_depth`,
  },
  {
    name: 'query in the query string and another in the body',
    method: 'POST',
    path: '/api/v1/query?query=app_queue_depth',
    body: form({ query: '{namespace="$NS",env="$ENV"}' }),
  },
  {
    name: 'query in the body and another in the query string',
    method: 'POST',
    path: `/api/v1/query?query=${q('{namespace="$NS",env="$ENV"}')}`,
    body: form({ query: 'app_queue_depth' }),
  },
  {
    name: 'a semicolon-separated parameter',
    path: `/api/v1/query?query=app_queue_depth;query=${q('{namespace="$NS"}')}`,
  },
  { name: 'an encoded parameter name', path: `/api/v1/query?%71uery=${q('{namespace="$NS",env="$ENV"}')}` },
  {
    name: 'a multipart body',
    method: 'POST',
    path: '/api/v1/query',
    body: multipart({ query: '{namespace="$NS",env="$ENV"}' }),
    contentType: `multipart/form-data; boundary=${MULTIPART_BOUNDARY}`,
  },
  {
    name: 'a multipart body beside a query string',
    method: 'POST',
    path: '/api/v1/query?query=app_queue_depth',
    body: multipart({ query: '{namespace="$NS",env="$ENV"}' }),
    contentType: `multipart/form-data; boundary=${MULTIPART_BOUNDARY}`,
  },
  {
    name: 'a form body sent as text/plain',
    method: 'POST',
    path: '/api/v1/query',
    body: form({ query: '{namespace="$NS",env="$ENV"}' }),
    contentType: 'text/plain',
  },
  // Paths: Prometheus routes the decoded path.
  { name: 'an encoded query path', path: `/api/v1/%71uery?query=${q('{namespace="$NS",env="$ENV"}')}` },
  {
    name: 'an encoded query_range path',
    path: `/api/v1/query%5Frange?query=${q('{namespace="$NS"}')}&start=$START&end=$END&step=60`,
  },
  { name: 'an encoded series path', path: `/api/v1/%73eries?match[]=${q('{namespace="$NS",env="$ENV"}')}` },
  { name: 'an encoded slash', path: `/api/v1%2Fquery?query=${q('{namespace="$NS",env="$ENV"}')}` },
  { name: 'an uppercase path', path: `/api/v1/QUERY?query=${q('{namespace="$NS",env="$ENV"}')}` },
  { name: 'a trailing slash', path: `/api/v1/query/?query=${q('{namespace="$NS",env="$ENV"}')}` },
  { name: 'a double slash', path: `/api//v1/query?query=${q('{namespace="$NS",env="$ENV"}')}` },
  { name: 'an encoded label values path', path: `/api/v1/label/%6Eamespace/values` },
  // Series, labels, federation.
  { name: 'series of another namespace', path: `/api/v1/series?match[]=${q('{namespace="$NS",env="$ENV"}')}` },
  { name: 'series of everything', path: `/api/v1/series?match[]=${q('{__name__=~".+"}')}&match[]=${q('build_info')}` },
  { name: 'series without match[]', path: '/api/v1/series' },
  { name: 'labels of another namespace', path: `/api/v1/labels?match[]=${q('{namespace="$NS",env="$ENV"}')}` },
  {
    name: 'label values of another namespace',
    path: `/api/v1/label/namespace/values?match[]=${q('{namespace="$NS",env="$ENV"}')}`,
  },
  { name: 'label values of the fleet', path: `/api/v1/label/version/values?match[]=build_info` },
  { name: 'label values of env', path: '/api/v1/label/env/values' },
  { name: 'trace ids as label values', path: '/api/v1/label/trace_id/values' },
  { name: 'federate another namespace', path: `/federate?match[]=${q('{namespace="$NS",env="$ENV"}')}` },
  { name: 'federate everything', path: `/federate?match[]=${q('{__name__=~".+"}')}` },
  { name: 'federate without match[]', path: '/federate' },
  // Grafana's requests (POST form queries, label values with match[], series with a range, 1+1).
  {
    name: 'Grafana: the 1+1 connectivity query',
    method: 'POST',
    path: '/api/v1/query',
    body: form({ query: '1+1', time: '$END' }),
    mustSucceed: true,
  },
  {
    name: 'Grafana: a POSTed range query',
    method: 'POST',
    path: '/api/v1/query_range',
    body: form({
      query: 'sum by (namespace) (rate(http_requests_total[5m]))',
      start: '$START',
      end: '$END',
      step: '30',
    }),
    mustSucceed: true,
  },
  {
    name: 'Grafana: metric names with match[] and a range',
    path: `/api/v1/label/__name__/values?match[]=${q('{__name__=~".+"}')}&start=$START&end=$END`,
    mustSucceed: true,
  },
  {
    name: 'Grafana: label values with match[]',
    path: `/api/v1/label/namespace/values?match[]=${q('app_queue_depth')}&start=$START&end=$END`,
    mustSucceed: true,
  },
  {
    name: 'Grafana: POSTed series with start and end',
    method: 'POST',
    path: '/api/v1/series',
    body: form({ 'match[]': '{__name__="app_queue_depth"}', start: '$START', end: '$END' }),
    mustSucceed: true,
  },
  {
    name: 'Grafana: POSTed labels',
    method: 'POST',
    path: '/api/v1/labels',
    body: form({ start: '$START', end: '$END' }),
    mustSucceed: true,
  },
  {
    name: 'Grafana: POSTed exemplars',
    method: 'POST',
    path: '/api/v1/query_exemplars',
    body: form({ query: 'checkout_latency_seconds_bucket', start: '$START', end: '$END' }),
    mustSucceed: true,
  },
];

describe('tenant isolation bypasses against a real Prometheus', {
  skip: requireCommands(PROMETHEUS_BINARY, PROMTOOL_BINARY, 'htpasswd'),
}, () => {
  let setup: TenantPrometheus;
  before(async () => {
    setup = await startTenantPrometheus();
  });
  after(async () => {
    await setup?.close();
  });

  for (const user of ['alice', 'bob'] as const) {
    const other = OTHER[user];
    /** The placeholders, as written or percent-encoded (`$` is %24): values are plain letters and digits. */
    const fill = (text: string, start: number, end: number) =>
      text
        .replace(/(?:\$|%24)NSX/g, other.namespace.charCodeAt(0).toString(16))
        .replace(/(?:\$|%24)NS/g, other.namespace)
        .replace(/(?:\$|%24)ENV/g, other.env)
        .replace(/(?:\$|%24)START/g, String(start))
        .replace(/(?:\$|%24)END/g, String(end));
    for (const attack of ATTACKS) {
      test(`${user}: ${attack.name} gets nothing of another tenant`, async () => {
        const end = Math.floor(Date.now() / 1000);
        const start = end - 1800;
        const body = attack.body === undefined ? undefined : fill(String(attack.body), start, end);
        const response = await setup.request(user as TenantUser, fill(attack.path, start, end), {
          method: attack.method ?? 'GET',
          ...(body === undefined
            ? {}
            : { body, headers: { 'content-type': attack.contentType ?? 'application/x-www-form-urlencoded' } }),
        });
        const context = `${response.status} ${response.text.slice(0, 2000)}`;
        if (attack.mustSucceed) assert.equal(response.status, 200, context);
        assert.ok(response.status < 500, context);
        if (response.status >= 400) return; // refused: nothing of anyone
        assert.equal(response.status, 200, context);
        const answer = attack.path.startsWith('/federate') ? federated(response.text) : JSON.parse(response.text);
        assert.deepEqual(leaksIn(user, answer), [], context);
        if (attack.name === 'Grafana: the 1+1 connectivity query')
          assert.equal((answer as { data: { result: [number, string] } }).data.result[1], '2');
      });
    }
  }

  test("the same attacks read other tenants' data from Prometheus directly (the table can catch a leak)", async () => {
    const end = Math.floor(Date.now() / 1000);
    const response = await fetch(
      `${setup.url}/api/v1/query?query=${q('{__name__=~"app_queue_depth|build_info"}')}&time=${end}`,
    );
    const answer = (await response.json()) as unknown;
    for (const user of ['alice', 'bob'] as const) assert.ok(leaksIn(user, answer).length > 0);
  });
});
