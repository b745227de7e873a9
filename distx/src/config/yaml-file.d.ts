export interface YamlFile {
    file: string;
    /** The document as plain data; undefined for an empty file. */
    value: unknown;
    /** 1-based line of the key (or sequence item) at `path`, if it is in the file. */
    lineOf(path: readonly (string | number)[]): number | undefined;
}
/** `yaml11` reads booleans like Go's yaml.v2 does (yes/no/on/off), for Prometheus's files. */
export declare function readYamlFile(file: string, what?: string, { yaml11 }?: {
    yaml11?: boolean | undefined;
}): YamlFile;
