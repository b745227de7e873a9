// Checks a user's password against the current users, fast for the common case: bcrypt runs once
// per (user, hash, password) and its success is cached; identical checks in flight share one run.
import { createHash, hash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import bcrypt from 'bcrypt';
import { LRUCache } from 'lru-cache';
// Small CommonJS modules without (usable) types: Apache's $apr1$ MD5 and DES crypt(3).
const require = createRequire(import.meta.url);
const apacheMd5 = require('apache-md5');
const unixCrypt = require('unix-crypt-td-js');
export const DEFAULT_CACHE_SIZE = 1024;
export const DEFAULT_CACHE_TTL_MS = 5 * 60_000;
/** bcrypt cost 10 of a random password nobody knows; used when a file has no bcrypt user. */
const FALLBACK_DUMMY = { scheme: 'bcrypt', hash: '$2y$10$ka8JfUWWbXtByJO3g0Qjn.Rdeqq7489uO9BxvDO690AiwTkO8XWzW' };
export function createVerifier(users, options = {}) {
    const check = options.check ?? checkPassword;
    let current = users;
    let dummy = pickDummy(users);
    // ttlResolution 0: read the clock per lookup; the default re-arms a 1 ms timer under load.
    const cache = new LRUCache({ max: options.cacheSize ?? DEFAULT_CACHE_SIZE, ttl: options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS, ttlResolution: 0 });
    const inFlight = new Map();
    return {
        async verify(user, password) {
            const entry = current.get(user);
            if (!entry) {
                // Spend what a real check costs, so response time does not tell which users exist.
                await check(dummy, password);
                return 'unknown_user';
            }
            const key = cacheKey(user, entry, password);
            if (cache.get(key))
                return 'ok';
            let pending = inFlight.get(key);
            if (!pending) {
                pending = check(entry, password).finally(() => inFlight.delete(key));
                inFlight.set(key, pending);
            }
            const ok = await pending;
            if (ok && current.get(user) === entry)
                cache.set(key, true);
            return ok ? 'ok' : 'wrong_password';
        },
        isKnownGood(user, password) {
            const entry = current.get(user);
            return entry !== undefined && cache.has(cacheKey(user, entry, password));
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
function cacheKey(user, entry, password) {
    return hash('sha256', JSON.stringify([user, entry.scheme, entry.hash, password]), 'base64'); // one-shot: no Hash object per request
}
/** A real user's entry of the most expensive scheme present, checked against a wrong password. */
function pickDummy(users) {
    for (const entry of users.values())
        if (entry.scheme === 'bcrypt')
            return entry;
    return users.values().next().value ?? FALLBACK_DUMMY;
}
export async function checkPassword(entry, password) {
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
const utf8Bytes = (password) => Buffer.from(password, 'utf8').toString('latin1');
/** Compares digests of both sides, so neither length nor content leaks through timing. */
function constantTimeEqual(a, b) {
    const digest = (value) => createHash('sha256').update(value).digest();
    return timingSafeEqual(digest(a), digest(b));
}
//# sourceMappingURL=verifier.js.map