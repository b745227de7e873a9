import type { Request, RequestHandler } from 'express';
import type { Logger } from '../../src/logger.ts';
import '../../src/request-state.ts';
import type { PasswordEntry } from './htpasswd.ts';
export interface BasicAuthOptions {
    /** Apache .htpasswd file, followed for changes. */
    htpasswdFile?: string | undefined;
    /** Fixed users, e.g. basic_auth_users of Prometheus's web config (bcrypt). */
    staticUsers?: ReadonlyMap<string, PasswordEntry> | undefined;
    /** Where the fixed users come from, for the duplicate-user error. */
    staticUsersSource?: string | undefined;
    realm: string;
    allowPlaintext: boolean;
    cacheSize: number;
    cacheTtlMs: number;
    /** Paths below the base path that skip auth: exact, or a prefix when ending in `*`. */
    unauthenticatedPaths: readonly string[];
    logger: Logger;
    checkIntervalMs?: number;
    /** Counts refused requests by reason (self-metrics). */
    onFailure?: (reason: string) => void;
    /** Told of every htpasswd reload attempt after the first load (self-metrics). */
    onReloadResult?: (ok: boolean) => void;
}
export interface BasicAuthStage {
    handle: RequestHandler;
    /**
     * Whether the request's credentials are already known to be right (accepted on its connection,
     * or in the cache): the failed-login limits let those through, so an attacker guessing one
     * user's password cannot lock that user out where they are already logged in.
     */
    knownGood(req: Request): boolean;
    /** The user the request's credentials name when they are right; no answer is sent. */
    identify(req: Request): Promise<string | undefined>;
    /** Validates new fixed users (a reloaded web config's) and returns the function that applies them. */
    prepareStaticUsers(users: ReadonlyMap<string, PasswordEntry>): () => void;
    close(): void;
}
export declare function createBasicAuthStage(options: BasicAuthOptions): BasicAuthStage;
/** The user and password of a `Basic` Authorization header, as express-basic-auth reads them. */
export declare function parseBasicCredentials(authorization: string): {
    user: string;
    password: string;
} | undefined;
