// PromQL text -> typed tree, through the grammar Prometheus's own UI uses. Every node type of the
// grammar is either read here or refused by name; anything else refuses the query.
import type { parser as Parser } from '@prometheus-io/lezer-promql';
import { lazyModule } from '../../../src/kernel/lazy-module.ts';
import {
  AGGREGATIONS,
  BINARY_OPERATORS,
  EXPRESSIONS,
  FUNCTION_NODES,
  isHandledNodeType,
  REFUSED_NODE_TYPES,
} from './node-types.ts';
import { unquote } from './strings.ts';
import {
  type Duration,
  type Expr,
  type Fill,
  type Grouping,
  type Matcher,
  type MatchOp,
  type NumberLiteral,
  PromQLError,
  type VectorMatching,
} from './tree.ts';

const lezer = lazyModule<typeof import('@prometheus-io/lezer-promql')>('@prometheus-io/lezer-promql');
let strictParser: typeof Parser | undefined;
/** The grammar in strict mode (errors throw instead of being recovered from), built on first use. */
const strict = () => (strictParser ??= lezer().parser.configure({ strict: true }));

/** The grammar's node (from @lezer/common, which we do not depend on directly). */
type SyntaxNode = ReturnType<typeof Parser.parse>['topNode'];

/** Deeper queries are refused before the recursive passes could exhaust the stack. */
export const MAX_DEPTH = 500;

/** Parses a query into the typed tree; PromQLError when it does not parse or uses something refused. */
export function parseQuery(query: string): Expr {
  let top: SyntaxNode;
  try {
    top = strict().parse(query).topNode;
  } catch (error) {
    throw syntaxError(query, error);
  }
  const body = childrenOf(top);
  if (body.length !== 1) throw new PromQLError('1:1: parse error: no expression found in input');
  return expression(query, body[0]!, 0);
}

function syntaxError(query: string, error: unknown): PromQLError {
  const at = /No parse at (\d+)/.exec(error instanceof Error ? error.message : '');
  if (!at) return new PromQLError(`parse error: ${error instanceof Error ? error.message : String(error)}`);
  const offset = Number(at[1]);
  const before = query.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  const found = offset >= query.length ? 'end of input' : JSON.stringify(query.slice(offset, offset + 1));
  return new PromQLError(`${line}:${column}: parse error: unexpected ${found}`);
}

/** A node's children without comments (the grammar keeps them where they were skipped). */
function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const children: SyntaxNode[] = [];
  for (let child = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.name === 'LineComment') continue;
    const refusal = REFUSED_NODE_TYPES.get(child.name);
    if (refusal !== undefined) throw new PromQLError(refusal);
    if (!isHandledNodeType(child.name)) throw new PromQLError(`unsupported PromQL: ${child.name}`);
    children.push(child);
  }
  return children;
}

function textOf(query: string, node: SyntaxNode): string {
  return query.slice(node.from, node.to);
}

function unsupported(query: string, node: SyntaxNode): PromQLError {
  return new PromQLError(
    `unsupported PromQL at char ${node.from + 1}: ${JSON.stringify(textOf(query, node).slice(0, 40))}`,
  );
}

