export type OptionKind = 'string' | 'number' | 'boolean' | 'list' | 'map';
export interface OptionSpec {
    /** Key path in the config object, e.g. ['upstream', 'url']. */
    path: string[];
    /** Dotted key as written in errors, e.g. `upstream.url`. */
    key: string;
    /** Flag name without dashes, e.g. `upstream.url`, `web.listen-address`. */
    flag: string;
    /** Environment variable, e.g. `PROMGATE_UPSTREAM_URL`. */
    env: string;
    kind: OptionKind;
    description: string;
    default: unknown;
    /** Structured values (e.g. access-control roles): set in the config file only, no flag or env var. */
    fileOnly: boolean;
}
export declare const ENV_PREFIX = "PROMGATE_";
export declare const CONFIG_FILE_FLAG = "config.file";
export declare const CONFIG_FILE_ENV = "PROMGATE_CONFIG_FILE";
export declare const OPTIONS: readonly OptionSpec[];
/** The keys one level below `path` in the schema, for "did you mean" hints. */
export declare function knownKeysAt(path: readonly (string | number)[]): string[];
