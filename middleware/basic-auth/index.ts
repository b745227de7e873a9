// The basic-auth stage: express-basic-auth asks our verifier (htpasswd users, cached bcrypt) and
// answers 401 with a browser prompt; the user name is handed on as req.promgate.user.
import { hash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import basicAuth from 'express-basic-auth';
import { ConfigError } from '../../src/errors.ts';
import type { Logger } from '../../src/logger.ts';
import '../../src/request-state.ts';
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
   * Whether the failed-login limits let the request through: its credentials are known to be right
   * (accepted on its connection, or in the cache), so an attacker guessing one user's password
   * cannot lock that user out where they are already logged in; or exactly these credentials are
   * being checked now, so a burst of one client's requests after a restart is one attempt (a
   * repeated guess adds no guessing power and no check: it joins the running one).
   */
  sparedFromFailedLoginLimits(req: Request): boolean;
  /** These users, for a caller that checks credentials itself (the landing page). */
  readonly users: UserTable;
  /** Answers 401 with the login prompt, counted and logged as a refused login on the route. */
  refuse(req: Request, res: Response, reason: FailureReason): void;
  /** Validates new fixed users (a reloaded web config's) and returns the function that applies them. */
  prepareStaticUsers(users: ReadonlyMap<string, PasswordEntry>): () => void;
  close(): void;
}

export type FailureReason = 'missing_credentials' | 'unknown_user' | 'wrong_password';

export interface UserTable {
  /** Equal for stages built from the same htpasswd file and fixed users: they hold the same users. */
  readonly key: string;
  /** Never rejects: a check that fails to run is logged and counts as a wrong password. */
  verify(user: string, password: string): Promise<VerifyResult>;
  /** A cache hit: these credentials passed recently. */
  isKnownGood(user: string, password: string): boolean;
  /** Whether the name is in the table; answers nothing a caller without the password may learn. */
  knows(user: string): boolean;
}

/** express-basic-auth leaves the parsed credentials on the request. */
type WithCredentials = Request & { auth?: { user: string; password: string } };

/** Paths whose meaning an upstream could change by normalizing (or a `#`) never skip auth. */
const AMBIGUOUS_PATH = /(^|\/)(\.|%2e){1,2}(\/|$)|\/\/|\\|%2f|%5c|#/i;

