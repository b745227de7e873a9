// Typed tree -> PromQL text. Tokens come out in the order they were read (only the aggregation's
// by/without moves before its body), so Prometheus groups the output as it grouped the input;
// strings are re-quoted and comments are gone, so no text of the query survives unparsed.
import { quote } from './strings.ts';
import type { Duration, Expr, Fill, Matcher, Selector, VectorMatching } from './tree.ts';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Words the grammar may read as keywords or functions where a bare metric name would stand. */
const RESERVED = new Set([
  'inf',
  'nan',
  'bool',
  'ignoring',
  'on',
  'group_left',
  'group_right',
  'offset',
  'avg',
  'atan2',
  'bottomk',
  'count',
  'count_values',
  'group',
  'max',
  'min',
  'quantile',
  'limitk',
  'limit_ratio',
  'stddev',
  'stdvar',
  'sum',
  'topk',
  'by',
  'without',
  'and',
  'or',
  'unless',
  'start',
  'end',
  'smoothed',
  'anchored',
  'fill',
  'fill_left',
  'fill_right',
]);

export function printExpr(expr: Expr): string {
  switch (expr.type) {
    case 'number':
      return expr.text;
    case 'string':
      return quote(expr.value);
    case 'selector':
      return printSelector(expr);
    case 'matrix':
      return `${printExpr(expr.expr)}[${printDuration(expr.range)}]`;
    case 'subquery':
      return `${printExpr(expr.expr)}[${printDuration(expr.range)}:${expr.step ? printDuration(expr.step) : ''}]`;
    case 'offset':
      return `${printExpr(expr.expr)} offset ${printDuration(expr.offset)}`;
    case 'at':
      return `${printExpr(expr.expr)} @ ${typeof expr.at === 'string' ? `${expr.at}()` : expr.at.text}`;
    case 'anchored':
    case 'smoothed':
      return `${printExpr(expr.expr)} ${expr.type}`;
    case 'paren':
      return `(${printExpr(expr.expr)})`;
    case 'unary':
      return `${expr.op}${printExpr(expr.expr)}`;
    case 'call':
      return `${expr.func}(${expr.args.map(printExpr).join(', ')})`;
    case 'aggregate': {
      const grouping = expr.grouping
        ? ` ${expr.grouping.without ? 'without' : 'by'} ${printLabels(expr.grouping.labels)} `
        : '';
      return `${expr.op}${grouping}(${expr.args.map(printExpr).join(', ')})`;
    }
    case 'binary': {
      const modifiers = [
        expr.bool ? 'bool' : '',
        expr.matching ? printMatching(expr.matching) : '',
        ...expr.fill.map(printFill),
      ].filter((modifier) => modifier !== '');
      return [printExpr(expr.lhs), expr.op, ...modifiers, printExpr(expr.rhs)].join(' ');
    }
  }
}

/** `name{matchers}`, the name bare when the grammar reads it back as a name. */
export function printSelector(selector: Selector): string {
  const [first, ...rest] = selector.matchers;
  if (
    first !== undefined &&
    first.name === '__name__' &&
    first.op === '=' &&
    METRIC_NAME.test(first.value) &&
    !RESERVED.has(first.value.toLowerCase())
  ) {
    return rest.length === 0 ? first.value : `${first.value}{${rest.map(printMatcher).join(',')}}`;
  }
  return `{${selector.matchers.map(printMatcher).join(',')}}`;
}

export function printMatcher(matcher: Matcher): string {
  return `${printLabel(matcher.name)}${matcher.op}${quote(matcher.value)}`;
}

function printLabel(name: string): string {
  return LABEL_NAME.test(name) ? name : quote(name);
}

function printLabels(labels: readonly string[]): string {
  return `(${labels.map(printLabel).join(', ')})`;
}

function printMatching(matching: VectorMatching): string {
  const clause = `${matching.on ? 'on' : 'ignoring'} ${printLabels(matching.labels)}`;
  if (matching.group === undefined) return clause;
  const side = `group_${matching.group.side}`;
  return matching.group.labels === undefined
    ? `${clause} ${side}`
    : `${clause} ${side} ${printLabels(matching.group.labels)}`;
}

function printFill(fill: Fill): string {
  return `${fill.side === 'both' ? 'fill' : `fill_${fill.side}`}(${fill.value.text})`;
}

export function printDuration(duration: Duration): string {
  switch (duration.type) {
    case 'literal':
      return duration.text;
    case 'unary':
      return `${duration.op}${printDuration(duration.expr)}`;
    case 'binary':
      return `${printDuration(duration.lhs)} ${duration.op} ${printDuration(duration.rhs)}`;
    case 'call':
      return `${duration.func}(${duration.args.map(printDuration).join(', ')})`;
    case 'paren':
      return `(${printDuration(duration.expr)})`;
  }
}
