import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateToken, tokenDigest } from '../../middleware/api-tokens/token.ts';
import { createLogger, type Identity } from '../../src/index.ts';
import { runCli } from '../helpers/cli.ts';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway, useGatewayWithUpstream } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { startJwtProvider, TEST_AUDIENCE, type TestJwtProvider } from '../helpers/jwks.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

type Line = Record<string, unknown>;

function collectingLogger() {
  const raw: string[] = [];
  const logger = createLogger({
    format: 'json',
    level: 'info',
    destination: { write: (line: string) => raw.push(line) },
  });
  const lines = () => raw.map((line) => JSON.parse(line) as Line);
  return { logger, raw, lines };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const tokensFolder = () => mkdtempSync(join(tmpdir(), 'promgate-api-tokens-'));
/** Replaces the file the way editors and config management do: a new file renamed over it. */
function replaceFile(file: string, text: string) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

describe('API tokens', () => {
  const folder = tokensFolder();
  const tokensFile = join(folder, 'tokens');
  const valid = generateToken();
  const expired = generateToken();
  writeFileSync(
    tokensFile,
    `# machines\nci sha256:${tokenDigest(valid)} groups=scrapers,team-a\nold sha256:${tokenDigest(expired)} expires=2020-01-01T00:00:00Z\n`,
  );
  const log = collectingLogger();
  const identities: Identity[] = [];
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    auth: { tokensFile },
    logger: log.logger,
    middleware: {
      afterAuth: (req: IncomingMessage & { promgate?: { identity?: Identity } }, _res: unknown, next: () => void) => {
        if (req.promgate?.identity) identities.push(req.promgate.identity);
        next();
      },
    },
  }));

  it('accepts a known token: the upstream gets no Authorization, the log and later stages see the name', async () => {
    const { gateway, upstream } = setup;
    const seen = upstream.requests.length;
    const response = await gateway.request('/prometheus/api/v1/query?query=up', { headers: bearer(valid) });
    assert.equal(response.status, 200);
    const forwarded = upstream.requests[seen];
    assert.ok(forwarded);
    assert.equal(forwarded.headers.authorization, undefined);
    assert.deepEqual(identities.at(-1), { user: 'ci', groups: ['scrapers', 'team-a'], method: 'token' });
    const line = await waitFor(() =>
      log.lines().findLast((each) => each.msg === 'request' && each.path === '/prometheus/api/v1/query'),
    );
    assert.equal(line.user, 'ci');
    assert.equal(line.auth_method, 'token');
  });

  const refused: Array<[string, Record<string, string> | undefined, string | undefined]> = [
    ['an expired token', bearer(expired), 'expired_token'],
    ['an unknown token', bearer(generateToken()), 'unknown_token'],
    ['a mistyped token', bearer(`${valid.slice(0, -1)}${valid.endsWith('a') ? 'b' : 'a'}`), 'malformed_token'],
    ['another Bearer token (no JWT method configured)', bearer('eyJhbGciOiJSUzI1NiJ9.e30.c2ln'), 'malformed_token'],
    ['no credentials', undefined, 'missing_credentials'],
  ];
  for (const [title, headers, reason] of refused) {
    it(`refuses ${title} with 401 and the Bearer challenge`, async () => {
      const { gateway, upstream } = setup;
      const seen = upstream.requests.length;
      const response = await gateway.request('/prometheus/api/v1/query?query=up', { headers });
      assert.equal(response.status, 401);
      assert.equal(response.headers['www-authenticate'], 'Bearer realm="promgate"');
      assert.equal(upstream.requests.length, seen, 'nothing reached the upstream');
      const failure = await waitFor(() => log.lines().findLast((each) => each.msg === 'authentication failed'));
      assert.equal(failure.reason, reason);
      // The owner of an expired token is worth an operator's attention; an unknown one names no one.
      assert.equal(failure.user, reason === 'expired_token' ? 'old' : undefined);
    });
  }

  it('reloads the file: a new token works and a removed one is refused, without a restart', async () => {
    const { gateway } = setup;
    const added = generateToken();
    replaceFile(tokensFile, `grafana sha256:${tokenDigest(added)}\n`);
    await waitFor(
      async () => (await gateway.request('/prometheus/api/v1/query', { headers: bearer(added) })).status === 200,
      { timeoutMs: 10_000, message: 'the added token' },
    );
    assert.equal((await gateway.request('/prometheus/api/v1/query', { headers: bearer(valid) })).status, 401);
    assert.ok(log.lines().some((line) => line.msg === 'reloaded tokens file' && line.tokens === 1));
  });

  it('keeps the last good tokens when the file turns bad, and says so in the log and metrics', async () => {
    const { gateway } = setup;
    const kept = generateToken();
    replaceFile(tokensFile, `kept sha256:${tokenDigest(kept)}\n`);
    await waitFor(
      async () => (await gateway.request('/prometheus/api/v1/query', { headers: bearer(kept) })).status === 200,
      { timeoutMs: 10_000, message: 'the kept token' },
    );
    const pasted = generateToken();
    replaceFile(tokensFile, `kept sha256:${tokenDigest(kept)}\nbroken ${pasted}\n`);
    const error = await waitFor(() => log.lines().find((line) => line.level === 'error' && line.file === tokensFile), {
      timeoutMs: 10_000,
      message: 'the reload error',
    });
    assert.equal(
      error.msg,
      `${tokensFile}:2: holds a token itself; the file takes its digest, sha256:HEX (promgate token create writes the line); keeping the previous tokens`,
    );
    assert.ok(!log.raw.join('').includes(pasted), 'the pasted token is in no log line');
    assert.equal((await gateway.request('/prometheus/api/v1/query', { headers: bearer(kept) })).status, 200);
    const metrics = await gateway.handle.gateway.metrics.registry.metrics();
    assert.match(metrics, /promgate_config_reloads_total\{source="tokens",result="failure"\} 1/);
    assert.match(metrics, /promgate_config_last_reload_successful\{source="tokens"\} 0/);
  });
});

