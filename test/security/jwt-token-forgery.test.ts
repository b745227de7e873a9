// Forged, stale and misdirected JWTs against a started gateway whose provider (a local HTTPS key
// set, trusted through auth.jwt.caFile) publishes an ES256 and an RS256 key while the route allows
// ES256 only. Each row must be refused with 401 and the Bearer challenge, for its own reason, with
// nothing reaching the upstream and the token in no log line; the accepted rows pin the edges
// (clock skew, an audience list) so the refusals are not just a gateway that refuses everything.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { exportSPKI, importJWK, SignJWT, UnsecuredJWT } from 'jose';
import type { Logger } from '../../src/kernel/logger.ts';
import { useGatewayWithUpstream } from '../helpers/gateway.ts';
import { startJwtProvider, TEST_AUDIENCE, type TestJwtProvider } from '../helpers/jwks.ts';

const now = () => Math.floor(Date.now() / 1000);
const b64 = (text: string) => Buffer.from(text).toString('base64url');

type Forge = (provider: TestJwtProvider) => Promise<string> | string;

const REFUSED: Array<[string, string, Forge]> = [
  ['expired beyond the clock skew', 'expired_token', (p) => p.sign({ exp: now() - 120, iat: now() - 600 })],
  ['not valid before a time beyond the skew (nbf)', 'token_not_yet_valid', (p) => p.sign({ nbf: now() + 120 })],
  ['issued in the future beyond the skew (iat)', 'token_not_yet_valid', (p) => p.sign({ iat: now() + 120 })],
  ['another issuer', 'wrong_issuer', (p) => p.sign({ iss: 'https://evil.example/realms/test' })],
  ['the issuer with a trailing slash', 'wrong_issuer', (p) => p.sign({ iss: `${p.issuer}/` })],
  ['another audience', 'wrong_audience', (p) => p.sign({ aud: 'grafana' })],
  ['an audience list without ours', 'wrong_audience', (p) => p.sign({ aud: ['account', 'other-api'] })],
  ['no audience', 'wrong_audience', (p) => p.sign({ aud: undefined })],
  ['no expiry', 'missing_expiry', (p) => p.sign({ exp: undefined })],
  ['no user claim (sub)', 'missing_user_claim', (p) => p.sign({ sub: undefined })],
  ['an empty user claim', 'missing_user_claim', (p) => p.sign({ sub: '' })],
  ['alg none, unsigned', 'algorithm_not_allowed', (p) => new UnsecuredJWT(claimsOf(p)).encode()],
  [
    'alg none with the published kid',
    'algorithm_not_allowed',
    (p) => `${b64(JSON.stringify({ alg: 'none', kid: p.keys[0]!.kid }))}.${b64(JSON.stringify(claimsOf(p)))}.`,
  ],
  [
    'HS256 with the public key PEM as the secret',
    'algorithm_not_allowed',
    async (p) =>
      hmacToken(
        p,
        await exportSPKI((await importJWK(p.keys[0]!.publicJwk, 'ES256', { extractable: true })) as CryptoKey),
      ),
  ],
  [
    'HS256 with the public JWK as the secret',
    'algorithm_not_allowed',
    (p) => hmacToken(p, JSON.stringify(p.keys[0]!.publicJwk)),
  ],
  [
    'an unknown kid (a key the provider never published)',
    'unknown_key',
    async (p) => p.sign({}, { key: await p.newKey('ES256', false) }),
  ],
  [
    'the published kid, signed by another key',
    'bad_signature',
    async (p) => {
      const other = await p.newKey('ES256', false);
      return p.sign({}, { key: { ...other, kid: p.keys[0]!.kid } });
    },
  ],
  [
    'a published key of an algorithm the route does not allow (RS256)',
    'algorithm_not_allowed',
    (p) => p.sign({}, { key: p.keys.find((key) => key.alg === 'RS256')! }),
  ],
  [
    'a crit header naming an unknown extension',
    'unsupported_token',
    (p) =>
      p.sign(
        {},
        {
          header: { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true },
          crit: { 'urn:example:must-understand': true },
        },
      ),
  ],
  ['two parts', 'malformed_token', async (p) => (await p.sign()).split('.').slice(0, 2).join('.')],
  ['four parts', 'malformed_token', async (p) => `${await p.sign()}.e30`],
  ['bad base64 in the payload', 'malformed_token', async (p) => (await p.sign()).replace(/\.[^.]+\./, '.!!!*.')],
  ['JSON junk as the payload, validly signed', 'malformed_token', (p) => p.signBytes('not json {')],
  [
    'a header that is not JSON',
    'malformed_token',
    async (p) => `${b64('{"alg":')}.${(await p.sign()).split('.')[1]}.c2ln`,
  ],
  ['an empty Bearer token', 'malformed_token', () => ''],
  ['a payload signed then changed (sub)', 'bad_signature', async (p) => swapPayload(await p.sign(), { sub: 'admin' })],
];