function expression(query: string, node: SyntaxNode, depth: number): Expr {
  if (depth > MAX_DEPTH) throw new PromQLError(`query is nested deeper than ${MAX_DEPTH} levels`);
  const next = depth + 1;
  const parts = childrenOf(node);
  const sub = (part: SyntaxNode | undefined): Expr => {
    if (part === undefined || !EXPRESSIONS.has(part.name)) throw unsupported(query, node);
    return expression(query, part, next);
  };
  switch (node.name) {
    case 'NumberDurationLiteral':
      return numberLiteral(query, node);
    case 'StringLiteral':
      return { type: 'string', value: unquote(textOf(query, node)) };
    case 'VectorSelector':
      return { type: 'selector', matchers: selectorMatchers(query, node, parts) };
    case 'MatrixSelector':
      return {
        type: 'matrix',
        expr: sub(parts[0]),
        range: duration(query, only(query, node, parts, 'DurationExpr', 1), next),
      };
    case 'SubqueryExpr': {
      const step = parts[2];
      return {
        type: 'subquery',
        expr: sub(parts[0]),
        range: duration(query, only(query, node, parts, 'DurationExpr', 1), next),
        step: step === undefined ? undefined : duration(query, only(query, node, parts, 'DurationExpr', 2), next),
      };
    }
    case 'OffsetExpr':
      expect(query, node, parts, ['', 'Offset', 'OffsetDurationExpr']);
      return { type: 'offset', expr: sub(parts[0]), offset: duration(query, parts[2]!, next) };
    case 'StepInvariantExpr': {
      const at = parts[2];
      if (parts.length !== 3 || parts[1]!.name !== 'At' || at === undefined) throw unsupported(query, node);
      if (at.name === 'NumberDurationLiteral') return { type: 'at', expr: sub(parts[0]), at: numberLiteral(query, at) };
      if (at.name !== 'AtModifierPreprocessors') throw unsupported(query, node);
      const which = childrenOf(at)[0]?.name;
      if (which !== 'AtStart' && which !== 'AtEnd') throw unsupported(query, node);
      return { type: 'at', expr: sub(parts[0]), at: which === 'AtStart' ? 'start' : 'end' };
    }
    case 'AnchoredExpr':
      expect(query, node, parts, ['', 'Anchored']);
      return { type: 'anchored', expr: sub(parts[0]) };
    case 'SmoothedExpr':
      expect(query, node, parts, ['', 'Smoothed']);
      return { type: 'smoothed', expr: sub(parts[0]) };
    case 'ParenExpr':
      expect(query, node, parts, ['']);
      return { type: 'paren', expr: sub(parts[0]) };
    case 'UnaryExpr':
      expect(query, node, parts, ['UnaryOp', '']);
      return { type: 'unary', op: unaryOp(query, parts[0]!), expr: sub(parts[1]) };
    case 'FunctionCall': {
      expect(query, node, parts, ['FunctionIdentifier', 'FunctionCallBody']);
      const name = childrenOf(parts[0]!);
      if (name.length !== 1 || !FUNCTION_NODES.has(name[0]!.name)) throw unsupported(query, node);
      const func = textOf(query, name[0]!);
      if (!/^[a-z_][a-z0-9_]*$/.test(func)) throw unsupported(query, node);
      return { type: 'call', func, args: childrenOf(parts[1]!).map(sub) };
    }
    case 'AggregateExpr':
      return aggregate(query, node, parts, sub);
    case 'BinaryExpr':
      return binary(query, node, parts, sub);
  }
  throw unsupported(query, node);
}

function only(query: string, node: SyntaxNode, parts: SyntaxNode[], name: string, index: number): SyntaxNode {
  const part = parts[index];
  if (part?.name !== name || parts.length > 3) throw unsupported(query, node);
  return part;
}

/** Checks the children's node types ('' for any expression). */
function expect(query: string, node: SyntaxNode, parts: SyntaxNode[], names: readonly string[]): void {
  if (parts.length !== names.length) throw unsupported(query, node);
  names.forEach((name, index) => {
    const part = parts[index]!;
    if (name === '' ? !EXPRESSIONS.has(part.name) : part.name !== name) throw unsupported(query, node);
  });
}

const NUMBER =
  /^[+-]?(?:(?:(?:\d+(?:_?\d)*(?:\.\d+(?:_?\d)*)?|\.\d+(?:_?\d)*)(?:[eE][+-]?\d+(?:_?\d)*)?)|0x[0-9a-fA-F]+|(?:\d+(?:ms|[ywdhms]))+|[iI][nN][fF]|[nN][aA][nN])$/;

function numberLiteral(query: string, node: SyntaxNode): NumberLiteral {
  // A sign may be followed by blanks or comments; the number itself is the node's last token.
  const text = textOf(query, node);
  const sign = text[0] === '-' || text[0] === '+' ? text[0] : '';
  const token = /\S+$/.exec(text)?.[0] ?? '';
  const literal = sign + (sign !== '' && token === text ? token.slice(1) : token);
  if (!NUMBER.test(literal) || childrenOf(node).length !== 0) throw unsupported(query, node);
  return { type: 'number', text: literal };
}

function unaryOp(query: string, node: SyntaxNode): '-' | '+' {
  const op = textOf(query, node);
  if (op !== '-' && op !== '+') throw unsupported(query, node);
  return op;
}

