// Builds the validated Config from defaults < YAML file < env vars < flags, remembering where each
// value came from so that any error names the file and line, env var or flag that set it.
import { dirname, isAbsolute, resolve } from 'node:path';
import { closest } from 'fastest-levenshtein';
import { ConfigError } from "../errors.js";
import { CONFIG_FILE_ENV, ENV_PREFIX, knownKeysAt, OPTIONS } from "./options.js";
import { configSchema } from "./schema.js";
import { readYamlFile } from "./yaml-file.js";
/** Path-valued settings; relative values resolve against the file (or cwd) that set them. */
const PATH_KEYS = ['tls.certFile', 'tls.keyFile', 'auth.htpasswdFile', 'web.config.file'];
export function loadConfig(options = {}) {
    const env = options.env ?? {};
    const cwd = options.cwd ?? process.cwd();
    const input = {};
    const origins = new Map();
    const warnings = [];
    const configFile = options.configFile ?? env[CONFIG_FILE_ENV];
    if (configFile) {
        const file = resolve(cwd, configFile);
        readYamlLayer(file, input, origins);
    }
    for (const name of Object.keys(env)) {
        if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV)
            continue;
        const option = OPTIONS.find((candidate) => candidate.env === name);
        // Kubernetes injects PROMGATE_SERVICE_HOST & co. for a Service named promgate: warn, don't fail.
        if (!option)
            warnings.push(`ignoring unknown environment variable ${name}${hint(name, OPTIONS.map((o) => o.env))}`);
    }
    for (const option of OPTIONS) {
        const raw = env[option.env];
        if (raw === undefined)
            continue;
        if (option.fileOnly)
            throw new ConfigError(`${option.key} can only be set in the config file`, { origin: option.env });
        const origin = { name: option.env, baseDir: cwd };
        setPath(input, option.path, parseEnvValue(option, raw, origin));
        origins.set(option.key, origin);
    }
    for (const option of OPTIONS) {
        const raw = options.flags?.[option.flag];
        if (raw === undefined)
            continue;
        const origin = { name: `--${option.flag}`, baseDir: cwd };
        setPath(input, option.path, parseFlagValue(option, raw, origin));
        origins.set(option.key, origin);
    }
    // Plugin modules given as paths are relative to the config file (package names stay as they are).
    const pluginsOrigin = origins.get('plugins');
    if (Array.isArray(input.plugins) && pluginsOrigin) {
        for (const plugin of input.plugins) {
            if (typeof plugin?.module === 'string' && /^\.\.?\//.test(plugin.module))
                plugin.module = resolve(pluginsOrigin.baseDir, plugin.module);
        }
    }
    for (const key of PATH_KEYS) {
        const path = key.split('.');
        const value = getPath(input, path);
        const origin = origins.get(key);
        if (typeof value === 'string' && origin && !isAbsolute(value))
            setPath(input, path, resolve(origin.baseDir, value));
    }
    const config = validate(input, origins);
    return { config, configFile: configFile ? resolve(cwd, configFile) : undefined, warnings };
}
/** Validates library options the same way as a config file, with errors naming the key. */
export function validateConfig(input, originName = 'options') {
    return validate(input, new Map([['', { name: originName, baseDir: process.cwd() }]]));
}
function validate(input, origins) {
    const result = configSchema.safeParse(input);
    if (result.success)
        return result.data;
    const [issue] = result.error.issues;
    if (!issue)
        throw new ConfigError('invalid configuration');
    const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem(s))` : '';
    throw issueToError(issue, origins, more);
}
function issueToError(issue, origins, more) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
        const [unknown = ''] = issue.keys;
        const fullPath = [...path, unknown];
        const origin = findOrigin(origins, fullPath);
        return new ConfigError(`unknown key${hint(unknown, knownKeysAt(path))}${more}`, {
            key: fullPath.join('.'),
            origin: origin?.name,
            line: origin?.line,
        });
    }
    const origin = findOrigin(origins, path);
    return new ConfigError(`${issue.message}${more}`, { key: path.join('.') || undefined, origin: origin?.name, line: origin?.line });
}
function findOrigin(origins, path) {
    for (let length = path.length; length >= 0; length--) {
        const origin = origins.get(path.slice(0, length).join('.'));
        if (origin)
            return origin;
    }
    return undefined;
}
function hint(word, candidates) {
    if (candidates.length === 0)
        return '';
    const best = closest(word, candidates);
    return best && best !== word ? ` (did you mean "${best}"?)` : '';
}
function readYamlLayer(file, input, origins) {
    const yaml = readYamlFile(file);
    if (yaml.value === undefined)
        return; // an empty file means defaults
    if (typeof yaml.value !== 'object' || Array.isArray(yaml.value)) {
        throw new ConfigError('the top level must be a mapping of settings', { origin: file, line: 1 });
    }
    const baseDir = dirname(file);
    origins.set('', { name: file, baseDir });
    recordOrigins(yaml, yaml.value, [], baseDir, origins);
    Object.assign(input, yaml.value);
}
function recordOrigins(yaml, value, path, baseDir, origins) {
    for (const [key, child] of Object.entries(value)) {
        const childPath = [...path, key];
        origins.set(childPath.join('.'), { name: yaml.file, line: yaml.lineOf(childPath), baseDir });
        if (child && typeof child === 'object' && !Array.isArray(child))
            recordOrigins(yaml, child, childPath, baseDir, origins);
    }
}
function parseEnvValue(option, raw, origin) {
    switch (option.kind) {
        case 'number':
            return parseNumber(raw);
        case 'boolean':
            return parseBoolean(raw, origin.name);
        case 'list':
            return splitList(raw);
        case 'map':
            try {
                return JSON.parse(raw);
            }
            catch {
                throw new ConfigError('must be a JSON object, e.g. {"X-Frame-Options":"DENY"}', { origin: origin.name });
            }
        default:
            return raw;
    }
}
function parseFlagValue(option, raw, origin) {
    const values = Array.isArray(raw) ? raw : [raw];
    switch (option.kind) {
        case 'number':
            return parseNumber(String(values[values.length - 1]));
        case 'boolean':
            return typeof raw === 'boolean' ? raw : parseBoolean(String(raw), origin.name);
        case 'list':
            return values.flatMap((value) => splitList(String(value)));
        case 'map':
            return Object.fromEntries(values.map((value) => {
                const text = String(value);
                const index = text.indexOf('=');
                if (index <= 0)
                    throw new ConfigError('must be NAME=VALUE, e.g. X-Frame-Options=DENY', { origin: origin.name });
                return [text.slice(0, index), text.slice(index + 1)];
            }));
        default:
            return String(values[values.length - 1]);
    }
}
/** Leaves non-numbers as strings, so the schema reports them with the key. */
const parseNumber = (raw) => (/^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : raw);
function parseBoolean(raw, originName) {
    const value = raw.trim().toLowerCase();
    if (value === 'true' || value === '1')
        return true;
    if (value === 'false' || value === '0')
        return false;
    throw new ConfigError('must be true or false', { origin: originName });
}
const splitList = (raw) => raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
function setPath(target, path, value) {
    let node = target;
    for (const segment of path.slice(0, -1)) {
        const next = node[segment];
        if (!next || typeof next !== 'object' || Array.isArray(next))
            node[segment] = {};
        node = node[segment];
    }
    node[path[path.length - 1]] = value;
}
function getPath(target, path) {
    let node = target;
    for (const segment of path) {
        if (!node || typeof node !== 'object')
            return undefined;
        node = node[segment];
    }
    return node;
}
//# sourceMappingURL=load.js.map