// User enumeration through response time: when an htpasswd file mixed schemes or bcrypt costs, an
// unknown name was checked against the first bcrypt entry (cost 5 in the README's recipe) while a
// known name paid its own hash's cost. Wall-clock thresholds would be flaky, so these tests assert
// the work: which hash each refused login was checked against.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { createBasicAuthenticator } from '../../middleware/basic-auth/index.ts';
import { parseHtpasswd, type PasswordEntry } from '../../middleware/basic-auth/htpasswd.ts';
import { checkWork } from '../../middleware/basic-auth/strength.ts';
import { checkPassword, createVerifier } from '../../middleware/basic-auth/verifier.ts';
import { silentLogger, type Logger } from '../../src/index.ts';
import { requireCommands } from '../helpers/requirements.ts';

/** How Apache htpasswd writes a user: bcrypt with a cost, or another scheme's flag. */
type Hashing = { cost: number } | '-m' | '-s' | '-d' | '-p';
interface FileUser {
  user: string;
  password: string;
  hashing: Hashing;
}

function writeFile(users: FileUser[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'promgate-enum-')), '.htpasswd');
  writeFileSync(file, '');
  for (const { user, password, hashing } of users) {
    const args = typeof hashing === 'string' ? [`-b${hashing.slice(1)}`] : ['-bB', '-C', String(hashing.cost)];
    execFileSync('htpasswd', [...args, file, user, password], { stdio: 'ignore' });
  }
  return file;
}

/** What a check costs, readably: "bcrypt 12", "apr1". */
const work = (entry: PasswordEntry) =>
  entry.scheme === 'bcrypt' ? `bcrypt ${Number(entry.hash.slice(4, 6))}` : entry.scheme;
const costliest = (entries: PasswordEntry[]) =>
  entries.reduce((most, entry) => (checkWork(entry) > checkWork(most) ? entry : most));

const FILES: Array<{ name: string; users: FileUser[]; expensive: string }> = [
  {
    name: 'bcrypt costs 5, 10 and 12',
    users: [
      { user: 'cheap', password: 'p5', hashing: { cost: 5 } },
      { user: 'default', password: 'p10', hashing: { cost: 10 } },
      { user: 'careful', password: 'p12', hashing: { cost: 12 } },
    ],
    expensive: 'bcrypt 12',
  },
  {
    name: 'apr1 and bcrypt',
    users: [
      { user: 'md5', password: 'pm', hashing: '-m' },
      { user: 'blowfish', password: 'pb', hashing: { cost: 10 } },
    ],
    expensive: 'bcrypt 10',
  },
  {
    name: '{SHA} and bcrypt',
    users: [
      { user: 'sha', password: 'ps', hashing: '-s' },
      { user: 'blowfish', password: 'pb', hashing: { cost: 6 } },
    ],
    expensive: 'bcrypt 6',
  },
  {
    name: 'only apr1',
    users: [
      { user: 'md5-a', password: 'pa', hashing: '-m' },
      { user: 'md5-b', password: 'pb', hashing: '-m' },
    ],
    expensive: 'apr1',
  },
  {
    name: 'DES crypt and {SHA}',
    users: [
      { user: 'sha', password: 'ps', hashing: '-s' },
      { user: 'des', password: 'pd', hashing: '-d' },
    ],
    expensive: 'crypt',
  },
];