function labelName(query: string, node: SyntaxNode): string {
  if (node.name === 'LabelName') return textOf(query, node);
  const parts = childrenOf(node);
  if (node.name !== 'QuotedLabelName' || parts.length !== 1 || parts[0]!.name !== 'StringLiteral') {
    throw unsupported(query, node);
  }
  return unquote(textOf(query, parts[0]!));
}

function selectorMatchers(query: string, node: SyntaxNode, parts: SyntaxNode[]): Matcher[] {
  const matchers: Matcher[] = [];
  let rest = parts;
  if (parts[0]?.name === 'Identifier') {
    matchers.push({ name: '__name__', op: '=', value: textOf(query, parts[0]) });
    rest = parts.slice(1);
  }
  if (rest.length > 1 || (rest.length === 1 && rest[0]!.name !== 'LabelMatchers')) throw unsupported(query, node);
  for (const part of rest.length === 1 ? childrenOf(rest[0]!) : []) {
    if (part.name === 'QuotedLabelName') {
      // `{"my.metric"}`: a quoted metric name.
      matchers.push({ name: '__name__', op: '=', value: labelName(query, part) });
      continue;
    }
    const pieces = childrenOf(part);
    const [name, op, value] = pieces;
    if (
      (part.name !== 'UnquotedLabelMatcher' && part.name !== 'QuotedLabelMatcher') ||
      pieces.length !== 3 ||
      op?.name !== 'MatchOp' ||
      value?.name !== 'StringLiteral'
    ) {
      throw unsupported(query, part);
    }
    matchers.push({ name: labelName(query, name!), op: matchOp(query, op), value: unquote(textOf(query, value)) });
  }
  if (matchers.length === 0) throw new PromQLError('vector selector must contain at least one non-empty matcher');
  return matchers;
}

function matchOp(query: string, node: SyntaxNode): MatchOp {
  const op = textOf(query, node);
  if (op !== '=' && op !== '!=' && op !== '=~' && op !== '!~') throw unsupported(query, node);
  return op;
}

function groupingLabels(query: string, node: SyntaxNode): string[] {
  if (node.name !== 'GroupingLabels') throw unsupported(query, node);
  return childrenOf(node).map((label) => labelName(query, label));
}

function aggregate(query: string, node: SyntaxNode, parts: SyntaxNode[], sub: (part: SyntaxNode) => Expr): Expr {
  const [opNode, ...rest] = parts;
  const opParts = opNode?.name === 'AggregateOp' ? childrenOf(opNode) : [];
  const op = AGGREGATIONS[opParts[0]?.name ?? ''];
  const body = rest.find((part) => part.name === 'FunctionCallBody');
  const modifiers = rest.filter((part) => part.name === 'AggregateModifier');
  if (
    op === undefined ||
    opParts.length !== 1 ||
    body === undefined ||
    modifiers.length > 1 ||
    rest.length !== modifiers.length + 1
  ) {
    throw unsupported(query, node);
  }
  let grouping: Grouping | undefined;
  if (modifiers[0] !== undefined) {
    const [keyword, labels] = childrenOf(modifiers[0]);
    if ((keyword?.name !== 'By' && keyword?.name !== 'Without') || labels === undefined) throw unsupported(query, node);
    grouping = { without: keyword.name === 'Without', labels: groupingLabels(query, labels) };
  }
  return { type: 'aggregate', op, grouping, args: childrenOf(body).map(sub) };
}

function binary(query: string, node: SyntaxNode, parts: SyntaxNode[], sub: (part: SyntaxNode) => Expr): Expr {
  const lhs = parts[0];
  const rhs = parts[parts.length - 1];
  const opNode = parts[1];
  const op = BINARY_OPERATORS[opNode?.name ?? ''];
  if (lhs === undefined || rhs === undefined || op === undefined || parts.length < 3) throw unsupported(query, node);
  let bool = false;
  let matching: VectorMatching | undefined;
  const fill: Fill[] = [];
  for (const modifier of parts.slice(2, -1)) {
    if (modifier.name === 'BoolModifier' && !bool && matching === undefined && fill.length === 0) bool = true;
    else if (modifier.name === 'MatchingModifierClause' && matching === undefined && fill.length === 0) {
      matching = vectorMatching(query, modifier);
    } else if (modifier.name === 'FillModifier' && fill.length === 0) {
      for (const clause of childrenOf(modifier)) fill.push(fillClause(query, clause));
    } else throw unsupported(query, node);
  }
  return { type: 'binary', op, bool, matching, fill, lhs: sub(lhs), rhs: sub(rhs) };
}

