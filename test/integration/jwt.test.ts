// JWT bearer tokens against a started gateway and a local provider (HTTPS with a test CA): keys
// discovered from the issuer, a rotated key accepted without a restart, unknown-kid refetches rate
// limited, and a provider that is down answered with 503 (not the client's fault) until it is back.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateToken, tokenDigest } from '../../middleware/api-tokens/token.ts';
import { runCli } from '../helpers/cli.ts';
import { useGatewayWithUpstream, startTestGateway } from '../helpers/gateway.ts';
import { startJwtProvider, TEST_AUDIENCE, type TestJwtProvider } from '../helpers/jwks.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const QUERY = '/prometheus/api/v1/query?query=up';

describe('JWT bearer tokens from a provider', () => {
  let provider: TestJwtProvider;
  before(async () => {
    provider = await startJwtProvider();
  });
  after(() => provider?.close());
  const started = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    auth: { jwt: { issuer: provider.issuer, audience: TEST_AUDIENCE, caFile: provider.caFile } },
    // The run of unknown kids below is 40 failed logins from one address: not what is tested here.
    rateLimit: { failedAuthPerClient: { requests: 0 } },
  }));
  const query = (token: string) => started.gateway.request(QUERY, { headers: { authorization: `Bearer ${token}` } });

  it('discovers the key set from the issuer and accepts its tokens', async () => {
    const response = await query(await provider.sign());
    assert.equal(response.status, 200, response.text);
    assert.ok(provider.discoveryRequests >= 1, 'asked the discovery document');
    assert.ok(provider.jwksRequests >= 1, 'fetched the key set it names');
  });

  it('answers a request without credentials with the Bearer challenge', async () => {
    const response = await started.gateway.request(QUERY);
    assert.equal(response.status, 401);
    assert.match(String(response.headers['www-authenticate']), /Bearer realm="promgate"/);
  });

  it('accepts a token signed by a key the provider published after start, without a restart', async () => {
    const rotated = await provider.newKey('ES256');
    const token = await provider.sign({}, { key: rotated });
    // The key set is refetched for an unknown kid once its cooldown since the last fetch is over.
    const response = await waitFor(
      async () => {
        const answer = await query(token);
        return answer.status === 200 && answer;
      },
      { timeoutMs: 15_000, intervalMs: 500, message: 'the rotated key to be accepted' },
    );
    assert.equal(response.status, 200);
  });

  it('refetches the key set at most once for a run of unknown kids', async () => {
    const before = provider.jwksRequests;
    const strangers = await Promise.all(
      Array.from({ length: 40 }, async () => provider.sign({}, { key: await provider.newKey('ES256', false) })),
    );
    // One after another: concurrent lookups would share one fetch even without a cooldown.
    const statuses = new Set<number>();
    for (const token of strangers) statuses.add((await query(token)).status);
    assert.deepEqual(statuses, new Set([401]));
    assert.ok(provider.jwksRequests - before <= 1, `${provider.jwksRequests - before} key set requests`);
  });

  it('keeps using the keys it has while the provider is down', async () => {
    provider.down = true;
    try {
      // Never seen before: checked against the keys fetched earlier.
      const response = await query(await provider.sign({ sub: 'grafana-user' }));
      assert.equal(response.status, 200, response.text);
    } finally {
      provider.down = false;
    }
  });
});

describe('JWT bearer tokens beside API tokens', () => {
  let provider: TestJwtProvider;
  const apiToken = generateToken();
  const lines: string[] = [];
  const record = (fields: Record<string, unknown>, message: string) =>
    lines.push(`${message} ${JSON.stringify(fields)}`);
  before(async () => {
    provider = await startJwtProvider();
  });
  after(() => provider?.close());
  const started = useGatewayWithUpstream((upstream) => {
    const tokensFile = join(mkdtempSync(join(tmpdir(), 'promgate-jwt-')), 'tokens');
    writeFileSync(tokensFile, `robot sha256:${tokenDigest(apiToken)}\n`, { mode: 0o600 });
    return {
      upstream: { url: upstream.url, identityHeaders: {} },
      logger: { debug: record, info: record, warn: record, error: record },
      log: { accessLog: false },
      auth: { tokensFile, jwt: { issuer: provider.issuer, audience: TEST_AUDIENCE, caFile: provider.caFile } },
    };
  });
  const query = (authorization: string) => started.gateway.request(QUERY, { headers: { authorization } });

  it('sends promgate_ tokens to the API tokens and every other Bearer token to the JWT method', async () => {
    assert.equal((await query(`Bearer ${apiToken}`)).status, 200);
    assert.equal(started.upstream.requests.at(-1)!.headers['x-forwarded-user'], 'robot');
    assert.equal((await query(`Bearer ${await provider.sign({ sub: 'svc' })}`)).status, 200);
    assert.equal(started.upstream.requests.at(-1)!.headers['x-forwarded-user'], 'svc');
    const logged = lines.length;
    assert.equal((await query(`Bearer ${generateToken()}`)).status, 401);
    assert.match(lines.slice(logged).join('\n'), /"reason":"unknown_token"/, 'judged as an API token');
  });
});

