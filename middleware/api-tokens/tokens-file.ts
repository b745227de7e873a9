// The tokens file: one token per line, `NAME sha256:HEX [expires=TIME] [groups=A,B]`, fields
// separated by spaces; `#` comments and blank lines allowed. It holds digests only, never a
// token. Errors name the file and line but never repeat a field's text: a token pasted by
// mistake must not reach a log.
import { readFileSync } from 'node:fs';
import { API_TOKEN_PREFIX } from '../../src/kernel/api-token.ts';
import { ConfigError, errorMessage, fileErrorReason } from '../../src/kernel/errors.ts';
import { watchFileStamps } from '../../src/kernel/file-stamps.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import type { Identity } from '../../src/kernel/request-state.ts';

/** One line of the file, compiled: the identity is built once and handed out per request. */
export interface TokenEntry {
  readonly identity: Identity;
  /** Epoch milliseconds; undefined: never expires. */
  readonly expiresAt: number | undefined;
  readonly line: number;
}

/** Token digest (hex SHA-256) -> entry. */
export type TokenTable = ReadonlyMap<string, TokenEntry>;

const NAME = /^[^:\s]+$/;
/** A token where its digest belongs (a name may start with the prefix, but is not this long). */
const PASTED_TOKEN = new RegExp(`${API_TOKEN_PREFIX}[0-9A-Za-z]{40}`);
const DIGEST = /^sha256:([0-9a-f]{64})$/;
const GROUP = /^[^\s,]+$/;
/** RFC 3339 with a zone, as `token create` writes it; Date alone would also take local times. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

export function parseTokensFile(text: string, file: string): TokenTable {
  const table = new Map<string, TokenEntry>();
  const problems: ConfigError[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    try {
      const { digest, entry } = parseTokenLine(content, line);
      const earlier = table.get(digest);
      if (earlier) throw new Error(`the same token as line ${earlier.line}`);
      table.set(digest, entry);
    } catch (error) {
      problems.push(new ConfigError(errorMessage(error), { origin: file, line }));
    }
  });
  if (problems.length > 0) throw ConfigError.all(problems);
  return table;
}

function parseTokenLine(content: string, line: number): { digest: string; entry: TokenEntry } {
  const fields = content.split(/[ \t]+/);
  if (fields.some((field) => PASTED_TOKEN.test(field)))
    throw new Error(
      'holds a token itself; the file takes its digest, sha256:HEX (promgate token create writes the line)',
    );
  const [name = '', digestField, ...options] = fields;
  if (!NAME.test(name)) throw new Error('the name (first field) must not contain ":"');
  const digest = digestField === undefined ? undefined : DIGEST.exec(digestField)?.[1];
  if (digest === undefined) throw new Error('the second field must be sha256: and 64 lowercase hex digits');
  let expiresAt: number | undefined;
  let groups: readonly string[] = [];
  const seen = new Set<string>();
  options.forEach((option, index) => {
    const position = index + 3;
    const equals = option.indexOf('=');
    const key = equals < 0 ? '' : option.slice(0, equals);
    const value = option.slice(equals + 1);
    if (key !== 'expires' && key !== 'groups') throw new Error(`field ${position} must be expires=TIME or groups=A,B`);
    if (seen.has(key)) throw new Error(`${key}= is given twice`);
    seen.add(key);
    if (key === 'expires') {
      expiresAt = TIMESTAMP.test(value) ? Date.parse(value) : Number.NaN;
      if (Number.isNaN(expiresAt))
        throw new Error('expires= must be a time such as 2027-03-01T00:00:00Z (RFC 3339, with a zone)');
    } else {
      const list = value.split(',');
      if (!list.every((group) => GROUP.test(group)))
        throw new Error('groups= must be a comma-separated list of names without spaces');
      groups = Object.freeze([...new Set(list)]);
    }
  });
  const identity: Identity = Object.freeze({ user: name, groups, method: 'token' });
  return { digest, entry: { identity, expiresAt, line } };
}

/** A tokens file line, as `promgate token create` appends it. */
export function formatTokenLine(options: {
  name: string;
  digest: string;
  expiresAt?: number | undefined;
  groups?: readonly string[] | undefined;
}): string {
  const fields = [options.name, `sha256:${options.digest}`];
  if (options.expiresAt !== undefined)
    fields.push(`expires=${new Date(options.expiresAt).toISOString().replace(/\.000Z$/, 'Z')}`);
  if (options.groups && options.groups.length > 0) fields.push(`groups=${options.groups.join(',')}`);
  return fields.join(' ');
}

export interface TokensFile {
  readonly file: string;
  tokens(): TokenTable;
  /** Begins following the file; changes since it was loaded count. */
  start(): void;
  close(): void;
}

export interface TokensFileOptions {
  logger: Logger;
  /** Told of every reload attempt after the first load (self-metrics). */
  onReloadResult?: ((ok: boolean) => void) | undefined;
  checkIntervalMs?: number | undefined;
}

/** Loads the file now (a ConfigError if it cannot); follows its changes from `start()` on. */
export function watchTokensFile(file: string, options: TokensFileOptions): TokensFile {
  const { logger } = options;
  let tokens = loadTokensFile(file, logger);
  // Called once per new version of the file, so each bad version is reported once.
  const reload = () => {
    try {
      tokens = loadTokensFile(file, logger);
      logger.info({ file, tokens: tokens.size }, 'reloaded tokens file');
      options.onReloadResult?.(true);
    } catch (error) {
      logger.error({ file }, `${errorMessage(error)}; keeping the previous tokens`);
      options.onReloadResult?.(false);
    }
  };
  const watcher = watchFileStamps([file], reload, options.checkIntervalMs, { deferStart: true });
  return { file, tokens: () => tokens, start: () => watcher.start(), close: () => watcher.close() };
}

function loadTokensFile(file: string, logger: Logger): TokenTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read tokens file: ${fileErrorReason(error)}`, {
      key: 'auth.tokensFile',
      origin: file,
    });
  }
  const tokens = parseTokensFile(text, file);
  const now = Date.now();
  const expired = [...tokens.values()].filter((entry) => entry.expiresAt !== undefined && entry.expiresAt <= now);
  if (expired.length > 0)
    logger.warn(
      { file, lines: expired.map((entry) => entry.line), users: expired.map((entry) => entry.identity.user) },
      'tokens file holds expired tokens; remove their lines',
    );
  return tokens;
}
