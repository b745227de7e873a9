// API token leakage: a promgate token is a bearer secret, so it must never leave the gateway in a
// log line, an upstream request (headers or URL) or an answer, whatever shape the client sent it
// in, right or wrong; and forwarding the client's Authorization upstream never forwards one.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateToken, tokenDigest } from '../../middleware/api-tokens/token.ts';
import { createLogger } from '../../src/index.ts';
import { basicAuth } from '../helpers/client.ts';
import { useGatewayWithUpstream } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import type { RecordedRequest } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const valid = generateToken();
const expired = generateToken();
const revoked = generateToken();
const mistyped = `${valid.slice(0, -1)}${valid.endsWith('a') ? 'b' : 'a'}`;

function tokensFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'promgate-leak-')), 'tokens');
  writeFileSync(
    file,
    `ci sha256:${tokenDigest(valid)} groups=scrapers\nold sha256:${tokenDigest(expired)} expires=2020-01-01T00:00:00Z\n`,
  );
  return file;
}

interface Variant {
  title: string;
  /** The secret that must appear nowhere. */
  secret: string;
  path?: string;
  headers?: Record<string, string>;
  status: number;
}

const PATH = '/prometheus/api/v1/query?query=up';
const variants: Variant[] = [
  { title: 'a valid token', secret: valid, headers: { authorization: `Bearer ${valid}` }, status: 200 },
  { title: 'a mistyped token', secret: mistyped, headers: { authorization: `Bearer ${mistyped}` }, status: 401 },
  { title: 'an expired token', secret: expired, headers: { authorization: `Bearer ${expired}` }, status: 401 },
  { title: 'a revoked (unknown) token', secret: revoked, headers: { authorization: `Bearer ${revoked}` }, status: 401 },
  {
    title: 'a truncated token',
    secret: valid.slice(0, 40),
    headers: { authorization: `Bearer ${valid.slice(0, 40)}` },
    status: 401,
  },
  { title: 'lowercase bearer', secret: valid, headers: { authorization: `bearer ${valid}` }, status: 200 },
  { title: 'extra spaces', secret: valid, headers: { authorization: `  Bearer    ${valid}   ` }, status: 200 },
  // RFC 9110 separates the scheme with spaces only: refused, and still leaked nowhere.
  { title: 'a tab as separator', secret: valid, headers: { authorization: `Bearer\t${valid}` }, status: 401 },
  {
    title: 'the token as a basic-auth password',
    secret: valid,
    headers: { authorization: basicAuth('ci', valid) },
    status: 401,
  },
  {
    title: 'the token as a basic-auth user name',
    secret: valid,
    headers: { authorization: basicAuth(valid, 'x') },
    status: 401,
  },
  { title: 'the token in the query string', secret: valid, path: `${PATH}&access_token=${valid}`, status: 401 },
  {
    title: 'the token in a custom header next to a valid one',
    secret: revoked,
    headers: { authorization: `Bearer ${revoked}`, 'x-api-key': revoked },
    status: 401,
  },
];

function upstreamText(requests: readonly RecordedRequest[]): string {
  return requests
    .map((request) => [request.url, ...request.rawHeaders, request.body.toString('latin1')].join('\n'))
    .join('\n');
}

for (const forwardAuthorization of [false, true]) {
  describe(`API token leakage (upstream.forwardAuthorization: ${forwardAuthorization})`, () => {
    const lines: string[] = [];
    const logger = createLogger({
      format: 'json',
      level: 'debug',
      destination: { write: (line: string) => lines.push(line) },
    });
    const htpasswdFile = writeHtpasswd([{ user: 'alice', password: 'correct horse', flag: '-B' }]);
    const setup = useGatewayWithUpstream((upstream) => ({
      upstream: { url: upstream.url, forwardAuthorization },
      auth: { tokensFile: tokensFile(), htpasswdFile },
      log: { level: 'debug' },
      logger,
    }));

    for (const variant of variants) {
      it(`${variant.title}: the secret is in no log line, upstream request or answer`, async () => {
        const { gateway, upstream } = setup;
        const seen = upstream.requests.length;
        const logged = lines.length;
        const response = await gateway.request(variant.path ?? PATH, { headers: variant.headers });
        assert.equal(response.status, variant.status);
        // The access line is written when the response closes, just after the client has it.
        await waitFor(() => lines.slice(logged).some((line) => line.includes('"msg":"request"')));
        assert.ok(!response.text.includes(variant.secret), 'not in the body');
        assert.ok(!JSON.stringify(response.headers).includes(variant.secret), 'not in the response headers');
        assert.ok(!lines.join('').includes(variant.secret), 'not in any log line');
        const forwarded = upstream.requests.slice(seen);
        assert.equal(forwarded.length, variant.status === 200 ? 1 : 0);
        assert.ok(!upstreamText(forwarded).includes(variant.secret), 'not in the upstream request');
      });
    }

    it(`a basic-auth Authorization ${forwardAuthorization ? 'is' : 'is not'} forwarded, as configured`, async () => {
      const { gateway, upstream } = setup;
      const authorization = basicAuth('alice', 'correct horse');
      const seen = upstream.requests.length;
      assert.equal((await gateway.request(PATH, { headers: { authorization } })).status, 200);
      assert.equal(upstream.requests[seen]?.headers.authorization, forwardAuthorization ? authorization : undefined);
    });
  });
}