describe('JWT bearer tokens while the provider is down', () => {
  for (const [setup, settings] of [
    ['keys discovered from the issuer', (p: TestJwtProvider) => ({ issuer: p.issuer })],
    ['a configured jwksUrl', (p: TestJwtProvider) => ({ issuer: p.issuer, jwksUrl: p.jwksUrl })],
  ] as const) {
    it(`answers 503, asks the provider once per retry period, and recovers (${setup})`, async () => {
      const provider = await startJwtProvider();
      provider.down = true;
      const upstream = await startUpstream();
      const errors: string[] = [];
      const gateway = await startTestGateway({
        upstream: upstream.url,
        logger: {
          debug() {},
          info() {},
          warn() {},
          error: (fields, message) => errors.push(`${message} ${JSON.stringify(fields)}`),
        },
        auth: { jwt: { ...settings(provider), audience: TEST_AUDIENCE, caFile: provider.caFile } },
      });
      const query = (token: string) => gateway.request(QUERY, { headers: { authorization: `Bearer ${token}` } });
      try {
        const token = await provider.sign();
        await waitFor(() => provider.discoveryRequests + provider.jwksRequests > 0, { message: 'the start' });
        for (let attempt = 0; attempt < 10; attempt++) {
          const down = await query(token);
          assert.equal(down.status, 503, down.text);
          assert.deepEqual(JSON.parse(down.text), {
            status: 'error',
            errorType: 'unavailable',
            error: 'authentication is unavailable; try again shortly',
          });
        }
        assert.ok(
          !errors.some((line) => line.includes('request failed')),
          'a 503 of the provider is no failure of ours',
        );
        assert.equal(upstream.requests.length, 0);
        const asked = provider.discoveryRequests + provider.jwksRequests;
        assert.ok(asked <= 2, `the provider was asked ${asked} times for 10 requests`);
        assert.ok(
          errors.some((line) => line.includes('cannot get the JWT signing keys')),
          errors.join('\n'),
        );
        assert.ok(!errors.join('\n').includes(token), 'the token is in no log line');
        provider.down = false;
        await waitFor(async () => (await query(token)).status === 200, {
          timeoutMs: 15_000,
          intervalMs: 500,
          message: 'the provider to be used again',
        });
      } finally {
        await gateway.close();
        await upstream.close();
        await provider.close();
      }
    });
  }

  it('check-config builds the method without asking the provider, and names a CA file it cannot read', async () => {
    const cert = await makeTestCertificate();
    const common = [
      'check-config',
      `--tls.cert-file=${cert.certFile}`,
      `--tls.key-file=${cert.keyFile}`,
      '--auth.jwt.issuer=https://idp.invalid/realms/ops',
      '--auth.jwt.audience=promgate',
    ];
    const unreachable = await runCli(common);
    assert.equal(unreachable.code, 0, unreachable.stderr);
    const missing = join(cert.dir, 'no-such-ca.pem');
    const noCa = await runCli([...common, `--auth.jwt.ca-file=${missing}`]);
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, new RegExp(`${missing}: auth\\.jwt\\.caFile: cannot read: file does not exist`));
  });

  it('opens nothing while building: check-config never asks the provider', async () => {
    const provider = await startJwtProvider();
    try {
      const { assembleGateway } = await import('../../src/gateway.ts');
      const { validateConfig } = await import('../../src/config/load.ts');
      const { silentLogger } = await import('../../src/logger.ts');
      const config = validateConfig(
        { auth: { jwt: { issuer: provider.issuer, audience: TEST_AUDIENCE, caFile: provider.caFile } } },
        'test',
      );
      const runtime = assembleGateway(config, { logger: silentLogger });
      runtime.gateway.close();
      assert.equal(provider.discoveryRequests + provider.jwksRequests, 0);
    } finally {
      await provider.close();
    }
  });
});
