// The PromQL rewriter: parse with Prometheus's grammar into a typed tree, add a tenant's matchers
// to every selector, print from the tree, and verify the output before it is sent.
export {
  carries,
  enforceQuery,
  enforceSeriesSelector,
  labelsInScope,
  scopeMatchers,
  scopeSelector,
  verified,
} from './enforce.ts';
export { isHandledNodeType, REFUSED_NODE_TYPES } from './node-types.ts';
export { MAX_DEPTH, parseQuery } from './parse.ts';
export { printExpr, printSelector } from './print.ts';
export { quote, quoteMeta, unquote } from './strings.ts';
export type { Duration, Expr, Matcher, Selector } from './tree.ts';
export { mapSelectors, PromQLError, selectorsOf } from './tree.ts';