describe('user enumeration by timing: every refused login does the work of the costliest entry', {
  skip: requireCommands('htpasswd'),
}, () => {
  for (const { name, users, expensive } of FILES) {
    it(`${name}: an unknown name and each known name's wrong password are checked at ${expensive}`, async () => {
      const table = parseHtpasswd(readFileSync(writeFile(users), 'utf8'), 'f', { allowPlaintext: false }).users;
      const hashes = new Set([...table.values()].map((entry) => entry.hash));
      let checked: PasswordEntry[] = [];
      const verifier = createVerifier(table, {
        check: (entry, password) => (checked.push(entry), checkPassword(entry, password)),
      });
      const refusal = async (user: string) => {
        checked = [];
        const result = await verifier.verify(user, 'not the password');
        return { result, work: work(costliest(checked)), checked };
      };

      const unknown = await refusal('nobody');
      assert.equal(unknown.result, 'unknown_user');
      assert.equal(unknown.work, expensive);
      assert.equal(unknown.checked.length, 1);
      assert.ok(!hashes.has(unknown.checked[0]!.hash), "the dummy is no user's hash");
      for (const { user } of users) {
        const known = await refusal(user);
        assert.equal(known.result, 'wrong_password', user);
        assert.equal(known.work, expensive, `${user}'s wrong password costs what an unknown name costs`);
      }
      for (const { user, password } of users)
        assert.equal(await verifier.verify(user, password), 'ok', 'the right password still lets in');
    });
  }

  it('recomputes the dummy when the users change', async () => {
    let checked: PasswordEntry[] = [];
    const verifier = createVerifier(
      parseHtpasswd(readFileSync(writeFile([{ user: 'a', password: 'x', hashing: { cost: 5 } }]), 'utf8'), 'f', {
        allowPlaintext: false,
      }).users,
      {
        check: (entry, password) => (checked.push(entry), checkPassword(entry, password)),
      },
    );
    await verifier.verify('nobody', 'x');
    assert.deepEqual(checked.map(work), ['bcrypt 5']);
    verifier.setUsers(
      parseHtpasswd(
        readFileSync(
          writeFile([
            { user: 'a', password: 'x', hashing: { cost: 5 } },
            { user: 'b', password: 'y', hashing: { cost: 11 } },
          ]),
          'utf8',
        ),
        'f',
        { allowPlaintext: false },
      ).users,
    );
    checked = [];
    await verifier.verify('nobody', 'x');
    assert.deepEqual(checked.map(work), ['bcrypt 11']);
  });

  it('shares one check among identical unknown-name requests in flight, as it does for known names', async () => {
    // Otherwise a burst of one guess runs once for a known name and N times for an unknown one,
    // and the failed-login limits spare the first (a check in flight) but count the second.
    const table = parseHtpasswd(
      readFileSync(writeFile([{ user: 'alice', password: 'a', hashing: { cost: 5 } }]), 'utf8'),
      'f',
      { allowPlaintext: false },
    ).users;
    for (const user of ['alice', 'nobody']) {
      let checks = 0;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const verifier = createVerifier(table, { check: async () => (checks++, await gate, false) });
      const burst = Array.from({ length: 10 }, () => verifier.verify(user, 'guess'));
      assert.equal(verifier.isBeingChecked(user, 'guess'), true, user);
      release();
      await Promise.all(burst);
      assert.equal(checks, 1, user);
    }
  });
});

describe('the basic-auth stage: fixed users and reloads count in the costliest entry', {
  skip: requireCommands('htpasswd'),
}, () => {
  // Spy on the real bcrypt: what each check of the stage costs, read from the hash it compares with.
  const costs: number[] = [];
  const compare = bcrypt.compare;
  before(() => {
    bcrypt.compare = ((password: string, hash: string) => (
      costs.push(Number(hash.slice(4, 6))), compare(password, hash)
    )) as typeof bcrypt.compare;
  });
  after(() => {
    bcrypt.compare = compare;
  });

  it("an unknown name costs the web config's cost-12 user, though the file's users are cost 5", async () => {
    const file = writeFile([{ user: 'alice', password: 'a', hashing: { cost: 5 } }]);
    const fixed = new Map<string, PasswordEntry>([['ops', { scheme: 'bcrypt', hash: await bcrypt.hash('o', 12) }]]);
    let reloadDone!: () => void;
    const reloaded = new Promise<void>((resolve) => (reloadDone = resolve));
    const stage = createBasicAuthenticator({
      htpasswdFile: file,
      staticUsers: fixed,
      staticUsersSource: 'web.yml',
      allowPlaintext: false,
      cacheSize: 10,
      cacheTtlMs: 60_000,
      logger: silentLogger,
      checkIntervalMs: 50,
      onReloadResult: () => reloadDone(),
    });
    stage.start(); // follows the file from now on
    try {
      costs.length = 0;
      assert.equal(await stage.users.verify('nobody', 'x'), 'unknown_user');
      assert.deepEqual(costs, [12]);
      costs.length = 0;
      assert.equal(await stage.users.verify('alice', 'wrong'), 'wrong_password');
      assert.deepEqual(
        costs.toSorted((a, b) => a - b),
        [5, 12],
        "alice's own check, and the dummy beside it",
      );
      writeFileSync(file, readFileSync(writeFile([{ user: 'alice', password: 'a', hashing: { cost: 13 } }])));
      await reloaded;
      costs.length = 0;
      assert.equal(await stage.users.verify('nobody', 'x'), 'unknown_user');
      assert.deepEqual(costs, [13], 'the reloaded file now holds the costliest entry');
    } finally {
      stage.close();
    }
  });
});

