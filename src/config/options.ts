// Derives the flat option table (flag, env var, kind, default, description) from the zod schema,
// so `--help`, env handling and the configuration reference all read the same source.
import { z } from 'zod';
import { configSchema } from './schema.ts';

export type OptionKind = 'string' | 'number' | 'boolean' | 'list' | 'map';

export interface OptionSpec {
  /** Key path in the config object, e.g. ['upstream', 'url']. */
  path: string[];
  /** Dotted key as written in errors, e.g. `upstream.url`. */
  key: string;
  /** Flag name without dashes, e.g. `upstream.url`, `web.listen-address`. */
  flag: string;
  /** Environment variable, e.g. `PROMGATE_UPSTREAM_URL`. */
  env: string;
  kind: OptionKind;
  description: string;
  default: unknown;
  /** Structured values (e.g. access-control roles): set in the config file only, no flag or env var. */
  fileOnly: boolean;
}

export const ENV_PREFIX = 'PROMGATE_';
export const CONFIG_FILE_FLAG = 'config.file';
export const CONFIG_FILE_ENV = `${ENV_PREFIX}CONFIG_FILE`;

interface JsonSchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: boolean | JsonSchemaNode;
  items?: JsonSchemaNode;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const upperSnake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

function collect(node: JsonSchemaNode, path: string[], out: OptionSpec[]): void {
  const isMap = node.type === 'object' && typeof node.additionalProperties === 'object';
  if (node.type === 'object' && node.properties && !isMap) {
    for (const [name, child] of Object.entries(node.properties)) collect(child, [...path, name], out);
    return;
  }
  const kind: OptionKind = isMap
    ? 'map'
    : node.type === 'array'
      ? 'list'
      : node.type === 'boolean'
        ? 'boolean'
        : node.type === 'integer' || node.type === 'number'
          ? 'number'
          : 'string';
  out.push({
    path,
    key: path.join('.'),
    flag: path.map(kebab).join('.'),
    env: ENV_PREFIX + path.map(upperSnake).join('_'),
    kind,
    description: node.description ?? '',
    default: node.default,
    fileOnly:
      (isMap && typeof node.additionalProperties === 'object' && node.additionalProperties.type === 'object') ||
      (node.type === 'array' && node.items?.type === 'object'),
  });
}

const JSON_SCHEMA = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;

function buildOptionTable(): readonly OptionSpec[] {
  const out: OptionSpec[] = [];
  collect(JSON_SCHEMA, [], out);
  return out;
}

export const OPTIONS: readonly OptionSpec[] = buildOptionTable();

/** The keys one level below `path` in the schema (also inside lists and maps), for "did you mean" hints. */
export function knownKeysAt(path: readonly (string | number)[]): string[] {
  let node: JsonSchemaNode | undefined = JSON_SCHEMA;
  for (const segment of path) {
    if (node?.type === 'array') node = node.items;
    else if (node?.properties?.[segment]) node = node.properties[segment];
    else if (typeof node?.additionalProperties === 'object') node = node.additionalProperties;
    else return [];
  }
  return Object.keys(node?.properties ?? {});
}
