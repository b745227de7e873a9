// How much work checking a password hash costs, and which hashes are weak. The verifier uses the
// first to make an unknown user cost what the most expensive user costs; loading uses the second
// to warn, naming users but never hashes.
import { randomBytes, randomInt } from 'node:crypto';
import type { PasswordEntry } from './htpasswd.ts';

/** The lowest bcrypt cost not reported as weak (what `promgate hash-password` writes). */
export const MIN_STRONG_BCRYPT_COST = 10;

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Orders entries by the work one check takes: bcrypt by its cost, above every other scheme. */
export function checkWork(entry: PasswordEntry): number {
  switch (entry.scheme) {
    case 'bcrypt':
      return 100 + bcryptCost(entry.hash);
    case 'apr1':
      return 3; // 1000 rounds of MD5
    case 'crypt':
      return 2; // 25 rounds of DES
    case 'sha1':
    case 'ssha':
      return 1;
    case 'plain':
      return 0;
  }
}

/** The cost field of a bcrypt hash (`$2y$10$...` is 10). */
export function bcryptCost(hash: string): number {
  return Number(hash.slice(4, 6));
}

/** An entry among `users` whose check takes the most work, or undefined when there are none. */
export function mostExpensiveEntry(users: Iterable<PasswordEntry>): PasswordEntry | undefined {
  let most: PasswordEntry | undefined;
  for (const entry of users) if (!most || checkWork(entry) > checkWork(most)) most = entry;
  return most;
}

/**
 * A fresh entry of the same scheme and cost with a random salt and digest: checking any password
 * against it does the same work as against `entry`, matches nothing, and involves no user's hash.
 */
export function dummyEntryLike(entry: PasswordEntry): PasswordEntry {
  const random = (length: number) => Array.from({ length }, () => BCRYPT_ALPHABET[randomInt(64)]).join('');
  switch (entry.scheme) {
    case 'bcrypt':
      return { scheme: 'bcrypt', hash: `$2b$${String(bcryptCost(entry.hash)).padStart(2, '0')}$${random(53)}` };
    case 'apr1':
      return { scheme: 'apr1', hash: `$apr1$${random(8)}$${random(22)}` };
    case 'crypt':
      return { scheme: 'crypt', hash: random(13) };
    case 'sha1':
      return { scheme: 'sha1', hash: randomBytes(20).toString('base64') };
    case 'ssha':
      return { scheme: 'ssha', hash: randomBytes(28).toString('base64') };
    case 'plain':
      return { scheme: 'plain', hash: randomBytes(16).toString('base64') };
  }
}

/** Why a stolen copy of this hash is quick to crack, or undefined when it is bcrypt of cost 10 or more. */
export function weakness(entry: PasswordEntry): string | undefined {
  switch (entry.scheme) {
    case 'bcrypt': {
      const cost = bcryptCost(entry.hash);
      return cost < MIN_STRONG_BCRYPT_COST ? `bcrypt cost ${cost}` : undefined;
    }
    case 'apr1':
      return 'apr1 MD5';
    case 'sha1':
      return '{SHA} unsalted SHA-1';
    case 'ssha':
      return '{SSHA} salted SHA-1';
    case 'crypt':
      return 'DES crypt, which checks only 8 characters';
    case 'plain':
      return 'plain text';
  }
}

/** One warning naming the users with weak hashes in `source`, or undefined when there are none. */
export function weakUsersWarning(
  users: ReadonlyMap<string, PasswordEntry>,
  source: string,
): { users: string[]; message: string } | undefined {
  const weak: Array<[string, string]> = [];
  for (const [user, entry] of users) {
    const reason = weakness(entry);
    if (reason) weak.push([user, reason]);
  }
  if (weak.length === 0) return undefined;
  const list = weak.map(([user, reason]) => `"${user}" (${reason})`).join(', ');
  return {
    users: weak.map(([user]) => user),
    message: `${source}: ${weak.length === 1 ? 'a password hash is' : `${weak.length} password hashes are`} quick to crack if the file leaks: ${list}; rehash with bcrypt cost ${MIN_STRONG_BCRYPT_COST} or more (htpasswd -B -C ${MIN_STRONG_BCRYPT_COST}, or promgate hash-password)`,
  };
}