const ACCEPTED: Array<[string, Forge]> = [
  ['a valid token', (p) => p.sign()],
  ['expired within the clock skew', (p) => p.sign({ exp: now() - 10, iat: now() - 300 })],
  ['nbf within the clock skew', (p) => p.sign({ nbf: now() + 10 })],
  ['an audience list that holds ours', (p) => p.sign({ aud: ['account', TEST_AUDIENCE] })],
];

function claimsOf(p: TestJwtProvider) {
  return { iss: p.issuer, aud: TEST_AUDIENCE, sub: 'admin', iat: now(), exp: now() + 300 };
}

function hmacToken(p: TestJwtProvider, secret: string): Promise<string> {
  return new SignJWT(claimsOf(p))
    .setProtectedHeader({ alg: 'HS256', kid: p.keys[0]!.kid })
    .sign(new TextEncoder().encode(secret));
}

function swapPayload(token: string, changes: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  return `${header}.${b64(JSON.stringify({ ...claims, ...changes }))}.${signature}`;
}

describe('JWT forgery: tokens the provider did not issue for this API are refused', () => {
  const lines: string[] = [];
  const record = (level: string) => (fields: Record<string, unknown>, message: string) =>
    lines.push(JSON.stringify({ level, message, ...fields }));
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  let provider: TestJwtProvider;
  // Registered before the gateway's before(): the gateway needs the provider's address.
  before(async () => {
    provider = await startJwtProvider();
    await provider.newKey('RS256');
  });
  after(() => provider?.close());
  const started = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    logger,
    log: { accessLog: false },
    auth: {
      jwt: {
        issuer: provider.issuer,
        audience: TEST_AUDIENCE,
        algorithms: ['ES256'],
        caFile: provider.caFile,
      },
    },
  }));
  const call = async (token: string) => {
    const before = started.upstream.requests.length;
    const logged = lines.length;
    const response = await started.gateway.request('/prometheus/api/v1/query?query=up', {
      headers: { authorization: `Bearer ${token}` },
    });
    return {
      response,
      reached: started.upstream.requests.length - before,
      newLines: lines.slice(logged),
    };
  };

  for (const [name, reason, forge] of REFUSED) {
    it(`refuses ${name}`, async () => {
      const token = await forge(provider);
      const { response, reached, newLines } = await call(token);
      assert.equal(response.status, 401, response.text);
      assert.match(String(response.headers['www-authenticate']), /^Bearer realm="promgate"/);
      assert.equal(reached, 0, 'nothing reaches the upstream');
      assert.ok(
        newLines.some((line) => line.includes(`"reason":"${reason}"`)),
        `refused as ${reason}: ${newLines.join('\n')}`,
      );
      if (token.length > 8) assert.ok(!lines.join('\n').includes(token), 'the token is in no log line');
    });
  }

  for (const [name, forge] of ACCEPTED) {
    it(`accepts ${name}`, async () => {
      const { response, reached } = await call(await forge(provider));
      assert.equal(response.status, 200, response.text);
      assert.equal(reached, 1);
    });
  }

  it('forwards no JWT to the upstream and names no one a token did not', async () => {
    const token = await provider.sign({ sub: 'svc-reporting' });
    await call(token);
    const forwarded = started.upstream.requests.at(-1)!;
    assert.equal(forwarded.headers.authorization, undefined);
  });
});
