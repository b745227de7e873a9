import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/index.ts';
import { parseHtpasswd } from '../../middleware/basic-auth/htpasswd.ts';
import { createVerifier } from '../../middleware/basic-auth/verifier.ts';

const BCRYPT = '$2y$10$ka8JfUWWbXtByJO3g0Qjn.Rdeqq7489uO9BxvDO690AiwTkO8XWzW';
const strict = { allowPlaintext: false };

describe('htpasswd parsing', () => {
  it('skips blank lines and comments, and recognizes each scheme', () => {
    const { users } = parseHtpasswd(
      `# users\n\nb:${BCRYPT}\na:$apr1$hYv1.FBv$zdS7hM087i7.ErKFaKJ5F1\ns:{SHA}km4dmDIm6QoBhsb80/Gr5L47H44=\nd:dAxdtrLQAo0ew\nx:{SSHA}ACDgUgDR0Ad5EVFVyb0zbmxHjplzYWx0c2FsdA==\n`,
      'f',
      strict,
    );
    assert.deepEqual(
      [...users].map(([user, entry]) => `${user}=${entry.scheme}`),
      ['b=bcrypt', 'a=apr1', 's=sha1', 'd=crypt', 'x=ssha'],
    );
  });

  it('names file and line of a malformed line without echoing the hash', () => {
    assert.throws(
      () => parseHtpasswd(`ok:${BCRYPT}\nno-colon-here-s3cr3t\n`, '/etc/.htpasswd', strict),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.message, '/etc/.htpasswd:2: expected user:hash');
        return true;
      },
    );
  });

  it('rejects an unknown scheme, naming the line and user only', () => {
    const sha512 = '$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/';
    assert.throws(
      () => parseHtpasswd(`u:${sha512}\n`, 'f', strict),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.equal(error.message, 'f:1: user "u": unsupported hash scheme (use bcrypt: htpasswd -B)');
        assert.ok(!error.message.includes('saltsalt'));
        return true;
      },
    );
  });

  it('accepts plain-text passwords only when allowed', () => {
    assert.throws(() => parseHtpasswd('u:hunter2-is-long\n', 'f', strict), {
      message: /f:1: user "u": not a recognized password hash; plain-text passwords need auth.allowPlaintext/,
    });
    assert.throws(() => parseHtpasswd('u:{PLAIN}x\n', 'f', strict), {
      message: /f:1: user "u": unsupported hash scheme/,
    });
    const { users, warnings } = parseHtpasswd('u:hunter2-is-long\nv:{PLAIN}x\n', 'f', { allowPlaintext: true });
    assert.equal(users.get('u')?.scheme, 'plain');
    assert.equal(users.get('v')?.hash, 'x');
    assert.deepEqual(warnings, [
      'f: 2 password hashes are quick to crack if the file leaks: "u" (plain text), "v" (plain text); rehash with bcrypt cost 10 or more (htpasswd -B -C 10, or promgate hash-password)',
    ]);
  });

  it('rejects a user listed twice and warns about DES crypt', () => {
    assert.throws(() => parseHtpasswd(`u:${BCRYPT}\nu:${BCRYPT}\n`, 'f', strict), {
      message: 'f:2: user "u" is listed twice',
    });
    assert.match(
      parseHtpasswd('d:dAxdtrLQAo0ew\n', 'f', strict).warnings[0] ?? '',
      /^f: a password hash is quick to crack if the file leaks: "d" \(DES crypt, which checks only 8 characters\)/,
    );
  });
});

describe('password verifier', () => {
  const users = parseHtpasswd('sam:{SHA}km4dmDIm6QoBhsb80/Gr5L47H44=\n', 'f', strict).users;

  it('runs one check for many identical concurrent requests, then answers from the cache', async () => {
    let checks = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const verifier = createVerifier(users, {
      check: async () => {
        checks++;
        await released;
        return true;
      },
    });
    const verifying = Promise.all(Array.from({ length: 50 }, () => verifier.verify('sam', 'sha!')));
    release(); // all 50 have asked by now, while the check still runs
    const results = await verifying;
    assert.ok(results.every((result) => result === 'ok'));
    assert.equal(checks, 1);
    await verifier.verify('sam', 'sha!');
    assert.equal(checks, 1, 'cached');
  });

  it('never caches failures, and drops the cache when users change', async () => {
    let checks = 0;
    const real = createVerifier(users);
    const verifier = createVerifier(users, {
      check: async (entry, password) => (
        checks++, (await real.verify('sam', password)) === 'ok' && entry.scheme === 'sha1'
      ),
    });
    assert.equal(await verifier.verify('sam', 'wrong'), 'wrong_password');
    assert.equal(await verifier.verify('sam', 'wrong'), 'wrong_password');
    assert.equal(checks, 2);
    assert.equal(await verifier.verify('sam', 'sha!'), 'ok');
    verifier.setUsers(new Map());
    assert.equal(await verifier.verify('sam', 'sha!'), 'unknown_user');
  });

  it('renews a success in use before it expires, so no request waits for bcrypt', async () => {
    let clock = 10_000; // lru-cache reads a start time of 0 as "no TTL"
    let checks = 0;
    let failNext = false;
    const verifier = createVerifier(users, {
      cacheTtlMs: 1000,
      now: () => clock,
      check: async () => {
        checks++;
        if (failNext) throw new Error('bcrypt failed');
        return true;
      },
    });
    assert.equal(await verifier.verify('sam', 'sha!'), 'ok');
    clock += 500;
    assert.equal(await verifier.verify('sam', 'sha!'), 'ok');
    assert.equal(checks, 1, 'half the TTL left: answered from the cache alone');
    clock += 400;
    assert.equal(await verifier.verify('sam', 'sha!'), 'ok');
    assert.equal(checks, 2, 'a fifth of the TTL left: checked again in the background');
    await new Promise(setImmediate);
    clock += 600; // past the first success's TTL, inside the renewed one
    assert.equal(await verifier.verify('sam', 'sha!'), 'ok');
    assert.equal(checks, 2, 'renewed: no check in the foreground');
    failNext = true;
    clock += 300;
    assert.equal(await verifier.verify('sam', 'sha!'), 'ok', 'a failed renewal does not fail the request');
    await new Promise(setImmediate);
    assert.equal(checks, 3);
    failNext = false;
    clock += 200; // the renewed success has expired, and the failed renewal did not replace it
    assert.equal(await verifier.verify('sam', 'sha!'), 'ok');
    assert.equal(checks, 4, 'checked again in the foreground');
  });

  it('lets a success that is not used expire', async () => {
    let clock = 10_000;
    let checks = 0;
    const verifier = createVerifier(users, { cacheTtlMs: 1000, now: () => clock, check: async () => (checks++, true) });
    assert.equal(await verifier.verify('sam', 'sha!'), 'ok');
    clock += 1001;
    assert.equal(verifier.isKnownGood('sam', 'sha!'), false);
    assert.equal(await verifier.verify('sam', 'sha!'), 'ok');
    assert.equal(checks, 2);
  });

  it('still spends one check on an unknown user, and never lets it in', async () => {
    let checks = 0;
    const verifier = createVerifier(users, { check: async () => (checks++, true) });
    assert.equal(await verifier.verify('nobody', 'sha!'), 'unknown_user');
    assert.equal(checks, 1);
  });
});
