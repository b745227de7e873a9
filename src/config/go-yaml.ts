// How Go's yaml.v2 reads Prometheus's files, where it differs from JavaScript's view of the YAML:
// a scalar read into a string-typed field keeps its text as written (`X-XSS-Protection: 1` is
// "1", `1.0` is "1.0", `true` is "true"), a null sets the field's zero value (`~` is "", false
// or 0, even where the field has a default), and time.Duration has Go's own syntax.
import type { Document, Node } from 'yaml';
import { yaml } from './yaml.ts';
import { z } from 'zod';

/**
 * The document's data shaped by `schema`: where the schema expects a string (values, map keys,
 * list items), the scalar's text as written; everything else as the YAML parser read it.
 */
export function goYamlValue(doc: Document, schema: z.ZodType): unknown {
  return convert(doc, doc.contents as Node | null, schema);
}

function convert(doc: Document, node: Node | null, schema: z.ZodType): unknown {
  const { isAlias, isMap, isScalar, isSeq } = yaml();
  if (node === null) return zeroValue(unwrap(schema));
  const target = unwrap(schema);
  const resolved = isAlias(node) ? (node.resolve(doc) as Node | undefined) : node;
  if (!resolved) return node.toJS(doc);
  if (isScalar(resolved) && resolved.value === null) return zeroValue(target);
  if (target instanceof z.ZodString && isScalar(resolved)) return textOf(resolved);
  if (target instanceof z.ZodArray && isSeq(resolved)) {
    return resolved.items.map((item) => convert(doc, item as Node | null, target.element as z.ZodType));
  }
  const fields = target instanceof z.ZodObject ? (target.shape as Record<string, z.ZodType>) : undefined;
  const values = target instanceof z.ZodRecord ? (target.valueType as z.ZodType) : undefined;
  // Merge keys (<<) are left to the parser, which resolves them.
  if (
    (fields || values) &&
    isMap(resolved) &&
    resolved.items.every((pair) => isScalar(pair.key) && typeof pair.key.value !== 'symbol')
  ) {
    const out: Record<string, unknown> = {};
    for (const pair of resolved.items) {
      const key = pair.key as Node & { value: unknown; source?: string };
      const name = key.value === null ? '' : textOf(key);
      const field = fields ? fields[name] : values;
      const value = field
        ? convert(doc, pair.value as Node | null, field)
        : ((pair.value as Node | null)?.toJS(doc) ?? null);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }
  return resolved.toJS(doc);
}

/** What Go leaves in a field the YAML sets to null (`~` or nothing): its zero value; undefined for no value. */
function zeroValue(schema: z.ZodType): unknown {
  if (schema instanceof z.ZodString) return '';
  if (schema instanceof z.ZodBoolean) return false;
  if (schema instanceof z.ZodNumber) return 0;
  if (schema instanceof z.ZodUnion)
    return (schema.options as z.ZodType[]).some((option) => option instanceof z.ZodNumber) ? 0 : undefined;
  return schema instanceof z.ZodObject ? null : undefined;
}

function textOf(scalar: { value: unknown; source?: string }): string {
  return scalar.source ?? String(scalar.value);
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
  return current;
}

const GO_DURATION_UNITS_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * A time.Duration field as yaml.v2 reads it, in milliseconds: a string in time.ParseDuration's
 * syntax (`1.5s`, `1h30m`, `300us`, `0`), or a number of nanoseconds. Undefined when invalid.
 */
export function parseGoDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) / 1e6 : undefined;
  const match = /^([-+]?)(.*)$/s.exec(value)!;
  const [, sign, rest = ''] = match;
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  let remaining = rest;
  while (remaining !== '') {
    const part = /^(\d*)(?:\.(\d*))?([^\d.]+)/.exec(remaining);
    if (!part || (part[1] === '' && !part[2])) return undefined;
    const scale = GO_DURATION_UNITS_NS[part[3]!];
    if (scale === undefined) return undefined;
    total += Number(`${part[1] || '0'}.${part[2] || '0'}`) * scale;
    remaining = remaining.slice(part[0].length);
  }
  return ((sign === '-' ? -1 : 1) * total) / 1e6;
}
