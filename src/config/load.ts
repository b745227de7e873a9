// Builds the validated Config from defaults < YAML file < env vars < flags, remembering where each
// value came from so that any error names the file and line, env var or flag that set it.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, didYouMean } from '../errors.ts';
import { CONFIG_FILE_ENV, ENV_PREFIX, knownKeysAt, OPTIONS, type OptionSpec } from './options.ts';
import { configSchema, type Config, type ConfigInput } from './schema.ts';
import { readYamlFile, type YamlFile } from './yaml-file.ts';

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface LoadConfigOptions {
  /** Flag values keyed by flag name without dashes (`upstream.url`), as the CLI parsed them. */
  flags?: FlagValues;
  /** Environment; only `PROMGATE_*` variables are read. */
  env?: Record<string, string | undefined>;
  /** YAML config file (`--config.file`); overrides `PROMGATE_CONFIG_FILE`. */
  configFile?: string;
  /** Folder relative paths given by flags or env are resolved against. */
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  configFile: string | undefined;
  /** Things worth a log line that are not errors (e.g. unknown PROMGATE_* variables). */
  warnings: string[];
  /**
   * Places an error found later (building the gateway) where its key was set: a ConfigError
   * that names only a key gets the file and line, env var or flag; anything else is returned as is.
   */
  locate(error: unknown): unknown;
}

interface Origin {
  name: string;
  line?: number;
  /** Folder that relative paths set here are resolved against. */
  baseDir: string;
}

type PlainObject = Record<string, unknown>;

/** Path-valued settings; relative values resolve against the file (or cwd) that set them. */
const PATH_KEYS = ['tls.certFile', 'tls.keyFile', 'auth.htpasswdFile', 'web.config.file'];

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const input: PlainObject = {};
  const origins = new Map<string, Origin>();
  const warnings: string[] = [];

  const configFile = options.configFile ?? env[CONFIG_FILE_ENV];
  if (configFile) {
    const file = resolve(cwd, configFile);
    readYamlLayer(file, input, origins);
  }

  for (const name of Object.keys(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV) continue;
    const option = OPTIONS.find((candidate) => candidate.env === name);
    // Kubernetes injects PROMGATE_SERVICE_HOST & co. for a Service named promgate: warn, don't fail.
    if (!option)
      warnings.push(
        `ignoring unknown environment variable ${name}${didYouMean(
          name,
          OPTIONS.map((o) => o.env),
        )}`,
      );
  }
  for (const option of OPTIONS) {
    const raw = env[option.env];
    if (raw === undefined) continue;
    if (option.fileOnly)
      throw new ConfigError(`${option.key} can only be set in the config file`, { origin: option.env });
    const origin = { name: option.env, baseDir: cwd };
    setPath(input, option.path, parseEnvValue(option, raw, origin));
    origins.set(option.key, origin);
  }

  for (const option of OPTIONS) {
    const raw = options.flags?.[option.flag];
    if (raw === undefined) continue;
    const origin = { name: `--${option.flag}`, baseDir: cwd };
    setPath(input, option.path, parseFlagValue(option, raw, origin));
    origins.set(option.key, origin);
  }

  // Plugin modules given as paths are relative to the config file (package names stay as they are).
  const pluginsOrigin = origins.get('plugins');
  if (Array.isArray(input.plugins) && pluginsOrigin) {
    for (const plugin of input.plugins as Array<{ module?: unknown }>) {
      if (typeof plugin?.module === 'string' && /^\.\.?\//.test(plugin.module))
        plugin.module = resolve(pluginsOrigin.baseDir, plugin.module);
    }
  }

  for (const key of PATH_KEYS) {
    const path = key.split('.');
    const value = getPath(input, path);
    const origin = origins.get(key);
    if (typeof value === 'string' && origin && !isAbsolute(value)) setPath(input, path, resolve(origin.baseDir, value));
  }

  const config = validate(input, origins);
  return {
    config,
    configFile: configFile ? resolve(cwd, configFile) : undefined,
    warnings,
    locate: (error) => locateError(error, origins),
  };
}

