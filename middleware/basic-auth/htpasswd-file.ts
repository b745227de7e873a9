// Keeps the users of an .htpasswd file current: re-read when the file changes (src/kernel/file-stamps.ts:
// renames and Kubernetes-style symlink swaps count, within a second); a file that no longer
// parses keeps the last good users and is reported once.
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage, fileErrorReason } from '../../src/kernel/errors.ts';
import { watchFileStamps } from '../../src/kernel/file-stamps.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import { parseHtpasswd, type ParseOptions, type PasswordEntry } from './htpasswd.ts';

export interface HtpasswdFile {
  readonly file: string;
  users(): ReadonlyMap<string, PasswordEntry>;
  /** Begins following the file; changes since it was loaded count. */
  start(): void;
  close(): void;
}

export interface HtpasswdFileOptions extends ParseOptions {
  logger: Logger;
  /** Called with the new users after a successful reload. */
  onReload?: (users: ReadonlyMap<string, PasswordEntry>) => void;
  /** Told of every reload attempt after the first load (self-metrics). */
  onReloadResult?: (ok: boolean) => void;
  /** Turns the file's users into the table in use (may throw, like a bad line). */
  combine?: (fromFile: Map<string, PasswordEntry>) => Map<string, PasswordEntry>;
  checkIntervalMs?: number;
}

/** Loads the file now (a ConfigError if it cannot); follows its changes from `start()` on. */
export function watchHtpasswdFile(file: string, options: HtpasswdFileOptions): HtpasswdFile {
  const { logger } = options;
  let users = load(file, options);
  // Called once per new version of the file, so each bad version is reported once.
  const reload = () => {
    try {
      users = load(file, options);
      logger.info({ file, users: users.size }, 'reloaded htpasswd file');
      options.onReload?.(users);
      options.onReloadResult?.(true);
    } catch (error) {
      logger.error({ file }, `${errorMessage(error)}; keeping the previous users`);
      options.onReloadResult?.(false);
    }
  };
  const watcher = watchFileStamps([file], reload, options.checkIntervalMs, { deferStart: true });
  return { file, users: () => users, start: () => watcher.start(), close: () => watcher.close() };
}

function load(file: string, options: HtpasswdFileOptions): Map<string, PasswordEntry> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read htpasswd file: ${fileErrorReason(error)}`, {
      key: 'auth.htpasswdFile',
      origin: file,
    });
  }
  const parsed = parseHtpasswd(text, file, options);
  const users = options.combine ? options.combine(parsed.users) : parsed.users;
  for (const warning of parsed.warnings) options.logger.warn({ file }, warning);
  return users;
}