export function createBasicAuthStage(options: BasicAuthOptions): BasicAuthStage {
  const { logger } = options;
  const source = userSource(options, (users) => verifier.setUsers(users));
  const verifier = createVerifier(source.users(), { cacheSize: options.cacheSize, cacheTtlMs: options.cacheTtlMs });
  const skipsAuth = compilePathPatterns(options.unauthenticatedPaths);
  const verify = (user: string, password: string): Promise<VerifyResult> =>
    verifier.verify(user, password).catch((error: unknown) => {
      logger.error({ error: error instanceof Error ? error.message : String(error) }, 'password check failed');
      return 'wrong_password';
    });
  const recordFailure = (req: Request, reason: FailureReason, user: string | undefined) => {
    options.onFailure?.(reason);
    // An unknown "user" is often a password typed into the wrong field: it is not logged.
    logger.info({ method: req.method, path: req.path, reason, ...(reason === 'wrong_password' ? { user } : {}) }, 'authentication failed');
  };
  // express-basic-auth writes `Basic realm="<realm>"`; the schema forbids quotes in the realm.
  const realm = `${options.realm}", charset="UTF-8`;
  // The last Authorization value that succeeded on each connection. A keep-alive client repeats
  // it on every request; recognising it skips base64, hashing and the cache (~10 us, ~10% req/s).
  // It lives with the socket, and the user's current entry is re-checked, so reloads apply at once.
  const acceptedOnConnection = new WeakMap<Socket, { authorization: string; user: string; entry: PasswordEntry }>();

  const authenticate = basicAuth({
    challenge: true,
    realm,
    authorizeAsync: true,
    // Its callback must never get an error (it would throw in a promise and crash the process).
    authorizer: (user: string, password: string, callback: (error: null, approved: boolean) => void) => {
      void verify(user, password).then((result) => callback(null, result === 'ok'));
    },
    unauthorizedResponse: (req: WithCredentials) => {
      const reason = !req.auth ? 'missing_credentials' : source.users().has(req.auth.user) ? 'wrong_password' : 'unknown_user';
      recordFailure(req, reason, req.auth?.user);
      req.auth = undefined; // holds the password (assigned, not deleted: delete slows every later access to req)
      if (req.path.startsWith('/api/')) return { status: 'error', errorType: 'unauthorized', error: 'authentication required' };
      req.res?.type('text/plain');
      return '401 Unauthorized\n';
    },
  });

  return {
    handle(req: WithCredentials, res: Response, next: NextFunction) {
      // The raw path, as it is forwarded (req.path drops a `#...` that the upstream would still get).
      if (skipsAuth(rawPath(req.url))) return next();
      const authorization = req.headers.authorization;
      const accepted = authorization === undefined ? undefined : acceptedOnConnection.get(req.socket);
      // Constant time: a proxy in front may carry several users' requests on one connection.
      if (accepted && sameSecret(accepted.authorization, authorization!) && source.users().get(accepted.user) === accepted.entry) {
        setUser(req, accepted.user);
        return next();
      }
      const usersAtStart = source.users();
      authenticate(req, res, (error?: unknown) => {
        if (error) return next(error);
        const user = req.auth?.user;
        req.auth = undefined;
        // Remember only if no reload happened while the check ran: the password was checked
        // against the entry of that moment, which a new file may have changed (found in review).
        const entry = user === undefined || source.users() !== usersAtStart ? undefined : usersAtStart.get(user);
        if (authorization !== undefined && user !== undefined && entry) acceptedOnConnection.set(req.socket, { authorization, user, entry });
        setUser(req, user);
        next();
      });
    },
    users: {
      key: usersKey(options),
      verify,
      isKnownGood: (user, password) => verifier.isKnownGood(user, password),
      knows: (user) => verifier.knows(user),
    },
    refuse(req, res, reason) {
      recordFailure(req, reason, parseBasicCredentials(req.headers.authorization ?? '')?.user);
      const body = '401 Unauthorized\n';
      res.writeHead(401, { 'www-authenticate': `Basic realm="${realm}"`, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
    sparedFromFailedLoginLimits(req) {
      const authorization = req.headers.authorization;
      if (authorization === undefined) return false;
      const accepted = acceptedOnConnection.get(req.socket);
      if (accepted && sameSecret(accepted.authorization, authorization) && source.users().get(accepted.user) === accepted.entry) return true;
      const credentials = parseBasicCredentials(authorization);
      return credentials !== undefined && (verifier.isKnownGood(credentials.user, credentials.password) || verifier.isBeingChecked(credentials.user, credentials.password));
    },
    prepareStaticUsers: (users) => source.prepareFixed(users),
    close: () => source.close(),
  };
}

/** The user and password of a `Basic` Authorization header, as express-basic-auth reads them. */
export function parseBasicCredentials(authorization: string): { user: string; password: string } | undefined {
  const match = /^ *basic +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Which users a stage holds: its file (by absolute path) and its fixed users, hashed. */
function usersKey(options: BasicAuthOptions): string {
  const fixed = [...(options.staticUsers ?? [])].map(([user, entry]) => [user, entry.scheme, entry.hash]).sort();
  return hash('sha256', JSON.stringify([options.htpasswdFile === undefined ? null : resolve(options.htpasswdFile), options.allowPlaintext, fixed]), 'base64');
}

interface UserSource {
  /** The users in force: the htpasswd file's and the fixed ones. */
  users(): ReadonlyMap<string, PasswordEntry>;
  /** Checks new fixed users against the file's (a name in both is an error) and returns the swap. */
  prepareFixed(next: ReadonlyMap<string, PasswordEntry>): () => void;
  close(): void;
}

/** The htpasswd file's users (reloaded) together with the fixed ones; a name in both is an error. */
function userSource(options: BasicAuthOptions, onChange: (users: ReadonlyMap<string, PasswordEntry>) => void): UserSource {
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
      if (both.has(user)) throw new ConfigError(`user "${user}" is also in ${options.staticUsersSource ?? 'the web config file'}; keep one`, { origin: file });
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
      if (!file && next.size === 0) throw new ConfigError('all basic_auth_users were removed: turning authentication off needs a restart');
      const both = merge(next, fromFile);
      return () => {
        warnWeak(next);
        fixed = next;
        merged = both;
        onChange(both);
      };
    },
    close: () => watched?.close(),
  };
}

const rawPath = (url: string) => {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
};

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function setUser(req: Request, user: string | undefined): void {
  if (req.promgate) req.promgate.user = user;
  else req.promgate = { user };
}

function compilePathPatterns(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const exact = new Set(patterns.filter((pattern) => !pattern.endsWith('*')));
  const prefixes = patterns.filter((pattern) => pattern.endsWith('*')).map((pattern) => pattern.slice(0, -1));
  return (path) => !AMBIGUOUS_PATH.test(path) && (exact.has(path) || prefixes.some((prefix) => path.startsWith(prefix)));
}
