// Derives the flat option table (flag, env var, kind, default, description) from the zod schema,
// so `--help`, env handling and the README's reference all read the same source.
import { z } from 'zod';
import { configSchema } from "./schema.js";
export const ENV_PREFIX = 'PROMGATE_';
export const CONFIG_FILE_FLAG = 'config.file';
export const CONFIG_FILE_ENV = `${ENV_PREFIX}CONFIG_FILE`;
const kebab = (name) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const upperSnake = (name) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
function collect(node, path, out) {
    const isMap = node.type === 'object' && typeof node.additionalProperties === 'object';
    if (node.type === 'object' && node.properties && !isMap) {
        for (const [name, child] of Object.entries(node.properties))
            collect(child, [...path, name], out);
        return;
    }
    const kind = isMap ? 'map' : node.type === 'array' ? 'list' : node.type === 'boolean' ? 'boolean' : node.type === 'integer' || node.type === 'number' ? 'number' : 'string';
    out.push({
        path,
        key: path.join('.'),
        flag: path.map(kebab).join('.'),
        env: ENV_PREFIX + path.map(upperSnake).join('_'),
        kind,
        description: node.description ?? '',
        default: node.default,
        fileOnly: (isMap && typeof node.additionalProperties === 'object' && node.additionalProperties.type === 'object') || (node.type === 'array' && node.items?.type === 'object'),
    });
}
function buildOptionTable() {
    const jsonSchema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
    const out = [];
    collect(jsonSchema, [], out);
    return out;
}
export const OPTIONS = buildOptionTable();
/** The keys one level below `path` in the schema, for "did you mean" hints. */
export function knownKeysAt(path) {
    const prefix = path.join('.');
    const keys = new Set();
    for (const option of OPTIONS) {
        if (prefix === '' || option.key.startsWith(`${prefix}.`)) {
            const rest = prefix === '' ? option.path : option.path.slice(path.length);
            if (rest[0] !== undefined)
                keys.add(rest[0]);
        }
    }
    return [...keys];
}
//# sourceMappingURL=options.js.map