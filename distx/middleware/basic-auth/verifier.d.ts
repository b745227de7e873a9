import type { PasswordEntry } from './htpasswd.ts';
export declare const DEFAULT_CACHE_SIZE = 1024;
export declare const DEFAULT_CACHE_TTL_MS: number;
export type VerifyResult = 'ok' | 'unknown_user' | 'wrong_password';
export interface Verifier {
    verify(user: string, password: string): Promise<VerifyResult>;
    /** True when this user and password passed a check recently (a cache hit; no check runs). */
    isKnownGood(user: string, password: string): boolean;
    /** Swap in a new user table; cached results of the old one are dropped. */
    setUsers(users: ReadonlyMap<string, PasswordEntry>): void;
}
export interface VerifierOptions {
    cacheSize?: number;
    cacheTtlMs?: number;
    /** The password check; tests wrap it to count calls. */
    check?: (entry: PasswordEntry, password: string) => Promise<boolean>;
}
export declare function createVerifier(users: ReadonlyMap<string, PasswordEntry>, options?: VerifierOptions): Verifier;
export declare function checkPassword(entry: PasswordEntry, password: string): Promise<boolean>;
