import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/index.ts';
import { createApiTokenAuthenticator } from '../../middleware/api-tokens/index.ts';
import { generateToken, isWellFormedToken, tokenDigest } from '../../middleware/api-tokens/token.ts';
import { parseTokensFile } from '../../middleware/api-tokens/tokens-file.ts';
import { carriesApiToken } from '../../src/kernel/api-token.ts';
import { silentLogger } from '../../src/logger.ts';
import { createToken } from '../../src/token-command.ts';
import { waitFor } from '../helpers/wait.ts';

const DIGEST = 'a'.repeat(64);
const TOKEN = generateToken();

describe('API token format', () => {
  it('is promgate_, 43 random base62 characters and a 6-character checksum', () => {
    assert.match(TOKEN, /^promgate_[0-9A-Za-z]{49}$/);
    assert.ok(isWellFormedToken(TOKEN));
    assert.notEqual(generateToken(), generateToken());
  });

  it('recognises a typo, a truncation or a changed case by the checksum', () => {
    const typo = TOKEN.slice(0, 20) + (TOKEN[20] === 'x' ? 'y' : 'x') + TOKEN.slice(21);
    for (const bad of [typo, TOKEN.slice(0, -1), `${TOKEN}a`, TOKEN.toUpperCase(), '', 'promgate_', `x${TOKEN}`])
      assert.equal(isWellFormedToken(bad), false, bad);
  });

  it('tells Authorization values carrying a promgate token apart', () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `  BEARER   ${TOKEN}`, `Bearer\t${TOKEN}`])
      assert.equal(carriesApiToken(header), true, header);
    for (const header of ['Bearer eyJhbGciOi.x.y', 'Basic cHJvbWdhdGVfeDp5', `Token ${TOKEN}`])
      assert.equal(carriesApiToken(header), false, header);
  });
});

describe('tokens file parsing', () => {
  const good: Array<[string, string, { user: string; groups: string[]; expiresAt?: number }]> = [
    ['name and digest', `ci sha256:${DIGEST}`, { user: 'ci', groups: [] }],
    [
      'expiry and groups, any order, tabs',
      `ci\tsha256:${DIGEST}  groups=a,b\texpires=2027-03-01T00:00:00Z`,
      { user: 'ci', groups: ['a', 'b'], expiresAt: Date.parse('2027-03-01T00:00:00Z') },
    ],
    [
      'an expiry with an offset',
      `ci sha256:${DIGEST} expires=2027-03-01T01:00:00+01:00`,
      { user: 'ci', groups: [], expiresAt: Date.parse('2027-03-01T00:00:00Z') },
    ],
    ['a name starting with the prefix', `promgate_bot sha256:${DIGEST}`, { user: 'promgate_bot', groups: [] }],
    ['repeated groups once', `ci sha256:${DIGEST} groups=a,a`, { user: 'ci', groups: ['a'] }],
  ];
  for (const [title, line, expected] of good) {
    it(`reads ${title}`, () => {
      const table = parseTokensFile(`# machines\n\n${line}\n`, 'tokens');
      const entry = table.get(DIGEST);
      assert.ok(entry);
      assert.deepEqual(
        { user: entry.identity.user, groups: [...entry.identity.groups], method: entry.identity.method },
        { user: expected.user, groups: expected.groups, method: 'token' },
      );
      assert.equal(entry.expiresAt, expected.expiresAt);
      assert.equal(entry.line, 3);
    });
  }

  const secret = generateToken();
  const bad: Array<[string, string, string]> = [
    ['a name with a colon', `c:i sha256:${DIGEST}`, 'the name (first field) must not contain ":"'],
    ['no digest', 'ci', 'the second field must be sha256: and 64 lowercase hex digits'],
    ['a short digest', `ci sha256:${DIGEST.slice(1)}`, 'the second field must be sha256: and 64 lowercase hex digits'],
    [
      'an uppercase digest',
      `ci sha256:${DIGEST.toUpperCase()}`,
      'the second field must be sha256: and 64 lowercase hex digits',
    ],
    ['another hash', `ci md5:${DIGEST}`, 'the second field must be sha256: and 64 lowercase hex digits'],
    [
      'the token itself',
      `ci ${secret}`,
      'holds a token itself; the file takes its digest, sha256:HEX (promgate token create writes the line)',
    ],
    [
      'the token as a name',
      secret,
      'holds a token itself; the file takes its digest, sha256:HEX (promgate token create writes the line)',
    ],
    ['an unknown field', `ci sha256:${DIGEST} role=admin`, 'field 3 must be expires=TIME or groups=A,B'],
    ['a bare word', `ci sha256:${DIGEST} s3cr3t`, 'field 3 must be expires=TIME or groups=A,B'],
    [
      'a date without a time',
      `ci sha256:${DIGEST} expires=2027-03-01`,
      'expires= must be a time such as 2027-03-01T00:00:00Z (RFC 3339, with a zone)',
    ],
    [
      'a time without a zone',
      `ci sha256:${DIGEST} expires=2027-03-01T00:00:00`,
      'expires= must be a time such as 2027-03-01T00:00:00Z (RFC 3339, with a zone)',
    ],
    [
      'an impossible time',
      `ci sha256:${DIGEST} expires=2027-13-45T00:00:00Z`,
      'expires= must be a time such as 2027-03-01T00:00:00Z (RFC 3339, with a zone)',
    ],
    [
      'an empty group',
      `ci sha256:${DIGEST} groups=a,,b`,
      'groups= must be a comma-separated list of names without spaces',
    ],
    [
      'expires twice',
      `ci sha256:${DIGEST} expires=2027-03-01T00:00:00Z expires=2028-03-01T00:00:00Z`,
      'expires= is given twice',
    ],
  ];
  for (const [title, line, problem] of bad) {
    it(`refuses ${title}, naming file and line, echoing nothing of the line`, () => {
      assert.throws(
        () => parseTokensFile(`# tokens\nok sha256:${'b'.repeat(64)}\n${line}\n`, '/etc/promgate/tokens'),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.message, `/etc/promgate/tokens:3: ${problem}`);
          assert.equal(error.line, 3);
          assert.ok(!error.message.includes(secret));
          return true;
        },
      );
    });
  }

  it('refuses the same digest twice, naming both lines', () => {
    assert.throws(
      () => parseTokensFile(`a sha256:${DIGEST}\nb sha256:${DIGEST}\n`, 'tokens'),
      /^ConfigError: tokens:2: the same token as line 1$/,
    );
  });

  it('reports every bad line at once', () => {
    assert.throws(
      () => parseTokensFile(`a\nb sha256:${DIGEST}\nc:\n`, 'tokens'),
      (error: unknown) => error instanceof ConfigError && error.problems.map((each) => each.line).join() === '1,3',
    );
  });
});

