// JWT bearer tokens from an identity provider (service accounts, client-credentials grants, Grafana
// forwarding its user's OAuth token) as one authenticator. jose checks the signature against the
// provider's published keys and the issuer, audience and times; a checked token is remembered by
// its hash until it expires (a few minutes at most), so a repeated token costs a lookup.
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { JWTPayload } from 'jose';
import { API_TOKEN_PREFIX } from '../../src/kernel/api-token.ts';
import { lazyModule } from '../../src/kernel/lazy-module.ts';
import { credentialsOf, type Authenticator, type Identity, type Refusal } from '../../src/kernel/request-state.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import type { JwtAlgorithm } from './algorithms.ts';
import { identityOf, MALFORMED, NOT_YET_VALID, refusalFor } from './claims.ts';
import { createProviderKeys, ProviderUnavailableError } from './keys.ts';
import { VerifiedTokens } from './verified-tokens.ts';

export { ProviderUnavailableError } from './keys.ts';

export { JWT_ALGORITHMS, type JwtAlgorithm } from './algorithms.ts';

/** Checked tokens remembered (LRU). */
export const DEFAULT_VERIFIED_TOKENS = 4096;
/** A checked token is checked again after this long even when its exp is later (keys may be withdrawn). */
export const DEFAULT_VERIFIED_TOKEN_TTL_MS = 5 * 60_000;

export interface JwtAuthOptions {
  /** The `iss` every token must carry; also where the key set is discovered. */
  issuer: string;
  /** The `aud` every token must carry (one of its values when a list). */
  audience: string;
  jwksUrl?: string | undefined;
  algorithms: readonly JwtAlgorithm[];
  /** The claim naming the user (a dotted path reaches into an object claim). */
  userClaim: string;
  groupsClaim: string;
  /** Tolerance for the provider's clock in exp, nbf and iat. */
  clockSkewMs: number;
  caFile?: string | undefined;
  realm: string;
  /** Whether Bearer tokens with the API token prefix are ours too (no token authenticator on the route). */
  takesApiTokenPrefix: boolean;
  logger: Logger;
  cacheSize?: number | undefined;
  cacheTtlMs?: number | undefined;
  /** For tests: the rate limits of key refetches and of retries after a provider failure, the refresh period. */
  keyRefetchCooldownMs?: number | undefined;
  providerRetryMs?: number | undefined;
  keySetRefreshMs?: number | undefined;
}

export interface JwtAuthenticator extends Authenticator {
  readonly method: 'jwt';
  readonly challenge: string;
  /**
   * Whether the request's token is known to be good (accepted on its connection, or verified and
   * cached) or being checked now: failed-login limits never refuse it, as they spare basic auth's.
   */
  sparedFromFailedLoginLimits(req: IncomingMessage): boolean;
  /** Discovers the provider's keys in the background (building opens nothing). */
  start(): void;
  close(): void;
}

interface Accepted {
  /** As Latin-1 bytes: Node reads header bytes as Latin-1, so the conversion is exact (and the cheapest). */
  authorization: Buffer;
  identity: Identity;
  until: number;
}

export function createJwtAuthenticator(options: JwtAuthOptions): JwtAuthenticator {
  const { issuer, audience, userClaim, groupsClaim } = options;
  const keys = createProviderKeys({
    issuer,
    jwksUrl: options.jwksUrl,
    caFile: options.caFile,
    logger: options.logger,
    cooldownMs: options.keyRefetchCooldownMs,
    retryMs: options.providerRetryMs,
    refreshMs: options.keySetRefreshMs,
  });
  const skewSeconds = Math.ceil(options.clockSkewMs / 1000);
  const verifyOptions = {
    issuer,
    audience,
    algorithms: [...options.algorithms],
    clockTolerance: skewSeconds,
    // A token without exp would be good forever.
    requiredClaims: ['exp'],
  };
  const ttlMs = options.cacheTtlMs ?? DEFAULT_VERIFIED_TOKEN_TTL_MS;
  const verified = new VerifiedTokens(options.cacheSize ?? DEFAULT_VERIFIED_TOKENS);
  // Concurrent requests with one token (a dashboard's panels) share one check.
  const checking = new Map<string, Promise<Identity | Refusal>>();
  // The last accepted Authorization value per connection: a keep-alive client repeats it, and
  // recognising it skips even the hash.
  const acceptedOnConnection = new WeakMap<Socket, Accepted>();

  const acceptedNow = (req: IncomingMessage, now: number) => {
    const accepted = acceptedOnConnection.get(req.socket);
    // Constant time: a proxy in front may carry several users' requests on one connection.
    return accepted !== undefined &&
      accepted.until > now &&
      sameSecret(accepted.authorization, req.headers.authorization ?? '')
      ? accepted
      : undefined;
  };

  const check = async (token: string, key: string): Promise<Identity | Refusal> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jose().jwtVerify(token, keys.lookup, verifyOptions));
    } catch (error) {
      if (error instanceof ProviderUnavailableError) throw error;
      return refusalFor(error);
    }
    const now = Date.now();
    // jose checks iat only with a maximum token age; one from the future is as suspect as an nbf.
    if (typeof payload.iat === 'number' && payload.iat > now / 1000 + skewSeconds) return NOT_YET_VALID;
    const identity = identityOf(payload, userClaim, groupsClaim);
    if ('user' in identity) verified.set(key, { identity, until: Math.min((payload.exp ?? 0) * 1000, now + ttlMs) });
    return identity;
  };

  return {
    method: 'jwt',
    challenge: `Bearer realm="${options.realm}"`,
    presents(req) {
      const credentials = credentialsOf(req);
      return (
        credentials?.scheme === 'bearer' &&
        (options.takesApiTokenPrefix || !credentials.token.startsWith(API_TOKEN_PREFIX))
      );
    },
    authenticate(req) {
      const authorization = req.headers.authorization ?? '';
      const now = Date.now();
      const accepted = acceptedNow(req, now);
      if (accepted) return accepted.identity;
      const token = (credentialsOf(req) as { token?: string } | undefined)?.token ?? '';
      if (!JWS_COMPACT.test(token)) return MALFORMED;
      const key = hash('sha256', token, 'base64');
      const remember = (entry: { identity: Identity; until: number }) =>
        acceptedOnConnection.set(req.socket, {
          authorization: Buffer.from(authorization, 'latin1'),
          identity: entry.identity,
          until: entry.until,
        });
      const known = verified.get(key, now);
      if (known) {
        remember(known);
        return known.identity;
      }
      let pending = checking.get(key);
      if (!pending) {
        pending = check(token, key).finally(() => checking.delete(key));
        checking.set(key, pending);
      }
      return pending.then((result) => {
        const entry = verified.get(key, Date.now());
        if (entry) remember(entry);
        return result;
      });
    },
    sparedFromFailedLoginLimits(req) {
      const now = Date.now();
      if (acceptedNow(req, now)) return true;
      const token = (credentialsOf(req) as { token?: string } | undefined)?.token ?? '';
      if (!JWS_COMPACT.test(token)) return false;
      const key = hash('sha256', token, 'base64');
      return verified.get(key, now) !== undefined || checking.has(key);
    },
    start: () => keys.start(),
    close: () => keys.close(),
  };
}

const jose = lazyModule<typeof import('jose')>('jose');

/** header.payload.signature in base64url; anything else is refused before any work. */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function sameSecret(accepted: Buffer, authorization: string): boolean {
  if (accepted.length !== authorization.length) return false;
  return timingSafeEqual(accepted, Buffer.from(authorization, 'latin1'));
}
