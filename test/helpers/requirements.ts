// System binaries the end-to-end tests drive. Missing ones skip those tests locally, but fail them
// under CI=true: a CI run that silently skipped its e2e tests would prove nothing.
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Absolute path of an executable, looked up on PATH unless `name` is already a path. */
export function findCommand(name: string): string | undefined {
  const candidates = isAbsolute(name)
    ? [name]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  return candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * For node:test's `skip` option: false when every command is installed, else the reason to skip.
 * With CI=true a missing command throws instead, so the test file fails.
 */
export function requireCommands(...names: string[]): string | false {
  const missing = names.filter((name) => findCommand(name) === undefined);
  if (missing.length === 0) return false;
  const reason = `needs ${missing.join(', ')} (not installed; on Debian: apt-get install ${missing.map(packageOf).join(' ')})`;
  if (process.env.CI === 'true') throw new Error(`CI=true: end-to-end tests must not be skipped: ${reason}`);
  return reason;
}

/** Debian package of a command, where the names differ. */
const PACKAGES: Record<string, string> = { htpasswd: 'apache2-utils', testssl: 'testssl.sh', script: 'bsdutils' };

function packageOf(command: string): string {
  const name = command.slice(command.lastIndexOf('/') + 1);
  return PACKAGES[name] ?? name;
}
