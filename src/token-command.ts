// `promgate token create`: a new API token for a machine. Its line (name, digest, expiry, groups)
// is appended to the tokens file, created with mode 0600 and never rewritten; the token itself is
// printed once and stored nowhere.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { generateToken, tokenDigest } from '../middleware/api-tokens/token.ts';
import { formatTokenLine, parseTokensFile } from '../middleware/api-tokens/tokens-file.ts';
import { ConfigError, fileErrorReason } from './errors.ts';

export interface CreateTokenOptions {
  name: string;
  file: string;
  /** `90d`, `12h`, `2w`, or an RFC 3339 time; undefined: the token never expires. */
  expires?: string | undefined;
  groups?: readonly string[] | undefined;
  /** For tests: what "now" is when --expires is a duration. */
  now?: number;
}

export interface CreatedToken {
  token: string;
  line: string;
  /** Set when an existing file was readable by others than its owner. */
  warning?: string | undefined;
}

const DURATION = /^(\d+)(h|d|w)$/;
const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** Checks everything before touching the file, then appends one line and returns the token. */
export function createToken(options: CreateTokenOptions): CreatedToken {
  const { name, file } = options;
  // A line starting with # is a comment: such a name would make a token that never works.
  if (!/^[^:\s#][^:\s]*$/.test(name))
    throw new ConfigError('--name must be non-empty, without ":" or spaces, and not start with "#"');
  const groups = options.groups ?? [];
  for (const group of groups)
    if (!/^[^\s,]+$/.test(group)) throw new ConfigError('--group must be a name without commas or spaces');
  const expiresAt = options.expires === undefined ? undefined : expiryOf(options.expires, options.now ?? Date.now());
  const token = generateToken();
  const line = formatTokenLine({ name, digest: tokenDigest(token), expiresAt, groups });
  if (!parseTokensFile(line, 'the new line').has(tokenDigest(token)))
    throw new Error('the new line does not read back'); // the gateway must read what is written
  let fd: number;
  try {
    // Mode applies when the file is created; an existing file keeps its own (warned below).
    fd = openSync(file, 'a+', 0o600);
  } catch (error) {
    throw new ConfigError(`cannot write the tokens file: ${fileErrorReason(error)}`, { origin: file });
  }
  try {
    const stats = fstatSync(fd);
    const warning =
      (stats.mode & 0o077) !== 0
        ? `${file} is readable by others (mode ${(stats.mode & 0o777).toString(8)}); chmod 600 it`
        : undefined;
    // Never leave the new line glued to a last line without its newline.
    const needsNewline = stats.size > 0 && lastByte(fd, stats.size) !== 0x0a;
    writeSync(fd, `${needsNewline ? '\n' : ''}${line}\n`);
    return { token, line, warning };
  } catch (error) {
    throw new ConfigError(`cannot write the tokens file: ${fileErrorReason(error)}`, { origin: file });
  } finally {
    closeSync(fd);
  }
}

function expiryOf(value: string, now: number): number {
  const duration = DURATION.exec(value);
  if (duration) {
    const amount = Number(duration[1]);
    // Whole seconds: the line stays short and reads like the times people write.
    if (amount > 0) return Math.floor(now / 1000) * 1000 + amount * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
  }
  if (TIMESTAMP.test(value)) {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) {
      if (at <= now) throw new ConfigError(`--expires ${value} is in the past`);
      return at;
    }
  }
  throw new ConfigError(
    `--expires must be a duration such as 90d, 12h or 2w, or a time such as 2027-03-01T00:00:00Z; got "${value}"`,
  );
}

function lastByte(fd: number, size: number): number {
  const buffer = Buffer.alloc(1);
  readSync(fd, buffer, 0, 1, size - 1);
  return buffer[0]!;
}
