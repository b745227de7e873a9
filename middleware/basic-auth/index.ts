// Basic auth as one authenticator: htpasswd users (reloaded) and fixed users, checked by our
// verifier (cached bcrypt, a timing-safe unknown-user path). The authentication stage decides what
// a refusal answers; this module only says who the credentials name, or why not.
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { ConfigError } from '../../src/kernel/errors.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import { credentialsOf, type Authenticator, type Identity, type Refusal } from '../../src/kernel/request-state.ts';
import { watchHtpasswdFile } from './htpasswd-file.ts';
import type { PasswordEntry } from './htpasswd.ts';
import { weakUsersWarning } from './strength.ts';
import { createVerifier, type VerifyResult } from './verifier.ts';

export interface BasicAuthOptions {
  /** Apache .htpasswd file, followed for changes. */
  htpasswdFile?: string | undefined;
  /** Fixed users, e.g. basic_auth_users of Prometheus's web config (bcrypt). */
  staticUsers?: ReadonlyMap<string, PasswordEntry> | undefined;
  /** Where the fixed users come from, for the duplicate-user error. */
  staticUsersSource?: string | undefined;
  allowPlaintext: boolean;
  cacheSize: number;
  cacheTtlMs: number;
  logger: Logger;
  checkIntervalMs?: number;
  /** Told of every htpasswd reload attempt after the first load (self-metrics). */
  onReloadResult?: (ok: boolean) => void;
}

export interface BasicAuthenticator extends Authenticator {
  readonly method: 'basic';
  /**
   * Whether the failed-login limits let the request through: its credentials are known to be right
   * (accepted on its connection, or in the cache), so an attacker guessing one user's password
   * cannot lock that user out where they are already logged in; or exactly these credentials are
   * being checked now, so a burst of one client's requests after a restart is one attempt (a
   * repeated guess adds no guessing power and no check: it joins the running one).
   */
  sparedFromFailedLoginLimits(req: IncomingMessage): boolean;
  /** These users, for a caller that checks credentials itself (the landing page). */
  readonly users: UserTable;
  /** Validates new fixed users (a reloaded web config's) and returns the function that applies them. */
  prepareStaticUsers(users: ReadonlyMap<string, PasswordEntry>): () => void;
  /** Begins following the htpasswd file (building reads it once and follows nothing). */
  start(): void;
  close(): void;
}

export interface UserTable {
  /** Equal for authenticators built from the same htpasswd file and fixed users: they hold the same users. */
  readonly key: string;
  /** Never rejects: a check that fails to run is logged and counts as a wrong password. */
  verify(user: string, password: string): Promise<VerifyResult>;
  /** A cache hit: these credentials passed recently. */
  isKnownGood(user: string, password: string): boolean;
  /** Whether the name is in the table; answers nothing a caller without the password may learn. */
  knows(user: string): boolean;
}

/** A Basic header that does not decode to user:password counts as no credentials, as it always did. */
const UNREADABLE: Refusal = Object.freeze({ refused: 'missing_credentials' });
const NO_GROUPS: readonly string[] = Object.freeze([]);

interface Accepted {
  authorization: string;
  entry: PasswordEntry;
  identity: Identity;
}