describe('token create', () => {
  const folder = mkdtempSync(join(tmpdir(), 'promgate-tokens-'));

  it('appends a line the gateway reads back, with the digest of the token and never the token', () => {
    const file = join(folder, 'append');
    writeFileSync(file, `old sha256:${'c'.repeat(64)}`, { mode: 0o600 }); // no final newline
    const now = Date.parse('2026-12-05T10:00:00.750Z');
    const created = createToken({ name: 'grafana', file, expires: '90d', groups: ['sre', 'team-a'], now });
    const text = readFileSync(file, 'utf8');
    assert.equal(
      text,
      `old sha256:${'c'.repeat(64)}\ngrafana sha256:${tokenDigest(created.token)} expires=2027-03-05T10:00:00Z groups=sre,team-a\n`,
    );
    assert.ok(!text.includes(created.token));
    assert.equal(parseTokensFile(text, file).get(tokenDigest(created.token))?.identity.user, 'grafana');
  });

  it('creates the file with mode 0600 and warns about an existing file others can read', () => {
    const file = join(folder, 'fresh');
    assert.equal(createToken({ name: 'a', file }).warning, undefined);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const open = join(folder, 'open');
    writeFileSync(open, '', { mode: 0o644 });
    assert.match(createToken({ name: 'a', file: open }).warning ?? '', /readable by others \(mode 644\)/);
  });

  const refusals: Array<[string, Parameters<typeof createToken>[0], RegExp]> = [
    ['a name with a colon', { name: 'a:b', file: join(folder, 'x') }, /--name must be non-empty/],
    ['a name with a space', { name: 'a b', file: join(folder, 'x') }, /--name must be non-empty/],
    ['an empty name', { name: '', file: join(folder, 'x') }, /--name must be non-empty/],
    ['a name read as a comment', { name: '#bot', file: join(folder, 'x') }, /not start with "#"/],
    ['a group with a comma', { name: 'a', groups: ['x,y'], file: join(folder, 'x') }, /--group must be a name/],
    ['a bad duration', { name: 'a', expires: '90 days', file: join(folder, 'x') }, /--expires must be a duration/],
    ['a zero duration', { name: 'a', expires: '0d', file: join(folder, 'x') }, /--expires must be a duration/],
    ['a past time', { name: 'a', expires: '2020-01-01T00:00:00Z', file: join(folder, 'x') }, /is in the past/],
    ['an unwritable file', { name: 'a', file: join(folder, 'missing', 'tokens') }, /cannot write the tokens file/],
  ];
  for (const [title, options, expected] of refusals) {
    it(`refuses ${title} and writes nothing`, () => {
      assert.throws(
        () => createToken(options),
        (error: unknown) => error instanceof ConfigError && expected.test(error.message),
      );
      assert.throws(() => statSync(join(folder, 'x')));
    });
  }
});