function locateError(error: unknown, origins: Map<string, Origin>): unknown {
  if (!(error instanceof ConfigError)) return error;
  const problems = error.problems.map((problem) => {
    if (problem.origin || !problem.key) return problem;
    const origin = findOrigin(origins, problem.key.split('.'));
    return origin
      ? new ConfigError(problem.problem, { key: problem.key, origin: origin.name, line: origin.line })
      : problem;
  });
  return problems.every((problem, index) => problem === error.problems[index]) ? error : ConfigError.all(problems);
}

/** Validates library options the same way as a config file, with errors naming the key. */
export function validateConfig(input: ConfigInput, originName = 'options'): Config {
  return validate(input as PlainObject, new Map([['', { name: originName, baseDir: process.cwd() }]]));
}

function validate(input: PlainObject, origins: Map<string, Origin>): Config {
  const result = configSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => issueToErrors(issue, input, origins));
  // In file order, so the lines read top to bottom.
  const lineOf = (error: ConfigError) => error.line ?? Number.MAX_SAFE_INTEGER;
  problems.sort((a, b) => lineOf(a) - lineOf(b));
  throw problems.length > 0 ? ConfigError.all(problems) : new ConfigError('invalid configuration');
}

function issueToErrors(issue: z.core.$ZodIssue, input: PlainObject, origins: Map<string, Origin>): ConfigError[] {
  const path = issue.path.map(String);
  const at = (fullPath: string[], message: string) => {
    const origin = findOrigin(origins, fullPath);
    return new ConfigError(message, { key: fullPath.join('.') || undefined, origin: origin?.name, line: origin?.line });
  };
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((unknown) => at([...path, unknown], `unknown key${didYouMean(unknown, knownKeysAt(path))}`));
  }
  return [at(path, describeIssue(issue, input))];
}

const EXPECTED_KIND: Record<string, string> = {
  string: 'text',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of settings',
  record: 'a mapping',
};

/** zod's message, or one that says what belongs there and what was found instead. */
function describeIssue(issue: z.core.$ZodIssue, input: PlainObject): string {
  const got = 'input' in issue ? issue.input : undefined;
  if (issue.code === 'invalid_type') {
    if (got === null) return 'has no value: give it one, or remove the key';
    if (got === undefined) return `is required (${EXPECTED_KIND[issue.expected] ?? issue.expected})`;
    switch (issue.expected) {
      case 'string':
        return `${formatAsString(issue.path, got, input)} (got the ${typeof got} ${String(got)})`;
      case 'number':
        return `must be a number (got ${describeValue(got)})`;
      case 'boolean':
        return `must be true or false (got ${describeValue(got)})`;
      case 'array':
        return `must be a list (got ${describeValue(got)})`;
      case 'object':
      case 'record':
        return `must be a mapping of settings (got ${describeValue(got)})`;
    }
  }
  if (
    issue.code === 'invalid_value' &&
    typeof got === 'string' &&
    issue.values.every((value) => typeof value === 'string')
  ) {
    const allowed = issue.values as string[];
    return `must be one of ${allowed.join(', ')}, not "${got}"${didYouMean(got, allowed)}`;
  }
  // A record key that breaks its rule: say the rule (zod's own message is "Invalid key in record").
  if (issue.code === 'invalid_key' && issue.issues[0]) return `key ${issue.issues[0].message}`;
  return issue.message;
}

/**
 * What a string setting wants, for a number or boolean given in its place (YAML reads 8443 and
 * true as such): the setting's own rule when the value as text breaks it too, else to quote it.
 */
