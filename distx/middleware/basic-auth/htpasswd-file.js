// Keeps the users of an .htpasswd file current: re-read when the file changes (src/file-stamps.ts:
// renames and Kubernetes-style symlink swaps count, within a second); a file that no longer
// parses keeps the last good users and is reported once.
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage, fileErrorReason } from "../../src/errors.js";
import { watchFileStamps } from "../../src/file-stamps.js";
import { parseHtpasswd } from "./htpasswd.js";
/** Loads the file now (a ConfigError if it cannot), then follows its changes. */
export function watchHtpasswdFile(file, options) {
    const { logger } = options;
    let users = load(file, options);
    // Called once per new version of the file, so each bad version is reported once.
    const reload = () => {
        try {
            users = load(file, options);
            logger.info({ file, users: users.size }, 'reloaded htpasswd file');
            options.onReload?.(users);
            options.onReloadResult?.(true);
        }
        catch (error) {
            logger.error({ file }, `${errorMessage(error)}; keeping the previous users`);
            options.onReloadResult?.(false);
        }
    };
    const watcher = watchFileStamps([file], reload, options.checkIntervalMs);
    return { file, users: () => users, close: () => watcher.close() };
}
function load(file, options) {
    let text;
    try {
        text = readFileSync(file, 'utf8');
    }
    catch (error) {
        throw new ConfigError(`cannot read htpasswd file: ${fileErrorReason(error)}`, { key: 'auth.htpasswdFile', origin: file });
    }
    const parsed = parseHtpasswd(text, file, options);
    const users = options.combine ? options.combine(parsed.users) : parsed.users;
    for (const warning of parsed.warnings)
        options.logger.warn({}, warning);
    return users;
}
//# sourceMappingURL=htpasswd-file.js.map