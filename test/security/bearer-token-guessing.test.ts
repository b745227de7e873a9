// Failed logins are limited per client address for every login method, not only basic auth: a
// client sending wrong API tokens or forged JWTs (each one a signature check) is answered 429
// without any check once it used up its failures, while a token already known to be right keeps
// working from that same address, so guessing cannot lock a working client out.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateToken, tokenDigest } from '../../middleware/api-tokens/token.ts';
import type { ServerOptions } from '../../src/index.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startJwtProvider, TEST_AUDIENCE, type TestJwtProvider } from '../helpers/jwks.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

const PATH = '/prometheus/api/v1/query?query=up';
const FAILURES_ALLOWED = 5;

interface Method {
  name: string;
  settings(provider: TestJwtProvider, tokensFile: string): ServerOptions['auth'];
  good(provider: TestJwtProvider): Promise<string>;
  /** Wrong credentials of this method, each different (a repeated one could be answered from memory). */
  wrong(provider: TestJwtProvider, attempt: number): Promise<string>;
}

const apiToken = generateToken();

const METHODS: Method[] = [
  {
    name: 'API tokens',
    settings: (_provider, tokensFile) => ({ tokensFile }),
    good: async () => apiToken,
    wrong: async () => generateToken(),
  },
  {
    name: 'JWTs',
    settings: (provider) => ({ jwt: { issuer: provider.issuer, audience: TEST_AUDIENCE, caFile: provider.caFile } }),
    good: (provider) => provider.sign(),
    // A right key id and a signature of another key: the gateway must verify to refuse it.
    wrong: async (provider, attempt) => {
      const token = await provider.sign({ sub: `guess-${attempt}` });
      const [header, payload] = token.split('.');
      const other = (await provider.sign({ sub: `other-${attempt}` })).split('.')[2];
      return `${header}.${payload}.${other}`;
    },
  },
];

for (const method of METHODS) {
  describe(`failed logins with ${method.name} are limited per client`, () => {
    let provider: TestJwtProvider;
    let upstream: RecordingUpstream;
    let gateway: TestGateway;
    const bearer = (token: string) => gateway.request(PATH, { headers: { authorization: `Bearer ${token}` } });
    before(async () => {
      provider = await startJwtProvider();
      upstream = await startUpstream();
      const tokensFile = join(mkdtempSync(join(tmpdir(), 'promgate-guess-')), 'tokens');
      writeFileSync(tokensFile, `ci sha256:${tokenDigest(apiToken)}\n`);
      gateway = await startTestGateway({
        upstream: upstream.url,
        auth: method.settings(provider, tokensFile),
        rateLimit: { failedAuthPerClient: { requests: FAILURES_ALLOWED, window: '1m' } },
      });
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
      await provider.close();
    });

    it('answers 429 after the allowed failures, and still serves the known-good token', async () => {
      const good = await method.good(provider);
      assert.equal((await bearer(good)).status, 200, 'the good token, before any guess');
      const statuses: number[] = [];
      for (let attempt = 0; attempt < FAILURES_ALLOWED + 3; attempt++)
        statuses.push((await bearer(await method.wrong(provider, attempt))).status);
      assert.deepEqual(statuses.slice(0, FAILURES_ALLOWED), Array(FAILURES_ALLOWED).fill(401));
      assert.deepEqual(statuses.slice(FAILURES_ALLOWED), [429, 429, 429]);
      assert.equal((await bearer(good)).status, 200, 'the good token, after the guesses');
      assert.equal(upstream.requests.length, 2, 'only the good requests reached the upstream');
    });
  });
}
