import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TenantScope } from '../../src/kernel/request-state.ts';
import { classifyPath } from '../../middleware/tenancy/endpoints.ts';
import { encodeForm, FormError, mergeParameters, parseForm } from '../../middleware/tenancy/form.ts';
import { cachedEnforcer, type PromQLEnforcer } from '../../middleware/tenancy/prometheus.ts';
import { pathReadings } from '../../src/kernel/path-readings.ts';

describe('tenant form parameters', () => {
  it("reads a form as Go's url.ParseQuery does", () => {
    assert.deepEqual(parseForm('query=sum+by+(job)+(up)&time=1&&flag&match%5B%5D=%7Ba%3D%22b%22%7D', 'query string'), [
      ['query', 'sum by (job) (up)'],
      ['time', '1'],
      ['flag', ''],
      ['match[]', '{a="b"}'],
    ]);
    assert.deepEqual(parseForm('query=1%2B1', 'query string'), [['query', '1+1']]);
    assert.deepEqual(parseForm('query=%E2%82%AC', 'form body'), [['query', '€']]);
  });

  it('refuses what Go would skip silently or read otherwise', () => {
    for (const text of ['a=1;b=2', 'query=%zz', 'query=%4', 'query=%ff', 'query=a b', 'query=\u00e9']) {
      assert.throws(() => parseForm(text, 'query string'), FormError, text);
    }
  });

  it('refuses a parameter given twice, except match[]', () => {
    assert.throws(() => mergeParameters([['query', 'a']], [['query', 'b']]), /"query" is given more than once/);
    assert.deepEqual(mergeParameters([['match[]', 'a']], [['match[]', 'b']]), [
      ['match[]', 'a'],
      ['match[]', 'b'],
    ]);
  });

  it('encodes so that Go reads back the same values', () => {
    const parameters: Array<[string, string]> = [
      ['query', 'up{a="b c"} + 1'],
      ['match[]', '{x=~"a|b"}'],
    ];
    assert.deepEqual(parseForm(encodeForm(parameters), 'form body'), parameters);
  });

  it('writes exactly what URLSearchParams writes, without its cost', () => {
    const texts = [
      'up',
      'sum by (job) (rate(x{a=~"b|c",d!="e f"}[5m]))',
      "!'()*~-._ +&=%/?#[]@$,;:",
      'é€😀',
      '',
      'match[]',
      '\u0000\u007f\t\n',
    ];
    for (const name of texts)
      for (const value of texts) {
        const parameters: Array<[string, string]> = [
          [name, value],
          [value, name],
        ];
        assert.equal(encodeForm(parameters), new URLSearchParams(parameters).toString(), JSON.stringify(parameters));
      }
  });
});

describe('tenant endpoint classes', () => {
  const classify = (path: string) => classifyPath(path, pathReadings(path) ?? []);
  it('classifies by every reading of the path', () => {
    assert.equal(classify('/api/v1/query').kind, 'query');
    assert.equal(classify('/api/v1/query/').path, '/api/v1/query');
    assert.equal(classify('/api/v1/%71uery').kind, 'refused');
    assert.equal(classify('/api/v1/label/Job_1/values').path, '/api/v1/label/Job_1/values');
    assert.equal(classify('/api/v1/label/%4Aob/values').kind, 'refused');
    assert.equal(classify('/api/v1/rules').kind, 'filtered');
    assert.equal(classify('/api/v1/unknown').kind, 'refused');
    assert.equal(classify('/graph').kind, 'harmless');
    assert.equal(classify('/consoles/node.html').kind, 'refused');
  });
});

describe('remembered rewrites', () => {
  it('rewrites each query once per scope, and never gives one scope the rewrite of another', () => {
    let calls = 0;
    const fake: PromQLEnforcer = {
      enforceQuery: (query, scope) => (calls++, `${query}{${Object.values(scope).join()}}`),
      enforceSeriesSelector: (match, scope) => `${match}/${Object.values(scope).join()}`,
      scopeSelector: () => '{}',
      labelsInScope: () => true,
      PromQLError: Error,
    };
    const enforcer = cachedEnforcer(fake);
    const a: TenantScope = { namespace: ['a'] };
    const b: TenantScope = { namespace: ['b'] };
    assert.equal(enforcer.enforceQuery('up', a), 'up{a}');
    assert.equal(enforcer.enforceQuery('up', a), 'up{a}');
    assert.equal(enforcer.enforceQuery('up', { namespace: ['a'] }), 'up{a}');
    assert.equal(enforcer.enforceQuery('up', b), 'up{b}');
    assert.equal(enforcer.enforceSeriesSelector('up', b), 'up/b', 'queries and selectors are kept apart');
    assert.equal(calls, 2);
  });
});
