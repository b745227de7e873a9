// The typed PromQL tree the rewriter reads, changes and prints; nothing else of the grammar's tree
// survives parsing, so whatever the printer writes comes from these nodes.

/** A query the rewriter refuses; the message reads like Prometheus's own (for a 400 bad_data answer). */
export class PromQLError extends Error {
  override name = 'PromQLError';
}

export type MatchOp = '=' | '!=' | '=~' | '!~';

/** `name op "value"`; a metric name is the matcher `__name__="name"`. */
export interface Matcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

/** A number as written (validated), with its sign: `-0x1F`, `Inf`, `1h30m`, `1_000`. */
export interface NumberLiteral {
  readonly type: 'number';
  readonly text: string;
}

/** The time expressions of ranges, subquery steps and offsets: `5m`, `1h + 5m`, `step()`, `max_of(a, b)`. */
export type Duration =
  | { readonly type: 'literal'; readonly text: string }
  | { readonly type: 'unary'; readonly op: '-' | '+'; readonly expr: Duration }
  | { readonly type: 'binary'; readonly op: string; readonly lhs: Duration; readonly rhs: Duration }
  | { readonly type: 'call'; readonly func: 'step' | 'range' | 'min_of' | 'max_of'; readonly args: readonly Duration[] }
  | { readonly type: 'paren'; readonly expr: Duration };

export interface Grouping {
  readonly without: boolean;
  readonly labels: readonly string[];
}

export interface VectorMatching {
  /** `on(...)` when true, `ignoring(...)` when false. */
  readonly on: boolean;
  readonly labels: readonly string[];
  readonly group?: { readonly side: 'left' | 'right'; readonly labels?: readonly string[] | undefined } | undefined;
}

/** `fill(v)`, `fill_left(v)`, `fill_right(v)` of a binary operation, in source order. */
export interface Fill {
  readonly side: 'both' | 'left' | 'right';
  readonly value: NumberLiteral;
}

export interface Selector {
  readonly type: 'selector';
  readonly matchers: readonly Matcher[];
}

export type Expr =
  | NumberLiteral
  | { readonly type: 'string'; readonly value: string }
  | Selector
  | { readonly type: 'matrix'; readonly expr: Expr; readonly range: Duration }
  | { readonly type: 'subquery'; readonly expr: Expr; readonly range: Duration; readonly step?: Duration | undefined }
  | { readonly type: 'offset'; readonly expr: Expr; readonly offset: Duration }
  | { readonly type: 'at'; readonly expr: Expr; readonly at: 'start' | 'end' | NumberLiteral }
  | { readonly type: 'anchored' | 'smoothed'; readonly expr: Expr }
  | { readonly type: 'paren'; readonly expr: Expr }
  | { readonly type: 'unary'; readonly op: '-' | '+'; readonly expr: Expr }
  | { readonly type: 'call'; readonly func: string; readonly args: readonly Expr[] }
  | {
      readonly type: 'aggregate';
      readonly op: string;
      readonly grouping?: Grouping | undefined;
      readonly args: readonly Expr[];
    }
  | {
      readonly type: 'binary';
      readonly op: string;
      readonly bool: boolean;
      readonly matching?: VectorMatching | undefined;
      readonly fill: readonly Fill[];
      readonly lhs: Expr;
      readonly rhs: Expr;
    };

/** The same tree with every selector replaced by `replace(selector)`. */
export function mapSelectors(expr: Expr, replace: (selector: Selector) => Selector): Expr {
  switch (expr.type) {
    case 'number':
    case 'string':
      return expr;
    case 'selector':
      return replace(expr);
    case 'matrix':
    case 'subquery':
    case 'offset':
    case 'at':
    case 'anchored':
    case 'smoothed':
    case 'paren':
    case 'unary':
      return { ...expr, expr: mapSelectors(expr.expr, replace) };
    case 'call':
    case 'aggregate':
      return { ...expr, args: expr.args.map((arg) => mapSelectors(arg, replace)) };
    case 'binary':
      return { ...expr, lhs: mapSelectors(expr.lhs, replace), rhs: mapSelectors(expr.rhs, replace) };
  }
}

/** Every selector of the tree, at every depth. */
export function selectorsOf(expr: Expr, found: Selector[] = []): Selector[] {
  switch (expr.type) {
    case 'number':
    case 'string':
      break;
    case 'selector':
      found.push(expr);
      break;
    case 'matrix':
    case 'subquery':
    case 'offset':
    case 'at':
    case 'anchored':
    case 'smoothed':
    case 'paren':
    case 'unary':
      selectorsOf(expr.expr, found);
      break;
    case 'call':
    case 'aggregate':
      for (const arg of expr.args) selectorsOf(arg, found);
      break;
    case 'binary':
      selectorsOf(expr.lhs, found);
      selectorsOf(expr.rhs, found);
      break;
  }
  return found;
}