export function createBasicAuthenticator(options: BasicAuthOptions): BasicAuthenticator {
  const { logger } = options;
  const source = userSource(options, (users) => verifier.setUsers(users));
  const verifier = createVerifier(source.users(), { cacheSize: options.cacheSize, cacheTtlMs: options.cacheTtlMs });
  const verify = (user: string, password: string): Promise<VerifyResult> =>
    verifier.verify(user, password).catch((error: unknown) => {
      logger.error({ error: error instanceof Error ? error.message : String(error) }, 'password check failed');
      return 'wrong_password';
    });
  // The last Authorization value that succeeded on each connection. A keep-alive client repeats
  // it on every request; recognising it skips hashing and the cache (~10 us, ~10% req/s).
  // It lives with the socket, and the user's current entry is re-checked, so reloads apply at once.
  const acceptedOnConnection = new WeakMap<Socket, Accepted>();
  const acceptedNow = (req: IncomingMessage): Accepted | undefined => {
    const authorization = req.headers.authorization;
    const accepted = authorization === undefined ? undefined : acceptedOnConnection.get(req.socket);
    // Constant time: a proxy in front may carry several users' requests on one connection.
    return accepted &&
      sameSecret(accepted.authorization, authorization!) &&
      source.users().get(accepted.identity.user) === accepted.entry
      ? accepted
      : undefined;
  };

  return {
    method: 'basic',
    presents: (req) => credentialsOf(req)?.scheme === 'basic',
    authenticate(req) {
      const accepted = acceptedNow(req);
      if (accepted) return accepted.identity;
      const credentials = credentialsOf(req);
      if (credentials?.user === undefined) return UNREADABLE;
      const { user, password } = credentials;
      const authorization = req.headers.authorization!;
      const usersAtStart = source.users();
      return verify(user, password).then((result): Identity | Refusal => {
        if (result !== 'ok') return { refused: result, claimed: user };
        const identity: Identity = { user, groups: NO_GROUPS, method: 'basic' };
        // Remember only if no reload happened while the check ran: the password was checked
        // against the entry of that moment, which a new file may have changed.
        const entry = source.users() !== usersAtStart ? undefined : usersAtStart.get(user);
        if (entry) acceptedOnConnection.set(req.socket, { authorization, entry, identity });
        return identity;
      });
    },
    users: {
      key: usersKey(options),
      verify,
      isKnownGood: (user, password) => verifier.isKnownGood(user, password),
      knows: (user) => verifier.knows(user),
    },
    sparedFromFailedLoginLimits(req) {
      if (acceptedNow(req)) return true;
      const credentials = credentialsOf(req);
      return (
        credentials?.user !== undefined &&
        (verifier.isKnownGood(credentials.user, credentials.password) ||
          verifier.isBeingChecked(credentials.user, credentials.password))
      );
    },
    prepareStaticUsers: (users) => source.prepareFixed(users),
    start: () => source.start(),
    close: () => source.close(),
  };
}

/** Which users a stage holds: its file (by absolute path) and its fixed users, hashed. */
function usersKey(options: BasicAuthOptions): string {
  const fixed = [...(options.staticUsers ?? [])].map(([user, entry]) => [user, entry.scheme, entry.hash]).sort();
  return hash(
    'sha256',
    JSON.stringify([
      options.htpasswdFile === undefined ? null : resolve(options.htpasswdFile),
      options.allowPlaintext,
      fixed,
    ]),
    'base64',
  );
}

interface UserSource {
  /** The users in force: the htpasswd file's and the fixed ones. */
  users(): ReadonlyMap<string, PasswordEntry>;
  /** Checks new fixed users against the file's (a name in both is an error) and returns the swap. */
  prepareFixed(next: ReadonlyMap<string, PasswordEntry>): () => void;
  start(): void;
  close(): void;
}

/** The htpasswd file's users (reloaded) together with the fixed ones; a name in both is an error. */
function userSource(
  options: BasicAuthOptions,
  onChange: (users: ReadonlyMap<string, PasswordEntry>) => void,
): UserSource {
  let fixed: ReadonlyMap<string, PasswordEntry> = options.staticUsers ?? new Map();
  const warnWeak = (users: ReadonlyMap<string, PasswordEntry>) => {
    const weak = weakUsersWarning(users, options.staticUsersSource ?? 'the web config file');
    if (weak) options.logger.warn({ users: weak.users }, weak.message);
  };
  warnWeak(fixed);
  let fromFile: ReadonlyMap<string, PasswordEntry> = new Map();
  const file = options.htpasswdFile;
  const merge = (fixedUsers: ReadonlyMap<string, PasswordEntry>, fileUsers: ReadonlyMap<string, PasswordEntry>) => {
    const both = new Map(fixedUsers);
    for (const [user, entry] of fileUsers) {
      if (both.has(user))
        throw new ConfigError(
          `user "${user}" is also in ${options.staticUsersSource ?? 'the web config file'}; keep one`,
          { origin: file },
        );
      both.set(user, entry);
    }
    return both;
  };
  let merged = fixed;
  let pendingFileUsers = fromFile;
  const watched = file
    ? watchHtpasswdFile(file, {
        allowPlaintext: options.allowPlaintext,
        logger: options.logger,
        checkIntervalMs: options.checkIntervalMs,
        onReloadResult: options.onReloadResult,
        combine: (fileUsers) => {
          const both = merge(fixed, fileUsers);
          pendingFileUsers = fileUsers;
          return both;
        },
        onReload: (users) => {
          fromFile = pendingFileUsers;
          merged = users;
          onChange(users);
        },
      })
    : undefined;
  if (watched) {
    fromFile = pendingFileUsers;
    merged = watched.users();
  }
  return {
    users: () => merged,
    prepareFixed(next) {
      if (!file && next.size === 0)
        throw new ConfigError('all basic_auth_users were removed: turning authentication off needs a restart');
      const both = merge(next, fromFile);
      return () => {
        warnWeak(next);
        fixed = next;
        merged = both;
        onChange(both);
      };
    },
    start: () => watched?.start(),
    close: () => watched?.close(),
  };
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