function formatAsString(path: readonly PropertyKey[], value: unknown, input: PlainObject): string {
  const asText = structuredClone(input);
  setPath(asText, path.map(String), String(value));
  const result = configSchema.safeParse(asText);
  const rule = result.success
    ? undefined
    : result.error.issues.find((issue) => issue.path.join('.') === path.join('.'));
  return rule ? rule.message : `must be text: quote it, e.g. "${String(value)}"`;
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'a mapping';
  return typeof value === 'string' ? `the text "${value}"` : `the ${typeof value} ${String(value)}`;
}

function findOrigin(origins: Map<string, Origin>, path: string[]): Origin | undefined {
  for (let length = path.length; length >= 0; length--) {
    const origin = origins.get(path.slice(0, length).join('.'));
    if (origin) return origin;
  }
  return undefined;
}

function readYamlLayer(file: string, input: PlainObject, origins: Map<string, Origin>): void {
  const yaml = readYamlFile(file);
  if (yaml.value === undefined) return; // an empty file means defaults
  if (typeof yaml.value !== 'object' || Array.isArray(yaml.value)) {
    throw new ConfigError('the top level must be a mapping of settings', { origin: file, line: 1 });
  }
  const baseDir = dirname(file);
  origins.set('', { name: file, baseDir });
  recordOrigins(yaml, yaml.value as PlainObject, [], baseDir, origins);
  Object.assign(input, yaml.value);
}

/** Every key and list item of the file, by dotted path, so any error below can name its line. */
function recordOrigins(
  yaml: YamlFile,
  value: PlainObject | unknown[],
  path: (string | number)[],
  baseDir: string,
  origins: Map<string, Origin>,
): void {
  const entries: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((child, index) => [index, child])
    : Object.entries(value);
  for (const [key, child] of entries) {
    const childPath = [...path, key];
    origins.set(childPath.join('.'), { name: yaml.file, line: yaml.lineOf(childPath), baseDir });
    if (child && typeof child === 'object')
      recordOrigins(yaml, child as PlainObject | unknown[], childPath, baseDir, origins);
  }
}

function parseEnvValue(option: OptionSpec, raw: string, origin: Origin): unknown {
  switch (option.kind) {
    case 'number':
      return parseNumber(raw);
    case 'boolean':
      return parseBoolean(raw, origin.name);
    case 'list':
      return splitList(raw);
    case 'map':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new ConfigError('must be a JSON object, e.g. {"X-Frame-Options":"DENY"}', { origin: origin.name });
      }
    default:
      return raw;
  }
}

function parseFlagValue(option: OptionSpec, raw: string | boolean | string[], origin: Origin): unknown {
  const values = Array.isArray(raw) ? raw : [raw];
  switch (option.kind) {
    case 'number':
      return parseNumber(String(values[values.length - 1]));
    case 'boolean':
      return typeof raw === 'boolean' ? raw : parseBoolean(String(raw), origin.name);
    case 'list':
      return values.flatMap((value) => splitList(String(value)));
    case 'map':
      return Object.fromEntries(
        values.map((value) => {
          const text = String(value);
          const index = text.indexOf('=');
          if (index <= 0)
            throw new ConfigError('must be NAME=VALUE, e.g. X-Frame-Options=DENY', { origin: origin.name });
          return [text.slice(0, index), text.slice(index + 1)];
        }),
      );
    default:
      return String(values[values.length - 1]);
  }
}

/** Leaves non-numbers as strings, so the schema reports them with the key. */
const parseNumber = (raw: string): unknown => (/^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : raw);

function parseBoolean(raw: string, originName: string): boolean {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError('must be true or false', { origin: originName });
}

const splitList = (raw: string) =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

function setPath(target: PlainObject, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (!next || typeof next !== 'object' || Array.isArray(next)) node[segment] = {};
    node = node[segment] as PlainObject;
  }
  node[path[path.length - 1]!] = value;
}

function getPath(target: PlainObject, path: readonly string[]): unknown {
  let node: unknown = target;
  for (const segment of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as PlainObject)[segment];
  }
  return node;
}
