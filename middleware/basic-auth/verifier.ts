// Checks a user's password against the current users, fast for the common case: bcrypt runs once
// per (user, hash, password) and its success is cached; identical checks in flight share one run.
// A success in use is checked again in the background before it expires, so an active user never
// waits for bcrypt: when it expired instead, every new connection of that user queued behind one
// bcrypt run (~70 ms here), which set the gateway's p99 every auth.cacheTtl (F6, bench/README.md).
import { createHash, hash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import bcrypt from 'bcrypt';
import { LRUCache } from 'lru-cache';
import type { PasswordEntry } from './htpasswd.ts';

// Small CommonJS modules without (usable) types: Apache's $apr1$ MD5 and DES crypt(3).
const require = createRequire(import.meta.url);
const apacheMd5 = require('apache-md5') as (password: string, salt: string) => string;
const unixCrypt = require('unix-crypt-td-js') as (password: string, salt: string) => string;

export const DEFAULT_CACHE_SIZE = 1024;
export const DEFAULT_CACHE_TTL_MS = 5 * 60_000;
/** A cache hit with less than this part of its TTL left starts the background check. */
export const RENEW_WITHIN_TTL_FRACTION = 0.2;

/** bcrypt cost 10 of a random password nobody knows; used when a file has no bcrypt user. */
const FALLBACK_DUMMY: PasswordEntry = { scheme: 'bcrypt', hash: '$2y$10$ka8JfUWWbXtByJO3g0Qjn.Rdeqq7489uO9BxvDO690AiwTkO8XWzW' };

export type VerifyResult = 'ok' | 'unknown_user' | 'wrong_password';

export interface Verifier {
  verify(user: string, password: string): Promise<VerifyResult>;
  /** True when this user and password passed a check recently (a cache hit; no check runs). */
  isKnownGood(user: string, password: string): boolean;
  /** True while a check of exactly this user and password runs (a later verify() joins it). */
  isBeingChecked(user: string, password: string): boolean;
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
  const cache = new LRUCache<string, true>({ max: options.cacheSize ?? DEFAULT_CACHE_SIZE, ttl, ttlResolution: 0, ...(options.now ? { perf: { now: options.now } } : {}) });
  const inFlight = new Map<string, Promise<boolean>>();
  /** One check per key at a time; a success is cached unless the users changed while it ran. */
  const checkOnce = (key: string, user: string, entry: PasswordEntry, password: string): Promise<boolean> => {
    let pending = inFlight.get(key);
    if (!pending) {
      pending = check(entry, password)
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
        // Spend what a real check costs, so response time does not tell which users exist.
        await check(dummy, password);
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
      const entry = current.get(user);
      return entry !== undefined && inFlight.has(cacheKey(user, entry, password));
    },
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

/** A real user's entry of the most expensive scheme present, checked against a wrong password. */
function pickDummy(users: ReadonlyMap<string, PasswordEntry>): PasswordEntry {
  for (const entry of users.values()) if (entry.scheme === 'bcrypt') return entry;
  return users.values().next().value ?? FALLBACK_DUMMY;
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
