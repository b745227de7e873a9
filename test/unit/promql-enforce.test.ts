import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  enforceQuery,
  enforceSeriesSelector,
  labelsInScope,
  PromQLError,
  parseQuery,
  scopeMatchers,
  scopeSelector,
  verified,
} from '../../middleware/tenancy/promql/index.ts';

describe('enforceQuery', () => {
  const teamA = { namespace: ['a'] };
  const teamB = { namespace: ['b', 'shared'], env: ['prod'] };
  const rewritten = [
    [teamA, 'up', 'up{namespace="a"}'],
    [teamA, 'rate(http_requests_total{code=~"5.."}[5m])', 'rate(http_requests_total{code=~"5..",namespace="a"}[5m])'],
    [
      teamA,
      'sum(rate(x[5m])) by (job) / ignoring(code) group_left sum(y)',
      'sum by (job) (rate(x{namespace="a"}[5m])) / ignoring (code) group_left sum(y{namespace="a"})',
    ],
    [
      teamA,
      'max_over_time(rate(x[1m])[1h:5m] @ start())',
      'max_over_time(rate(x{namespace="a"}[1m])[1h:5m] @ start())',
    ],
    [teamA, 'x offset -5m unless y @ 100', 'x{namespace="a"} offset -5m unless y{namespace="a"} @ 100'],
    [teamA, '{namespace="b"}', '{namespace="b",namespace="a"}'],
    [teamA, 'up{namespace="a"}', 'up{namespace="a"}'],
    [teamA, '{"namespace"!="a", "my.metric"}', '{namespace!="a",__name__="my.metric",namespace="a"}'],
    [teamA, '1 + 2 * -0x1F', '1 + 2 * -0x1F'],
    [teamA, '"a string"', '"a string"'],
    [teamB, 'up', 'up{namespace=~"b|shared",env="prod"}'],
    [{ namespace: ['a.b', 'c|d', '(e)'] }, 'up', 'up{namespace=~"a\\\\.b|c\\\\|d|\\\\(e\\\\)"}'],
    [{ 'k8s.namespace': ['a"b'] }, 'up', 'up{"k8s.namespace"="a\\"b"}'],
  ] as const;
  for (const [scope, query, expected] of rewritten) {
    it(`scopes ${query} to ${JSON.stringify(scope)}`, () => assert.equal(enforceQuery(query, scope), expected));
  }

  it('refuses an empty scope instead of passing everything', () => {
    assert.throws(() => enforceQuery('up', {}), /no labels/);
    assert.throws(() => enforceQuery('up', { namespace: [] }), /no values/);
  });
});

describe('enforceSeriesSelector', () => {
  const scope = { namespace: ['a', 'b'] };
  for (const [match, expected] of [
    ['up', 'up{namespace=~"a|b"}'],
    ['{__name__=~"node_.+", job="node"}', '{__name__=~"node_.+",job="node",namespace=~"a|b"}'],
    ['{job="x"}', '{job="x",namespace=~"a|b"}'],
  ] as const) {
    it(`scopes match[]=${match}`, () => assert.equal(enforceSeriesSelector(match, scope), expected));
  }
  for (const match of ['rate(up[5m])', 'up offset 5m', '(up)', 'up or down', 'up[5m]', '1']) {
    it(`refuses match[]=${match}, which is not a series selector`, () =>
      assert.throws(() => enforceSeriesSelector(match, scope), PromQLError));
  }
});

describe('scopeSelector and labelsInScope', () => {
  it('writes a scope as one series selector', () => {
    assert.equal(scopeSelector({ namespace: ['a', 'b'], env: ['prod'] }), '{namespace=~"a|b",env="prod"}');
    assert.equal(scopeSelector({ namespace: ['a+b'] }), '{namespace="a+b"}');
  });
  const scope = { namespace: ['a', 'b'], env: ['prod'] };
  for (const [labels, visible] of [
    [{ namespace: 'a', env: 'prod', job: 'x' }, true],
    [{ namespace: 'b', env: 'prod' }, true],
    [{ namespace: 'c', env: 'prod' }, false],
    [{ namespace: 'a' }, false],
    [{ env: 'prod' }, false],
    [{ namespace: 'a.', env: 'prod' }, false],
  ] as const) {
    it(`${visible ? 'shows' : 'hides'} ${JSON.stringify(labels)}`, () =>
      assert.equal(labelsInScope(labels, scope), visible));
  }
  it('reads a missing label as the empty value', () => assert.equal(labelsInScope({}, { namespace: [''] }), true));
});

describe('verification of a rewrite', () => {
  const tenant = scopeMatchers({ namespace: ['a'] });
  const scoped = parseQuery('up{namespace="a"} or down{namespace="a"}');
  it('passes output that reads back as the scoped tree', () => {
    assert.equal(
      verified('up{namespace="a"} or down{namespace="a"}', scoped, tenant),
      'up{namespace="a"} or down{namespace="a"}',
    );
  });
  for (const output of [
    'up{namespace="a"} or down',
    'up{namespace="a"}',
    'up{namespace="a"} or down{namespace="a"',
    'up{namespace="a"} or down{namespace="a",x="y"}',
  ]) {
    it(`refuses output that reads back differently: ${output}`, () =>
      assert.throws(() => verified(output, scoped, tenant), PromQLError));
  }
  it('refuses a tree whose selector lacks the tenant matchers, even when it reads back', () => {
    assert.throws(() => verified('up or down', parseQuery('up or down'), tenant), /lacks the tenant matchers/);
  });
});
