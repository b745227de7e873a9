import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parser } from '@prometheus-io/lezer-promql';
import {
  isHandledNodeType,
  PromQLError,
  parseQuery,
  printExpr,
  quote,
  REFUSED_NODE_TYPES,
  unquote,
} from '../../middleware/tenancy/promql/index.ts';
import { DASHBOARD_QUERIES } from '../helpers/promql-queries.ts';

describe('PromQL grammar coverage', () => {
  it('reads or deliberately refuses every node type of the grammar', () => {
    const unknown = parser.nodeSet.types
      .filter((type) => type.name !== '' && !isHandledNodeType(type.name) && !REFUSED_NODE_TYPES.has(type.name))
      .map((type) => type.name);
    assert.deepEqual(unknown, []);
  });

  it('neither reads a refused node type nor knows a type the grammar lacks', () => {
    const grammar = new Set(parser.nodeSet.types.map((type) => type.name));
    for (const name of REFUSED_NODE_TYPES.keys()) assert.equal(isHandledNodeType(name), false, name);
    assert.equal(isHandledNodeType('SomethingNew'), false);
    for (const name of ['Info', 'MetricName']) assert.ok(grammar.has(name), name);
  });

  const refused = [
    ['info(up, {k8s_cluster_name=~".+"})', /info\(\) is not allowed/],
    ['rate(up[5m]', /1:12: parse error: unexpected end of input/],
    ['up{job="x}', /parse error/],
    ['"unterminated', /unterminated quoted string/],
    ['up{job="\\q"}', /unknown escape sequence \\q/],
    ["up{job='\\\"'}", /unexpected|unknown escape/],
    ['up{job="\\x80"}', /invalid UTF-8/],
    ['up{job="\\uD800"}', /invalid escape sequence/],
    ['up{job="\\400"}', /invalid escape sequence/],
    ['{}', /at least one non-empty matcher/],
    ['up +', /parse error/],
    ['no_such_function(up)', /parse error/],
    ['', /no expression|parse error/],
    [`${'('.repeat(600)}up${')'.repeat(600)}`, /nested deeper/],
    // The grammar's parser forces its way out of a left-recursive chain after 300 reductions, then
    // fails in strict mode: such queries are refused, never read in part.
    [Array.from({ length: 400 }, () => 'm{a="b",c="d"}').join(' + '), /parse error/],
  ] as const;
  for (const [query, message] of refused) {
    it(`refuses ${JSON.stringify(query.slice(0, 60))} with a PromQLError`, () => {
      assert.throws(
        () => parseQuery(query),
        (error: unknown) => error instanceof PromQLError && message.test(error.message),
      );
    });
  }
});

describe('PromQL printing', () => {
  for (const query of DASHBOARD_QUERIES) {
    it(`prints ${JSON.stringify(query)} so that it reads back as the same tree`, () => {
      const tree = parseQuery(query);
      const printed = printExpr(tree);
      assert.deepEqual(parseQuery(printed), tree);
      assert.equal(printExpr(parseQuery(printed)), printed);
    });
  }

  const printed = [
    ['sum(rate(x[5m])) by (job)', 'sum by (job) (rate(x[5m]))'],
    ['up # a comment {job="evil"}', 'up'],
    ['{__name__="up", job=`a"b`}', 'up{job="a\\"b"}'],
    ["up{job='it\\'s'}", 'up{job="it\'s"}'],
    ['{"my.metric"}', '{__name__="my.metric"}'],
    ['{__name__="on"}', '{__name__="on"}'],
    ['{"a b"="c", job="x"}', '{"a b"="c",job="x"}'],
    ['up{job="\\xc3\\xa9\\n"}', 'up{job="\\u00e9\\x0a"}'],
    ['SUM BY (job) (up) OFFSET 5m', 'sum by (job) (up) offset 5m'],
    ['- # sign\n 2', '-2'],
  ] as const;
  for (const [query, expected] of printed) {
    it(`prints ${JSON.stringify(query)} as ${expected}`, () => assert.equal(printExpr(parseQuery(query)), expected));
  }
});

describe('PromQL strings', () => {
  const values = ['', 'plain', 'a"b', 'a\\b', '"}', '`', "'", '\n\t\r\x00\x7f', 'é ü 中 😀', '\\"} or up{x="', '#'];
  for (const value of values) {
    it(`quotes ${JSON.stringify(value)} so that it reads back unchanged`, () => {
      assert.equal(unquote(quote(value)), value);
      assert.match(
        quote(value),
        /^"(?:[\x20-\x21\x23-\x5b\x5d-\x7e]|\\["\\]|\\x[0-7][0-9a-f]|\\u[0-9a-f]{4}|\\U[0-9a-f]{8})*"$/,
      );
    });
  }

  const unquoted = [
    ['"a\\a\\b\\f\\n\\r\\t\\v\\\\\\""', 'a\x07\b\f\n\r\t\v\\"'],
    ["'it\\'s'", "it's"],
    ['`raw \\n "x"`', 'raw \\n "x"'],
    ['"\\x41\\101\\u00e9\\U0001F600"', 'AAé😀'],
  ] as const;
  for (const [token, value] of unquoted) {
    it(`reads ${token} as Prometheus does`, () => assert.equal(unquote(token), value));
  }

  it('refuses a lone surrogate it cannot send as UTF-8', () => assert.throws(() => quote('\ud800'), PromQLError));
});
