// Adds a tenant's matchers to every selector of a query, prints the query from the tree, and reads
// the output back to check that it says exactly that before anyone sends it to Prometheus.
import { isDeepStrictEqual } from 'node:util';
import type { TenantScope } from '../../../src/kernel/request-state.ts';
import { parseQuery } from './parse.ts';
import { printExpr, printMatcher, printSelector } from './print.ts';
import { quoteMeta } from './strings.ts';
import { type Expr, type Matcher, mapSelectors, PromQLError, type Selector, selectorsOf } from './tree.ts';

/** The matchers of a scope: `label="v"` for one value, `label=~"v1|v2"` (each value regex-quoted) for several. */
export function scopeMatchers(scope: TenantScope): Matcher[] {
  const labels = Object.keys(scope);
  // An empty scope would add nothing; access control never hands one over, so refuse rather than pass all.
  if (labels.length === 0) throw new Error('tenant scope has no labels');
  return labels.map((name) => {
    const values = scope[name]!;
    if (values.length === 0) throw new Error(`tenant scope has no values for ${name}`);
    return values.length === 1
      ? { name, op: '=', value: values[0]! }
      : { name, op: '=~', value: values.map(quoteMeta).join('|') };
  });
}

/** `{namespace=~"a|b",env="prod"}`: the series selector of everything a scope may see. */
export function scopeSelector(scope: TenantScope): string {
  return `{${scopeMatchers(scope).map(printMatcher).join(',')}}`;
}

/** Whether a series with these labels is visible to the scope (a missing label reads as ""). */
export function labelsInScope(labels: Readonly<Record<string, string>>, scope: TenantScope): boolean {
  for (const name in scope) {
    if (!scope[name]!.includes(labels[name] ?? '')) return false;
  }
  return true;
}

/** The query with the scope's matchers added to every vector and matrix selector; PromQLError when refused. */
export function enforceQuery(query: string, scope: TenantScope): string {
  const tenant = scopeMatchers(scope);
  const scoped = mapSelectors(parseQuery(query), (selector) => addMatchers(selector, tenant));
  return verified(printExpr(scoped), scoped, tenant);
}

/** A `match[]` series selector (a vector selector alone, as Prometheus requires) with the scope's matchers added. */
export function enforceSeriesSelector(match: string, scope: TenantScope): string {
  const tenant = scopeMatchers(scope);
  const tree = parseQuery(match);
  if (tree.type !== 'selector')
    throw new PromQLError(`invalid series selector ${JSON.stringify(match)}: expected a vector selector`);
  const scoped = addMatchers(tree, tenant);
  return verified(printSelector(scoped), scoped, tenant);
}

// A matcher the selector already has is not repeated: absent() drops a label matched twice.
function addMatchers(selector: Selector, tenant: readonly Matcher[]): Selector {
  const missing = tenant.filter((wanted) => !carries({ type: 'selector', matchers: selector.matchers }, [wanted]));
  return { type: 'selector', matchers: [...selector.matchers, ...missing] };
}

/**
 * Reads the output again: it must parse to the very tree that was printed, and every selector in
 * it must carry the tenant's matchers. A failure here is a bug of ours, so it refuses the query.
 */
export function verified(output: string, scoped: Expr, tenant: readonly Matcher[]): string {
  let reread: Expr;
  try {
    reread = parseQuery(output);
  } catch (error) {
    throw new PromQLError(`query cannot be scoped to the tenant: ${error instanceof Error ? error.message : error}`);
  }
  if (!isDeepStrictEqual(reread, scoped))
    throw new PromQLError('query cannot be scoped to the tenant: it reads back differently');
  const selectors = selectorsOf(reread);
  if (!selectors.every((selector) => carries(selector, tenant))) {
    throw new PromQLError('query cannot be scoped to the tenant: a selector lacks the tenant matchers');
  }
  return output;
}

export function carries(selector: Selector, tenant: readonly Matcher[]): boolean {
  return tenant.every((wanted) =>
    selector.matchers.some(
      (matcher) => matcher.name === wanted.name && matcher.op === wanted.op && matcher.value === wanted.value,
    ),
  );
}
