import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  carries,
  enforceQuery,
  parseQuery,
  printExpr,
  scopeMatchers,
  selectorsOf,
} from '../../middleware/tenancy/promql/index.ts';

/** A small deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random queries in the shapes dashboards use, written with random spacing, comments, quotes and keyword case. */
function queryGenerator(next: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const space = () => pick([' ', '', '  ', '\n', ' # note } or up\n']);
  const keyword = (word: string) => pick([word, word.toUpperCase()]);
  const string = (value: string) =>
    pick([
      `"${value.replace(/["\\]/g, '\\$&')}"`,
      `'${value.replace(/['\\]/g, '\\$&')}'`,
      value.includes('`') ? `"${value.replace(/["\\]/g, '\\$&')}"` : `\`${value}\``,
    ]);
  const metric = () =>
    pick(['up', 'http_requests_total', 'node_cpu_seconds_total', 'x:rate5m', 'container_memory_working_set_bytes']);
  const label = () => pick(['job', 'instance', 'namespace', 'le', 'code', 'mode']);
  const value = () => pick(['a', 'prometheus', '5..', 'a|b', '.*', '"}', "it's", 'é', '']);
  const matcher = () => `${label()}${space()}${pick(['=', '!=', '=~', '!~'])}${space()}${string(value())}`;
  const selector = () => {
    const matchers = Array.from({ length: Math.floor(next() * 3) }, matcher);
    if (next() < 0.15) return `{${string(metric())}${matchers.map((m) => `,${m}`).join('')}}`;
    return matchers.length === 0 && next() < 0.5 ? metric() : `${metric()}{${matchers.join(`,${space()}`)}}`;
  };
  const duration = () => pick(['5m', '1h30m', '30s', '1d', '2w']);
  const labels = () => `(${Array.from({ length: Math.floor(next() * 3) }, label).join(', ')})`;
  const expr = (depth: number): string => {
    if (depth > 3) return pick([selector, () => pick(['1', '0.5', '0x1F', 'Inf', '1e3'])])();
    const inner = () => expr(depth + 1);
    return pick([
      selector,
      () =>
        `${pick(['rate', 'increase', 'irate', 'max_over_time', 'avg_over_time'])}(${selector()}[${duration()}]${pick(['', ` ${keyword('offset')} ${duration()}`, ` @ ${keyword('start')}()`, ' @ 1609746000', ` offset -${duration()}`])})`,
      () =>
        `${keyword(pick(['sum', 'avg', 'max', 'count', 'min']))}${space()}${keyword(pick(['by', 'without']))}${space()}${labels()}${space()}(${inner()})`,
      () => `${keyword(pick(['sum', 'avg']))}(${inner()})${space()}${keyword('by')} ${labels()}`,
      () => `${pick(['topk', 'bottomk', 'quantile'])}(${pick(['5', '0.9'])},${space()}${inner()})`,
      () =>
        `${inner()}${space()}${pick(['+', '-', '*', '/', '>', '==', '!=', 'and', 'or', 'unless', '^', '%', 'atan2'])}${space()}${inner()}`,
      () =>
        `${inner()} ${pick(['*', '/', '+'])} ${keyword(pick(['on', 'ignoring']))}${labels()} ${keyword(pick(['group_left', 'group_right']))}${pick(['', labels()])} ${inner()}`,
      () => `${inner()} > ${keyword('bool')} ${inner()}`,
      () => `(${space()}${inner()}${space()})`,
      () => `-${inner()}`,
      () => `histogram_quantile(0.9, ${inner()})`,
      () => `label_replace(${inner()}, ${string('dst')}, ${string('$1')}, ${string('src')}, ${string('(.*)')})`,
      () => `max_over_time((${inner()})[${duration()}:${pick(['', '1m'])}])`,
      () => `absent(${selector()})`,
      () => `count_values(${string('value')}, ${inner()})`,
    ])();
  };
  return () => expr(0);
}

describe('PromQL round trip over generated queries', () => {
  const scope = { namespace: ['a', 'b.c'], env: ['prod'] };
  const tenant = scopeMatchers(scope);
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`prints 200 generated queries (seed ${seed}) so that each reads back as the same tree, and scopes every selector`, () => {
      const generate = queryGenerator(random(seed));
      let parsed = 0;
      for (let n = 0; n < 200; n++) {
        const query = generate();
        let tree: ReturnType<typeof parseQuery>;
        try {
          tree = parseQuery(query);
        } catch {
          continue; // a generated shape the grammar refuses (e.g. group_left labels read as the right operand)
        }
        parsed++;
        const printed = printExpr(tree);
        assert.deepEqual(parseQuery(printed), tree, `seed ${seed}, query ${JSON.stringify(query)}`);
        const scoped = parseQuery(enforceQuery(query, scope));
        const selectors = selectorsOf(scoped);
        assert.equal(selectors.length, selectorsOf(tree).length, query);
        assert.ok(
          selectors.every((selector) => carries(selector, tenant)),
          query,
        );
      }
      assert.ok(parsed >= 150, `only ${parsed} of 200 generated queries parsed`);
    });
  }
});