function vectorMatching(query: string, node: SyntaxNode): VectorMatching {
  const [keyword, labels, side, groupLabels, ...extra] = childrenOf(node);
  if ((keyword?.name !== 'On' && keyword?.name !== 'Ignoring') || labels === undefined || extra.length > 0) {
    throw unsupported(query, node);
  }
  const matching = { on: keyword.name === 'On', labels: groupingLabels(query, labels) };
  if (side === undefined) return { ...matching, group: undefined };
  if (side.name !== 'GroupLeft' && side.name !== 'GroupRight') throw unsupported(query, node);
  return {
    ...matching,
    group: {
      side: side.name === 'GroupLeft' ? 'left' : 'right',
      labels: groupLabels === undefined ? undefined : groupingLabels(query, groupLabels),
    },
  };
}

const FILL_SIDES: Readonly<Record<string, Fill['side']>> = {
  FillClause: 'both',
  FillLeftClause: 'left',
  FillRightClause: 'right',
};

function fillClause(query: string, node: SyntaxNode): Fill {
  const side = FILL_SIDES[node.name];
  const parts = childrenOf(node);
  if (side === undefined || parts.length !== 2 || parts[1]!.name !== 'NumberDurationLiteral') {
    throw unsupported(query, node);
  }
  return { side, value: numberLiteral(query, parts[1]!) };
}

const DURATION_CALLS: Readonly<Record<string, 'step' | 'range' | 'min_of' | 'max_of'>> = {
  DurationStep: 'step',
  DurationRange: 'range',
  DurationMinOf: 'min_of',
  DurationMaxOf: 'max_of',
};
const DURATION =
  /^(?:(?:\d+(?:_?\d)*(?:\.\d+(?:_?\d)*)?|\.\d+(?:_?\d)*)(?:[eE][+-]?\d+(?:_?\d)*)?|0x[0-9a-fA-F]+|(?:\d+(?:ms|[ywdhms]))+|[iI][nN][fF]|[nN][aA][nN])$/;

/** DurationExpr or OffsetDurationExpr (their primaries are inlined: a lone DurationExpr child is a parenthesis). */
function duration(query: string, node: SyntaxNode, depth: number): Duration {
  if (depth > MAX_DEPTH) throw new PromQLError(`query is nested deeper than ${MAX_DEPTH} levels`);
  const parts = childrenOf(node);
  const sub = (part: SyntaxNode | undefined): Duration => {
    if (part?.name !== 'DurationExpr' && part?.name !== 'OffsetDurationExpr') throw unsupported(query, node);
    return duration(query, part, depth + 1);
  };
  const first = parts[0];
  if (first === undefined || (node.name !== 'DurationExpr' && node.name !== 'OffsetDurationExpr'))
    throw unsupported(query, node);
  if (first.name === 'NumberDurationLiteralInDurationContext' && parts.length === 1) {
    const text = textOf(query, first);
    if (!DURATION.test(text)) throw unsupported(query, first);
    return { type: 'literal', text };
  }
  if (first.name === 'UnaryOp' && parts.length === 2)
    return { type: 'unary', op: unaryOp(query, first), expr: sub(parts[1]) };
  if (first.name === 'DurationExpr' && parts.length === 1) return { type: 'paren', expr: sub(first) };
  const func = DURATION_CALLS[first.name];
  if (func !== undefined) {
    const args = parts.slice(1).map(sub);
    if (args.length !== (func === 'min_of' || func === 'max_of' ? 2 : 0)) throw unsupported(query, node);
    return { type: 'call', func, args };
  }
  const op = BINARY_OPERATORS[parts[1]?.name ?? ''];
  if (
    node.name === 'DurationExpr' &&
    parts.length === 3 &&
    op !== undefined &&
    op !== 'atan2' &&
    /^[-+*/%^]$/.test(op)
  ) {
    return { type: 'binary', op, lhs: sub(first), rhs: sub(parts[2]) };
  }
  throw unsupported(query, node);
}