describe('API tokens beside basic auth', () => {
  const tokensFile = join(tokensFolder(), 'tokens');
  const token = generateToken();
  writeFileSync(tokensFile, `ci sha256:${tokenDigest(token)}\n`);
  const htpasswdFile = writeHtpasswd([{ user: 'alice', password: 'correct horse', flag: '-B' }]);
  const setup = useGatewayWithUpstream((upstream) => ({ upstream: upstream.url, auth: { tokensFile, htpasswdFile } }));

  it('takes either, and a 401 offers both challenges', async () => {
    const { gateway } = setup;
    const path = '/prometheus/api/v1/query';
    assert.equal((await gateway.request(path, { headers: bearer(token) })).status, 200);
    assert.equal(
      (await gateway.request(path, { headers: { authorization: basicAuth('alice', 'correct horse') } })).status,
      200,
    );
    const refused = await gateway.request(path);
    assert.equal(refused.status, 401);
    assert.equal(
      refused.headers['www-authenticate'],
      'Basic realm="promgate", charset="UTF-8", Bearer realm="promgate"',
    );
  });
});

describe('API tokens and the failed-login limits', () => {
  const tokensFile = join(tokensFolder(), 'tokens');
  const token = generateToken();
  writeFileSync(tokensFile, `ci sha256:${tokenDigest(token)}\n`);
  const htpasswdFile = writeHtpasswd([{ user: 'alice', password: 'correct horse', flag: '-B' }]);
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    auth: { tokensFile, htpasswdFile },
    rateLimit: { failedAuthPerClient: { requests: 3, window: '1m' } },
  }));

  it("count a client's wrong tokens, but never refuse its right one", async () => {
    const { gateway } = setup;
    const path = '/prometheus/api/v1/query';
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++)
      statuses.push((await gateway.request(path, { headers: bearer(generateToken()) })).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    assert.equal((await gateway.request(path, { headers: bearer(token) })).status, 200);
    assert.equal((await gateway.request(path, { headers: bearer(generateToken()) })).status, 429);
  });
});

