import { type Config, type ConfigInput } from './schema.ts';
export type FlagValues = Record<string, string | boolean | string[] | undefined>;
export interface LoadConfigOptions {
    /** Flag values keyed by flag name without dashes (`upstream.url`), as the CLI parsed them. */
    flags?: FlagValues;
    /** Environment; only `PROMGATE_*` variables are read. */
    env?: Record<string, string | undefined>;
    /** YAML config file (`--config.file`); overrides `PROMGATE_CONFIG_FILE`. */
    configFile?: string;
    /** Folder relative paths given by flags or env are resolved against. */
    cwd?: string;
}
export interface LoadedConfig {
    config: Config;
    configFile: string | undefined;
    /** Things worth a log line that are not errors (e.g. unknown PROMGATE_* variables). */
    warnings: string[];
}
export declare function loadConfig(options?: LoadConfigOptions): LoadedConfig;
/** Validates library options the same way as a config file, with errors naming the key. */
export declare function validateConfig(input: ConfigInput, originName?: string): Config;
