// .htpasswd files written by the real Apache `htpasswd` (Debian apache2-utils), as users make them.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** htpasswd flags: -B bcrypt, -m apr1 MD5, -s {SHA}, -d DES crypt, -p plain text. */
export type HtpasswdFlag = '-B' | '-m' | '-s' | '-d' | '-p';

export interface HtpasswdUser {
  user: string;
  password: string;
  flag: HtpasswdFlag;
}

export function writeHtpasswd(
  users: HtpasswdUser[],
  file = join(mkdtempSync(join(tmpdir(), 'promgate-htpasswd-')), '.htpasswd'),
): string {
  writeFileSync(file, '# made by htpasswd for a test\n\n');
  for (const { user, password, flag } of users) {
    const args = flag === '-B' ? ['-bB', '-C', '10'] : [`-b${flag.slice(1)}`];
    execFileSync('htpasswd', [...args, file, user, password], { stdio: 'ignore' });
  }
  return file;
}

/** An OpenLDAP-style {SSHA} line (htpasswd cannot write these). */
export function appendSshaUser(file: string, user: string, password: string): void {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  appendFileSync(file, `${user}:{SSHA}${Buffer.concat([digest, salt]).toString('base64')}\n`);
}