describe('API token authenticator', () => {
  const folder = mkdtempSync(join(tmpdir(), 'promgate-tokens-'));
  const file = join(folder, 'tokens');
  const valid = generateToken();
  const expired = generateToken();
  writeFileSync(
    file,
    `ci sha256:${tokenDigest(valid)} groups=scrapers\nold sha256:${tokenDigest(expired)} expires=2020-01-01T00:00:00Z\n`,
  );
  /** A request on `socket` (by default a connection of its own), as the authenticator reads it. */
  const request = (authorization: string | undefined, socket: object = {}) =>
    ({ headers: authorization === undefined ? {} : { authorization }, socket }) as unknown as IncomingMessage;
  const build = (takesEveryBearer: boolean) =>
    createApiTokenAuthenticator({ tokensFile: file, realm: 'promgate', takesEveryBearer, logger: silentLogger });

  it('presents for Bearer promgate_ tokens only, unless it takes every Bearer token', () => {
    const prefixOnly = build(false);
    const every = build(true);
    const cases: Array<[string | undefined, boolean, boolean]> = [
      [`Bearer ${valid}`, true, true],
      [`bearer   ${valid}  `, true, true],
      ['Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig', false, true],
      ['Basic YTpi', false, false],
      [undefined, false, false],
    ];
    for (const [header, prefixed, any] of cases) {
      assert.equal(prefixOnly.presents(request(header)), prefixed, `${header} (prefix only)`);
      assert.equal(every.presents(request(header)), any, `${header} (every Bearer)`);
    }
  });

  it('answers the identity of a known token, and why it refuses the others', () => {
    const tokens = build(true);
    assert.deepEqual(tokens.authenticate(request(`Bearer ${valid}`)), {
      user: 'ci',
      groups: ['scrapers'],
      method: 'token',
    });
    assert.deepEqual(tokens.authenticate(request(`Bearer ${expired}`)), { refused: 'expired_token', claimed: 'old' });
    assert.deepEqual(tokens.authenticate(request(`Bearer ${generateToken()}`)), { refused: 'unknown_token' });
    assert.deepEqual(tokens.authenticate(request(`Bearer ${valid.slice(0, -1)}x`)), { refused: 'malformed_token' });
    assert.deepEqual(tokens.authenticate(request('Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig')), {
      refused: 'malformed_token',
    });
    assert.equal(tokens.challenge, 'Bearer realm="promgate"');
  });

  it('checks the expiry on every request, not only at load, also on a connection that used the token', (context) => {
    context.mock.timers.enable({ apis: ['Date'], now: Date.parse('2030-01-01T00:00:00Z') - 1000 });
    const soon = generateToken();
    const expiring = join(folder, 'expiring');
    writeFileSync(expiring, `soon sha256:${tokenDigest(soon)} expires=2030-01-01T00:00:00Z\n`);
    const tokens = createApiTokenAuthenticator({
      tokensFile: expiring,
      realm: 'promgate',
      takesEveryBearer: false,
      logger: silentLogger,
    });
    const connection = {};
    assert.equal((tokens.authenticate(request(`Bearer ${soon}`, connection)) as { user?: string }).user, 'soon');
    context.mock.timers.tick(1000);
    assert.deepEqual(tokens.authenticate(request(`Bearer ${soon}`, connection)), {
      refused: 'expired_token',
      claimed: 'soon',
    });
  });

  it('revokes a token on a connection that used it as soon as the file no longer holds it', async () => {
    const kept = generateToken();
    const revoked = generateToken();
    const changing = join(folder, 'changing');
    writeFileSync(changing, `kept sha256:${tokenDigest(kept)}\nrevoked sha256:${tokenDigest(revoked)}\n`);
    const tokens = createApiTokenAuthenticator({
      tokensFile: changing,
      realm: 'promgate',
      takesEveryBearer: false,
      logger: silentLogger,
      checkIntervalMs: 10,
    });
    tokens.start();
    try {
      const connection = {};
      const asked = () => tokens.authenticate(request(`Bearer ${revoked}`, connection));
      assert.equal((asked() as { user?: string }).user, 'revoked');
      assert.equal((asked() as { user?: string }).user, 'revoked', 'remembered on its connection');
      writeFileSync(`${changing}.new`, `kept sha256:${tokenDigest(kept)}\n`);
      renameSync(`${changing}.new`, changing);
      await waitFor(() => (asked() as { refused?: string }).refused === 'unknown_token', {
        message: 'the revocation',
      });
      const other = {};
      assert.equal((tokens.authenticate(request(`Bearer ${kept}`, other)) as { user?: string }).user, 'kept');
    } finally {
      tokens.close();
    }
  });

  it('answers another token on the same connection by its own entry', () => {
    const second = generateToken();
    const two = join(folder, 'two');
    writeFileSync(two, `first sha256:${tokenDigest(valid)}\nsecond sha256:${tokenDigest(second)}\n`);
    const tokens = createApiTokenAuthenticator({
      tokensFile: two,
      realm: 'p',
      takesEveryBearer: false,
      logger: silentLogger,
    });
    const connection = {};
    for (const [token, user] of [
      [valid, 'first'],
      [second, 'second'],
      [valid, 'first'],
    ] as const)
      assert.equal((tokens.authenticate(request(`Bearer ${token}`, connection)) as { user?: string }).user, user);
    assert.deepEqual(tokens.authenticate(request(`Bearer ${generateToken()}`, connection)), {
      refused: 'unknown_token',
    });
  });
});
