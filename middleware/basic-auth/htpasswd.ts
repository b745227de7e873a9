// Parses .htpasswd files as Apache `htpasswd` writes them and nginx accepts them. Errors name the
// file and line, never the hash or a password.
import { ConfigError } from '../../src/kernel/errors.ts';
import { weakUsersWarning } from './strength.ts';

export type HashScheme = 'bcrypt' | 'apr1' | 'sha1' | 'ssha' | 'crypt' | 'plain';

export interface PasswordEntry {
  scheme: HashScheme;
  /** The stored value without any {SCHEME} prefix. */
  hash: string;
}

export interface ParsedHtpasswd {
  users: Map<string, PasswordEntry>;
  /** Worth a warning at each load: the users with weak hashes (never the hashes). */
  warnings: string[];
}

export interface ParseOptions {
  /** Accept {PLAIN} and unprefixed plain-text passwords (htpasswd -p). Off by default. */
  allowPlaintext: boolean;
}

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
const APR1 = /^\$apr1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$/;
const DES_CRYPT = /^[./A-Za-z0-9]{13}$/;
const BASE64 = /^[A-Za-z0-9+/]+=*$/;

export function parseHtpasswd(text: string, file: string, options: ParseOptions): ParsedHtpasswd {
  const users = new Map<string, PasswordEntry>();
  const warnings: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const lineNumber = index + 1;
    if (line === '' || line.startsWith('#')) return;
    const fail = (message: string) => new ConfigError(message, { origin: file, line: lineNumber });
    const colon = line.indexOf(':');
    if (colon <= 0) throw fail('expected user:hash');
    const user = line.slice(0, colon);
    // Apache allows extra :fields after the hash (comments); nginx ignores them too.
    const value = line.slice(colon + 1).split(':')[0] ?? '';
    if (value === '') throw fail(`user "${user}" has no password hash`);
    if (users.has(user)) throw fail(`user "${user}" is listed twice`);
    const entry = classifyPasswordHash(value, options);
    if (!entry) {
      throw fail(
        value.startsWith('$') || value.startsWith('{')
          ? `user "${user}": unsupported hash scheme (use bcrypt: htpasswd -B)`
          : `user "${user}": not a recognized password hash; plain-text passwords need auth.allowPlaintext`,
      );
    }
    users.set(user, entry);
  });
  const weak = weakUsersWarning(users, file);
  if (weak) warnings.push(weak.message);
  return { users, warnings };
}

/** The scheme of one stored password value, or undefined when it is not one we accept. */
export function classifyPasswordHash(value: string, options: ParseOptions): PasswordEntry | undefined {
  if (BCRYPT.test(value)) return { scheme: 'bcrypt', hash: value };
  if (APR1.test(value)) return { scheme: 'apr1', hash: value };
  if (value.startsWith('{SHA}')) {
    const hash = value.slice(5);
    return BASE64.test(hash) && Buffer.from(hash, 'base64').length === 20 ? { scheme: 'sha1', hash } : undefined;
  }
  if (value.startsWith('{SSHA}')) {
    const hash = value.slice(6);
    return BASE64.test(hash) && Buffer.from(hash, 'base64').length > 20 ? { scheme: 'ssha', hash } : undefined;
  }
  if (value.startsWith('{PLAIN}'))
    return options.allowPlaintext ? { scheme: 'plain', hash: value.slice(7) } : undefined;
  if (value.startsWith('$') || value.startsWith('{')) return undefined;
  if (DES_CRYPT.test(value)) return { scheme: 'crypt', hash: value };
  return options.allowPlaintext ? { scheme: 'plain', hash: value } : undefined;
}
