import type { Logger } from '../../src/logger.ts';
import { type ParseOptions, type PasswordEntry } from './htpasswd.ts';
export interface HtpasswdFile {
    readonly file: string;
    users(): ReadonlyMap<string, PasswordEntry>;
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
/** Loads the file now (a ConfigError if it cannot), then follows its changes. */
export declare function watchHtpasswdFile(file: string, options: HtpasswdFileOptions): HtpasswdFile;
