// Checks a user's password against the current users, fast for the common case: bcrypt runs once
// per (user, hash, password) and its success is cached; identical checks in flight share one run.
// A success in use is checked again in the background before it expires, so an active user never
// waits for bcrypt: when it expired instead, every new connection of that user queued behind one
// bcrypt run (~70 ms here), which set the gateway's p99 every auth.cacheTtl (bench/README.md).
import { createHash, hash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import bcrypt from 'bcrypt';
import { LRUCache } from 'lru-cache';
import type { PasswordEntry } from './htpasswd.ts';
import { checkWork, dummyEntryLike, MIN_STRONG_BCRYPT_COST, mostExpensiveEntry } from './strength.ts';

// Small CommonJS modules without (usable) types: Apache's $apr1$ MD5 and DES crypt(3).
const require = createRequire(import.meta.url);
const apacheMd5 = require('apache-md5') as (password: string, salt: string) => string;
const unixCrypt = require('unix-crypt-td-js') as (password: string, salt: string) => string;

export const DEFAULT_CACHE_SIZE = 1024;
export const DEFAULT_CACHE_TTL_MS = 5 * 60_000;
/** A cache hit with less than this part of its TTL left starts the background check. */
export const RENEW_WITHIN_TTL_FRACTION = 0.2;

/** What an unknown user costs when there are no users at all: bcrypt of the default cost. */
const EMPTY_TABLE_WORK: PasswordEntry = { scheme: 'bcrypt', hash: `$2b$${MIN_STRONG_BCRYPT_COST}$` };

export type VerifyResult = 'ok' | 'unknown_user' | 'wrong_password';

export interface Verifier {
  verify(user: string, password: string): Promise<VerifyResult>;
  /** True when this user and password passed a check recently (a cache hit; no check runs). */
  isKnownGood(user: string, password: string): boolean;
  /** True while a check of exactly this user and password runs (a later verify() joins it). */
  isBeingChecked(user: string, password: string): boolean;
  /** Whether the user is in the table (no check runs; for callers that already know a password is right). */
  knows(user: string): boolean;
  /** Swap in a new user table; cached results of the old one are dropped. */
  setUsers(users: ReadonlyMap<string, PasswordEntry>): void;
}

export interface VerifierOptions {
  cacheSize?: number;
  cacheTtlMs?: number;
  /** The password check; tests wrap it to count calls. */
  check?: (entry: PasswordEntry, password: string) => Promise<boolean>;
  /** The cache's clock in milliseconds (performance.now); tests move it. */
  now?: () => number;
}

export function createVerifier(users: ReadonlyMap<string, PasswordEntry>, options: VerifierOptions = {}): Verifier {
  const check = options.check ?? checkPassword;
  let current = users;
  let dummy = pickDummy(users);
  const ttl = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  const renewWithinMs = ttl * RENEW_WITHIN_TTL_FRACTION;
  // ttlResolution 0: read the clock per lookup; the default re-arms a 1 ms timer under load.
  const cache = new LRUCache<string, true>({
    max: options.cacheSize ?? DEFAULT_CACHE_SIZE,
    ttl,
    ttlResolution: 0,
    ...(options.now ? { perf: { now: options.now } } : {}),
  });
  const inFlight = new Map<string, Promise<boolean>>();
  /** One check per key at a time; a success is cached unless the users changed while it ran. */
  // A user whose hash is cheaper than the most expensive one also pays for a dummy check, run
  // alongside: a wrong password must not answer faster for them than for an unknown name.
  const checkAtLeastDummyWork = (entry: PasswordEntry, password: string): Promise<boolean> =>
    checkWork(entry) >= checkWork(dummy)
      ? check(entry, password)
      : Promise.all([check(entry, password), check(dummy, password).catch(() => false)]).then(([ok]) => ok);
  const checkOnce = (key: string, user: string, entry: PasswordEntry, password: string): Promise<boolean> => {
    let pending = inFlight.get(key);
    if (!pending) {
      pending = checkAtLeastDummyWork(entry, password)
        .then((ok) => {
          if (ok && current.get(user) === entry) cache.set(key, true);
          return ok;
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  };

  return {
    async verify(user, password) {
      const entry = current.get(user);
      if (!entry) {
        // The work of the most expensive user, shared by identical requests as a known user's
        // check is: neither one request's time nor a burst's tells which users exist.
        await checkOnce(cacheKey(user, dummy, password), user, dummy, password);
        return 'unknown_user';
      }
      const key = cacheKey(user, entry, password);
      if (cache.get(key)) {
        // A failed renewal leaves the entry to expire; the next check then runs in the foreground.
        if (cache.getRemainingTTL(key) < renewWithinMs) checkOnce(key, user, entry, password).catch(() => {});
        return 'ok';
      }
      return (await checkOnce(key, user, entry, password)) ? 'ok' : 'wrong_password';
    },
    isKnownGood(user, password) {
      const entry = current.get(user);
      return entry !== undefined && cache.has(cacheKey(user, entry, password));
    },
    isBeingChecked(user, password) {
      return inFlight.has(cacheKey(user, current.get(user) ?? dummy, password));
    },
    knows: (user) => current.has(user),
    setUsers(next) {
      current = next;
      dummy = pickDummy(next);
      cache.clear();
    },
  };
}

/**
 * Each field JSON-encoded (quoted and escaped) in an array: no characters can shift between user,
 * hash and password to make another triple's key (CVE-2022-46146 in exporter-toolkit). Hashed, so
 * no password sits in memory.
 */
function cacheKey(user: string, entry: PasswordEntry, password: string): string {
  return hash('sha256', JSON.stringify([user, entry.scheme, entry.hash, password]), 'base64'); // one-shot: no Hash object per request
}

/** An entry matching no password whose check costs what the table's most expensive entry's does. */
function pickDummy(users: ReadonlyMap<string, PasswordEntry>): PasswordEntry {
  return dummyEntryLike(mostExpensiveEntry(users.values()) ?? EMPTY_TABLE_WORK);
}

export async function checkPassword(entry: PasswordEntry, password: string): Promise<boolean> {
  switch (entry.scheme) {
    case 'bcrypt':
      // In libuv's thread pool, off the event loop. $2y$ (Apache, PHP) is $2b$ under another name.
      return bcrypt.compare(password, entry.hash.startsWith('$2y$') ? `$2b$${entry.hash.slice(4)}` : entry.hash);
    case 'apr1':
      return constantTimeEqual(apacheMd5(utf8Bytes(password), entry.hash), entry.hash);
    case 'sha1':
      return constantTimeEqual(createHash('sha1').update(password).digest('base64'), entry.hash);
    case 'ssha': {
      const decoded = Buffer.from(entry.hash, 'base64');
      const salt = decoded.subarray(20);
      const digest = createHash('sha1').update(password).update(salt).digest();
      return constantTimeEqual(digest, decoded.subarray(0, 20));
    }
    case 'crypt':
      return constantTimeEqual(unixCrypt(utf8Bytes(password), entry.hash), entry.hash);
    case 'plain':
      return constantTimeEqual(password, entry.hash);
  }
}

/**
 * Apache hashes the password's UTF-8 bytes; apache-md5 and unix-crypt-td-js read one byte per
 * string character, so hand them the bytes as a latin1 string.
 */
const utf8Bytes = (password: string) => Buffer.from(password, 'utf8').toString('latin1');

/** Compares digests of both sides, so neither length nor content leaks through timing. */
function constantTimeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}
