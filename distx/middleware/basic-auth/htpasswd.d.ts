export type HashScheme = 'bcrypt' | 'apr1' | 'sha1' | 'ssha' | 'crypt' | 'plain';
export interface PasswordEntry {
    scheme: HashScheme;
    /** The stored value without any {SCHEME} prefix. */
    hash: string;
}
export interface ParsedHtpasswd {
    users: Map<string, PasswordEntry>;
    /** Lines worth a startup warning (weak schemes), by line number. */
    warnings: string[];
}
export interface ParseOptions {
    /** Accept {PLAIN} and unprefixed plain-text passwords (htpasswd -p). Off by default. */
    allowPlaintext: boolean;
}
export declare function parseHtpasswd(text: string, file: string, options: ParseOptions): ParsedHtpasswd;
/** The scheme of one stored password value, or undefined when it is not one we accept. */
export declare function classifyPasswordHash(value: string, options: ParseOptions): PasswordEntry | undefined;
