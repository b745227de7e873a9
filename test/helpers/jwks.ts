// A stand-in identity provider for JWT tests: an HTTPS server (test CA) publishing a discovery
// document and a key set that a test can rotate, take down, and count requests to; and a signer.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  CompactSign,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type JWK,
  type JWTPayload,
  type JWSHeaderParameters,
} from 'jose';
import { issueServerCertificate, makeCa } from './pki.ts';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface TestJwtProvider {
  /** https://127.0.0.1:<port>/realms/test */
  issuer: string;
  jwksUrl: string;
  /** The CA that signed the provider's certificate (auth.jwt.caFile). */
  caFile: string;
  /** Keys in the published set, first one signs by default. */
  keys: SigningKey[];
  /** Requests for the key set so far. */
  jwksRequests: number;
  discoveryRequests: number;
  /** While true every request gets a 503. */
  down: boolean;
  /** A new key, not yet published unless `publish`. */
  newKey(alg?: string, publish?: boolean): Promise<SigningKey>;
  /** A signed token: default claims (iss, aud, sub, exp in 5 minutes, iat now) overridden by `claims`. */
  sign(claims?: JWTPayload, options?: SignOptions): Promise<string>;
  /** Any bytes as the payload, signed with `key` (default: the first key). */
  signBytes(payload: string, key?: SigningKey): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  key?: SigningKey;
  header?: Partial<JWSHeaderParameters>;
  /** Extensions the header's crit may name (jose refuses to sign others). */
  crit?: Record<string, boolean>;
}

export const TEST_AUDIENCE = 'promgate-test';

export async function startJwtProvider(): Promise<TestJwtProvider> {
  const ca = await makeCa('test identity provider CA');
  const certificate = await issueServerCertificate(ca);
  let origin = '';
  const state = {
    keys: [] as SigningKey[],
    jwksRequests: 0,
    discoveryRequests: 0,
    down: false,
  };
  const server: Server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/realms/test/.well-known/openid-configuration') {
      state.discoveryRequests++;
      if (state.down) return send(503, { error: 'down' });
      return send(200, { issuer: `${origin}/realms/test`, jwks_uri: `${origin}/realms/test/certs` });
    }
    if (req.url === '/realms/test/certs') {
      state.jwksRequests++;
      if (state.down) return send(503, { error: 'down' });
      return send(200, { keys: state.keys.map((key) => key.publicJwk) });
    }
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let counter = 0;
  const newKey = async (alg = 'ES256', publish = true): Promise<SigningKey> => {
    const pair = await generateKeyPair(alg, { extractable: true });
    const kid = `key-${++counter}`;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
    const key = { kid, alg, privateKey: pair.privateKey, publicJwk };
    if (publish) state.keys.push(key);
    return key;
  };
  await newKey();
  const issuer = `${origin}/realms/test`;
  return Object.assign(state, {
    issuer,
    jwksUrl: `${issuer}/certs`,
    caFile: ca.certFile,
    newKey,
    async sign(claims: JWTPayload = {}, options: SignOptions = {}) {
      const key = options.key ?? state.keys[0]!;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: TEST_AUDIENCE, sub: 'svc-reporting', iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...options.header } as JWSHeaderParameters & {
          alg: string;
        })
        .sign(key.privateKey, options.crit ? { crit: options.crit } : undefined);
    },
    signBytes(payload: string, key = state.keys[0]!) {
      return new CompactSign(new TextEncoder().encode(payload))
        .setProtectedHeader({ alg: key.alg, kid: key.kid })
        .sign(key.privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