describe('API tokens beside JWTs', () => {
  const tokensFile = join(tokensFolder(), 'tokens');
  const token = generateToken();
  writeFileSync(tokensFile, `ci sha256:${tokenDigest(token)}\n`);
  const log = collectingLogger();
  let provider: TestJwtProvider;
  before(async () => {
    provider = await startJwtProvider();
  });
  after(() => provider?.close());
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    auth: { tokensFile, jwt: { issuer: provider.issuer, audience: TEST_AUDIENCE, caFile: provider.caFile } },
    logger: log.logger,
  }));
  const lastLine = (msg: string) => waitFor(() => log.lines().findLast((line) => line.msg === msg));

  it('judges Bearer promgate_ tokens as API tokens and every other Bearer token as a JWT', async () => {
    const { gateway } = setup;
    const path = '/prometheus/api/v1/query';
    const accepted: Array<[string, string]> = [
      [token, 'token'],
      [await provider.sign({ sub: 'svc' }), 'jwt'],
    ];
    for (const [credential, method] of accepted) {
      const before = log.lines().length;
      assert.equal((await gateway.request(path, { headers: bearer(credential) })).status, 200, method);
      const line = await waitFor(() =>
        log
          .lines()
          .slice(before)
          .find((each) => each.msg === 'request'),
      );
      assert.equal(line.auth_method, method);
    }
    assert.equal((await gateway.request(path, { headers: bearer(generateToken()) })).status, 401);
    assert.equal((await lastLine('authentication failed')).reason, 'unknown_token', 'an unknown promgate_ token');
  });
});

describe('promgate token create', () => {
  it('prints the token once, appends its line to a 0600 file, and the gateway takes the token', async () => {
    const file = join(tokensFolder(), 'tokens');
    const first = await runCli(['token', 'create', '--name', 'grafana', '--file', file, '--group', 'sre']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^promgate_[0-9A-Za-z]{49}\n$/, 'the token alone on stdout');
    const token = first.stdout.trim();
    assert.ok(!first.stderr.includes(token), 'the token only once');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const firstLine = readFileSync(file, 'utf8');
    assert.equal(firstLine, `grafana sha256:${tokenDigest(token)} groups=sre\n`);

    const second = await runCli(['token', 'create', '--name', 'ci', '--file', file, '--expires', '90d']);
    assert.equal(second.code, 0, second.stderr);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith(firstLine), 'earlier lines kept as they were');
    assert.match(text.slice(firstLine.length), /^ci sha256:[0-9a-f]{64} expires=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);

    const upstream = await startUpstream();
    const gateway = await startTestGateway({ upstream: upstream.url, auth: { tokensFile: file } });
    try {
      for (const each of [token, second.stdout.trim()])
        assert.equal((await gateway.request('/prometheus/api/v1/query', { headers: bearer(each) })).status, 200);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  const mistakes: Array<[string, string[], RegExp]> = [
    ['a name with a colon', ['--name', 'a:b'], /--name must be non-empty, without ":" or spaces/],
    ['a bad duration', ['--name', 'a', '--expires', '90days'], /--expires must be a duration such as 90d/],
    ['a missing name', [], /--name is required/],
  ];
  for (const [title, args, expected] of mistakes) {
    it(`refuses ${title} with one clear line, printing no token`, async () => {
      const file = join(tokensFolder(), 'tokens');
      const result = await runCli(['token', 'create', '--file', file, ...args]);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, expected);
      assert.throws(() => statSync(file), 'no file written');
    });
  }

  it('refuses an unwritable file', async () => {
    const result = await runCli(['token', 'create', '--name', 'a', '--file', join(tokensFolder(), 'no', 'tokens')]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^promgate: .*\/no\/tokens: cannot write the tokens file: file does not exist\n$/);
  });
});
