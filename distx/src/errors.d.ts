/** Where a bad setting came from, so the error can point at it. */
export interface ConfigErrorSource {
    /** Dotted key path, e.g. `upstream.url`. */
    key?: string;
    /** Config file, flag (`--upstream.url`) or env var (`PROMGATE_UPSTREAM_URL`) that set it. */
    origin?: string;
    /** 1-based line in the config file. */
    line?: number;
}
/** A problem the user can fix in their configuration or files; printed as one line. */
export declare class ConfigError extends Error {
    name: string;
    readonly key: string | undefined;
    readonly origin: string | undefined;
    readonly line: number | undefined;
    constructor(message: string, source?: ConfigErrorSource);
}
export declare function errorMessage(error: unknown): string;
/** Why a file could not be read, in words a user acts on ("file does not exist" for ENOENT). */
export declare function fileErrorReason(error: unknown): string;
