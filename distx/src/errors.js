/** A problem the user can fix in their configuration or files; printed as one line. */
export class ConfigError extends Error {
    name = 'ConfigError';
    key;
    origin;
    line;
    constructor(message, source = {}) {
        const where = [source.origin && (source.line ? `${source.origin}:${source.line}` : source.origin), source.key]
            .filter(Boolean)
            .join(': ');
        super(where ? `${where}: ${message}` : message);
        this.key = source.key;
        this.origin = source.origin;
        this.line = source.line;
    }
}
export function errorMessage(error) {
    return error instanceof Error ? error.message : String(error);
}
/** Why a file could not be read, in words a user acts on ("file does not exist" for ENOENT). */
export function fileErrorReason(error) {
    return error?.code === 'ENOENT' ? 'file does not exist' : errorMessage(error);
}
//# sourceMappingURL=errors.js.map