describe('the warning about weak hashes', { skip: requireCommands('htpasswd') }, () => {
  const capture = () => {
    const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const logger: Logger = {
      debug() {},
      info() {},
      error() {},
      warn: (fields, message) => void warnings.push({ fields, message }),
    };
    return { logger, warnings };
  };

  it('names every user with a weak hash, and why, but never a hash', () => {
    const file = writeFile([
      { user: 'cheap', password: 'pass-word', hashing: { cost: 5 } },
      { user: 'nine', password: 'pass-word', hashing: { cost: 9 } },
      { user: 'strong', password: 'pass-word', hashing: { cost: 10 } },
      { user: 'md5', password: 'pass-word', hashing: '-m' },
      { user: 'sha', password: 'pass-word', hashing: '-s' },
      { user: 'des', password: 'pass-word', hashing: '-d' },
      { user: 'plain', password: 'pass-word', hashing: '-p' },
    ]);
    const { logger, warnings } = capture();
    const stage = createBasicAuthenticator({
      htpasswdFile: file,
      allowPlaintext: true,
      cacheSize: 10,
      cacheTtlMs: 1000,
      logger,
    });
    stage.close();
    assert.equal(warnings.length, 1);
    assert.equal(
      warnings[0]!.message,
      `${file}: 6 password hashes are quick to crack if the file leaks: "cheap" (bcrypt cost 5), "nine" (bcrypt cost 9), "md5" (apr1 MD5), "sha" ({SHA} unsalted SHA-1), "des" (DES crypt, which checks only 8 characters), "plain" (plain text); rehash with bcrypt cost 10 or more (htpasswd -B -C 10, or promgate hash-password)`,
    );
    assert.deepEqual(warnings[0]!.fields, { file });
    for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
      const stored = line.slice(line.indexOf(':') + 1);
      assert.ok(!JSON.stringify(warnings).includes(stored), 'no hash in the warning');
    }
  });

  it("warns about the web config's weak basic_auth_users, and says nothing of strong ones", async () => {
    const { logger, warnings } = capture();
    const weak = new Map<string, PasswordEntry>([['robot', { scheme: 'bcrypt', hash: await bcrypt.hash('r', 4) }]]);
    const stage = createBasicAuthenticator({
      staticUsers: weak,
      staticUsersSource: '/etc/prometheus/web.yml',
      allowPlaintext: false,
      cacheSize: 10,
      cacheTtlMs: 1000,
      logger,
    });
    assert.deepEqual(
      warnings.map((warning) => warning.fields),
      [{ users: ['robot'] }],
    );
    assert.match(
      warnings[0]!.message,
      /^\/etc\/prometheus\/web\.yml: a password hash is quick to crack if the file leaks: "robot" \(bcrypt cost 4\); rehash/,
    );
    stage.prepareStaticUsers(new Map([['robot', { scheme: 'bcrypt', hash: await bcrypt.hash('r', 10) }]]))();
    assert.equal(warnings.length, 1, 'a reload with strong hashes adds no warning');
    stage.close();
  });

  it('says nothing when every hash is bcrypt of cost 10 or more', () => {
    const { logger, warnings } = capture();
    createBasicAuthenticator({
      htpasswdFile: writeFile([{ user: 'a', password: 'p', hashing: { cost: 10 } }]),
      allowPlaintext: false,
      cacheSize: 10,
      cacheTtlMs: 1000,
      logger,
    }).close();
    assert.deepEqual(warnings, []);
  });
});
