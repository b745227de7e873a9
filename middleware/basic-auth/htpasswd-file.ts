// Keeps the users of an .htpasswd file current. The file is re-read when its identity changes
// (inode, size, mtime of what the path resolves to now, so renames and Kubernetes-style symlink
// swaps of the folder count); a file that no longer parses keeps the last good users.
import { readFileSync, statSync, type Stats } from 'node:fs';
import { ConfigError, errorMessage } from '../../src/errors.ts';
import type { Logger } from '../../src/logger.ts';
import { parseHtpasswd, type ParseOptions, type PasswordEntry } from './htpasswd.ts';

/** How often the file is checked; changes are live within this (the issue asks for 2 s). */
export const HTPASSWD_CHECK_INTERVAL_MS = 1000;

export interface HtpasswdFile {
  readonly file: string;
  users(): ReadonlyMap<string, PasswordEntry>;
  /** Re-reads the file if it changed; returns true when new users were taken. */
  refresh(): boolean;
  close(): void;
}

export interface HtpasswdFileOptions extends ParseOptions {
  logger: Logger;
  /** Called with the new users after a successful reload. */
  onReload?: (users: ReadonlyMap<string, PasswordEntry>) => void;
  /** Turns the file's users into the table in use (may throw, like a bad line). */
  combine?: (fromFile: Map<string, PasswordEntry>) => Map<string, PasswordEntry>;
  checkIntervalMs?: number;
}

/** Loads the file now (a ConfigError if it cannot), then follows its changes. */
export function watchHtpasswdFile(file: string, options: HtpasswdFileOptions): HtpasswdFile {
  const { logger } = options;
  let stamp = fileStamp(statOrThrow(file));
  let users = load(file, options);
  let lastError: string | undefined;

  const refresh = (): boolean => {
    let stats: Stats;
    try {
      stats = statSync(file);
    } catch (error) {
      reportOnce(`cannot read ${file}: ${errorMessage(error)}; keeping the previous users`);
      return false;
    }
    const next = fileStamp(stats);
    if (next === stamp) return false;
    try {
      users = load(file, options);
      stamp = next;
      lastError = undefined;
      logger.info({ file, users: users.size }, 'reloaded htpasswd file');
      options.onReload?.(users);
      return true;
    } catch (error) {
      stamp = next; // report this version once, retry when it changes again
      reportOnce(`${errorMessage(error)}; keeping the previous users`);
      return false;
    }
  };
  const reportOnce = (message: string) => {
    if (message === lastError) return;
    lastError = message;
    logger.error({ file }, message);
  };

  const timer = setInterval(refresh, options.checkIntervalMs ?? HTPASSWD_CHECK_INTERVAL_MS);
  timer.unref();
  return { file, users: () => users, refresh, close: () => clearInterval(timer) };
}

function load(file: string, options: HtpasswdFileOptions): Map<string, PasswordEntry> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read htpasswd file: ${errorMessage(error)}`, { key: 'auth.htpasswdFile', origin: file });
  }
  const parsed = parseHtpasswd(text, file, options);
  const users = options.combine ? options.combine(parsed.users) : parsed.users;
  for (const warning of parsed.warnings) options.logger.warn({}, warning);
  return users;
}

function statOrThrow(file: string): Stats {
  try {
    return statSync(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file does not exist' : errorMessage(error);
    throw new ConfigError(`cannot read htpasswd file: ${reason}`, { key: 'auth.htpasswdFile', origin: file });
  }
}

const fileStamp = (stats: Stats) => `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
