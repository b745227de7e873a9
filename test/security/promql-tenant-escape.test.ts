// A tenant's query must not reach series outside its scope, however the query is written. Each
// variant is rewritten, then its output is checked twice: on our typed tree (every selector carries
// the tenant matchers) and on the grammar's raw tree (every VectorSelector node has them as text).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parser } from '@prometheus-io/lezer-promql';
import {
  carries,
  enforceQuery,
  PromQLError,
  parseQuery,
  printExpr,
  printSelector,
  scopeMatchers,
  selectorsOf,
} from '../../middleware/tenancy/promql/index.ts';
import type { TenantScope } from '../../src/kernel/request-state.ts';

const strict = parser.configure({ strict: true });

/** The matcher texts of every VectorSelector in the grammar's own tree of `query`. */
function rawSelectorMatchers(query: string): string[][] {
  const found: string[][] = [];
  strict.parse(query).iterate({
    enter(node) {
      if (node.name !== 'VectorSelector') return;
      const matchers: string[] = [];
      node.node
        .getChild('LabelMatchers')
        ?.cursor()
        .iterate((inner) => {
          if (inner.name === 'UnquotedLabelMatcher' || inner.name === 'QuotedLabelMatcher') {
            matchers.push(query.slice(inner.from, inner.to));
            return false;
          }
          return undefined;
        });
      found.push(matchers);
    },
  });
  return found;
}

function assertScoped(query: string, scope: TenantScope): string {
  const output = enforceQuery(query, scope);
  const tenant = scopeMatchers(scope);
  const tenantTexts = printSelector({ type: 'selector', matchers: tenant }).slice(1, -1).split(',');
  const before = selectorsOf(parseQuery(query));
  const after = selectorsOf(parseQuery(output));
  assert.equal(after.length, before.length, `selectors of ${output}`);
  for (const selector of after) assert.ok(carries(selector, tenant), `${printSelector(selector)} in ${output}`);
  const raw = rawSelectorMatchers(output);
  assert.equal(raw.length, before.length, `raw selectors of ${output}`);
  for (const matchers of raw) {
    for (const wanted of tenantTexts) assert.ok(matchers.includes(wanted), `${wanted} missing in ${output}`);
  }
  // The query's own matchers stay: they can only narrow further.
  before.forEach((selector, index) => {
    for (const matcher of selector.matchers)
      assert.ok(
        after[index]!.matchers.some((m) => m.name === matcher.name && m.op === matcher.op && m.value === matcher.value),
      );
  });
  return output;
}

describe('PromQL tenant escape attempts are scoped', () => {
  const teamA = { namespace: ['a'] };
  const attempts = [
    '{__name__=~".+"}',
    '{__name__=~".*", namespace=~".*"}',
    '{namespace=~".*"}',
    '{namespace="b"}',
    '{namespace!="a"}',
    '{namespace="a", namespace="b"}',
    '{"namespace"="b"}',
    '{"namespace"=~".+", "__name__"=~".+"}',
    '{"namespace\\u0000"="b"}',
    'up or {namespace="b"}',
    'UP OR {NAMESPACE="b"}',
    'vector(1) or {namespace="b"}',
    'up unless on() {namespace="b"}',
    'up * on() group_left(namespace) {namespace="b"}',
    'up + ignoring(namespace) group_right {namespace="b"}',
    'label_replace({namespace="b"}, "namespace", "a", "namespace", ".*")',
    'label_join({namespace="b"}, "namespace", "", "job")',
    'count_values("namespace", {__name__=~".+"})',
    'sum by (namespace) ({__name__=~".+"})',
    'absent({namespace="b"})',
    'absent_over_time({namespace="b"}[1h])',
    'max_over_time({namespace="b"}[1h:1m])',
    'rate(({namespace="b"} or up)[5m:] offset -1h)',
    '{namespace="b"} @ start()',
    '{namespace="b"}[5m] @ end() offset 1h',
    '(((({namespace="b"}))))',
    '-{namespace="b"} ^ 2',
    'sort_by_label({namespace="b"}, "job")',
    'topk(1e9, {__name__=~".+"})',
    'up # } or {namespace="b"}',
    'up{job="x # not a comment"} or {namespace="b"}',
    'up{job=`"} or {namespace="b"} # `}',
    'up{job="\\"} or {namespace=\\"b\\"}"}',
    "up{job='\\'} or {namespace=\"b\"}'}",
    'up{job="\\x22} or {namespace=\\x22b\\x22}"}',
    'up{job=`a\nb`} or\n# comment {\n{namespace="b"}',
    '"} or {namespace=\\"b\\"}"',
  ];
  for (const query of attempts) {
    it(`scopes ${JSON.stringify(query)}`, () => {
      assertScoped(query, teamA);
    });
  }

  it('refuses info(), which joins series the query does not select', () => {
    assert.throws(() => enforceQuery('info(up, {namespace="b"})', teamA), PromQLError);
    assert.throws(() => enforceQuery('sum(info(rate(x[5m])))', teamA), PromQLError);
  });

  const scopes: Array<[string, TenantScope]> = [
    ['several values', { namespace: ['a', 'b'] }],
    ['several labels', { namespace: ['a'], env: ['prod', 'dev'] }],
    ['regex characters in values', { namespace: ['.*', 'a|b', '(x)+'] }],
    ['quotes and braces in a value', { namespace: ['a"} or {__name__=~".+"} #'] }],
    ['a backslash and a newline in a value', { namespace: ['a\\', 'b\nc'] }],
    ['a quoted label name', { 'k8s.namespace': ['a'] }],
  ];
  for (const [what, scope] of scopes) {
    it(`scopes with ${what}, which cannot break out of the matcher`, () => {
      for (const query of ['up', 'up or {namespace="b"}', 'sum by (job) (rate(x[5m]))']) {
        const output = assertScoped(query, scope);
        assert.equal(printExpr(parseQuery(output)), output);
      }
    });
  }

  it('matches regex characters of a scope value literally', () => {
    const [matcher] = scopeMatchers({ namespace: ['.*', 'a|b'] });
    assert.deepEqual(matcher, { name: 'namespace', op: '=~', value: '\\.\\*|a\\|b' });
  });
});
