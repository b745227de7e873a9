// The identity provider's signing keys: the key set URL (configured, or discovered from the
// issuer), fetched on first use and refreshed by jose when a token names a key it has not seen
// (at most once per cooldown), so key rotation needs no restart. Building opens nothing.
import { readFileSync } from 'node:fs';
import { getCACertificates, rootCertificates } from 'node:tls';
import type { FetchImplementation, FlattenedJWSInput, JWSHeaderParameters, RemoteJWKSet } from 'jose';
import type * as Undici from 'undici';
import { ConfigError, fileErrorReason } from '../../src/kernel/errors.ts';
import { lazyModule } from '../../src/kernel/lazy-module.ts';
import type { Logger } from '../../src/kernel/logger.ts';

/** How long one fetch of the discovery document or the key set may take. */
export const PROVIDER_TIMEOUT_MS = 5000;
/** After a failed discovery or key fetch, requests answer 503 at once for this long before it is tried again. */
export const PROVIDER_RETRY_MS = 5000;
/**
 * A token naming an unknown key refetches the key set at most this often (jose's default is 30 s):
 * a provider that signs with a key the moment it publishes it is refused for this long at most.
 */
export const KEY_REFETCH_COOLDOWN_MS = 5000;
/**
 * The key set is refetched this often in the background, so a key the provider withdrew stops
 * being trusted; while the provider cannot be reached the last keys stay in use.
 */
export const KEY_SET_REFRESH_MS = 10 * 60_000;

export interface ProviderKeysOptions {
  issuer: string;
  /** The key set's URL; absent: the issuer's discovery document's `jwks_uri`. */
  jwksUrl?: string | undefined;
  /** PEM bundle trusted for the provider besides the system's CAs. */
  caFile?: string | undefined;
  logger: Logger;
  /** Overrides for tests (rate limits in milliseconds). */
  cooldownMs?: number | undefined;
  retryMs?: number | undefined;
  refreshMs?: number | undefined;
}

/** A key lookup for jwtVerify: rejects with ProviderUnavailableError when the provider cannot be asked. */
export type KeyLookup = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

export interface ProviderKeys {
  readonly lookup: KeyLookup;
  /** Discovers the key set and fetches it once, in the background; failures are logged and retried on use. */
  start(): void;
  close(): void;
}

/** The provider could not be reached or answered nonsense: not the client's fault (503). */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
  readonly status = 503;
}

// jose's verdicts on a token against a key set it did fetch: the token is wrong, not the provider.
const TOKEN_FAULTS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JWS_INVALID',
]);

const jose = lazyModule<typeof import('jose')>('jose');
// undici's fetch, for its dispatcher option (a CA file); loaded with the first provider, as is the rest.
const undici = lazyModule<typeof Undici>('undici');

export function createProviderKeys(options: ProviderKeysOptions): ProviderKeys {
  const { Agent, fetch } = undici();
  const { issuer, logger } = options;
  checkProviderUrl(issuer, 'auth.jwt.issuer');
  if (options.jwksUrl !== undefined) checkProviderUrl(options.jwksUrl, 'auth.jwt.jwksUrl');
  const agent = new Agent({
    connect: { ca: options.caFile ? [...systemCertificates(), readCaFile(options.caFile)] : undefined },
  });
  // jose hands a WHATWG Headers; undici's own fetch takes the same shape under its own types.
  const providerFetch = ((url: string, init: Parameters<FetchImplementation>[1]) =>
    fetch(url, { ...(init as object), dispatcher: agent })) as unknown as FetchImplementation;
  const retryMs = options.retryMs ?? PROVIDER_RETRY_MS;

  let keySet: Promise<RemoteJWKSet> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  let lastFailure = '';
  let refresh: NodeJS.Timeout | undefined;
  let closed = false;
  const failedRecently = () => Date.now() - failedAt < retryMs;
  const remoteKeySet = (url: string) =>
    jose().createRemoteJWKSet(new URL(url), {
      timeoutDuration: PROVIDER_TIMEOUT_MS,
      cooldownDuration: options.cooldownMs ?? KEY_REFETCH_COOLDOWN_MS,
      // Refreshed by our timer instead: jose would refuse every token once a refresh failed.
      cacheMaxAge: Number.POSITIVE_INFINITY,
      [jose().customFetch]: providerFetch,
    });
  const discover = async (): Promise<RemoteJWKSet> => {
    if (options.jwksUrl !== undefined) return remoteKeySet(options.jwksUrl);
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const response = await fetch(url, {
      dispatcher: agent,
      redirect: 'error',
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      headers: { accept: 'application/json' },
    });
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    // OpenID Connect Discovery 1.0, section 4.3: the document must name the issuer it was asked for.
    if (document.issuer !== issuer) throw new Error(`${url} names issuer ${JSON.stringify(document.issuer)}`);
    if (typeof document.jwks_uri !== 'string') throw new Error(`${url} has no jwks_uri`);
    checkProviderUrl(document.jwks_uri, `jwks_uri of ${url}`);
    return remoteKeySet(document.jwks_uri);
  };
  const unavailable = (error: unknown) => {
    const reason = error instanceof Error ? error.message : String(error);
    // One log line per change of cause, not per request, while the provider is down.
    if (reason !== lastFailure && !closed) logger.error({ issuer, error: reason }, 'cannot get the JWT signing keys');
    lastFailure = reason;
    return new ProviderUnavailableError(`the identity provider's signing keys are unavailable: ${reason}`);
  };
  const keySetNow = (): Promise<RemoteJWKSet> => {
    if (keySet) return keySet;
    if (failedRecently()) return Promise.reject(unavailable(new Error(lastFailure)));
    const discovering = discover().catch((error: unknown) => {
      failedAt = Date.now();
      keySet = undefined;
      throw unavailable(error);
    });
    keySet = discovering;
    return discovering;
  };

  return {
    async lookup(header, token) {
      const keys = await keySetNow();
      // Without any keys yet every lookup would fetch: a provider that is down is asked once per retry period.
      if (keys.jwks() === undefined && failedRecently()) throw unavailable(new Error(lastFailure));
      try {
        const key = await keys(header, token);
        if (lastFailure) logger.info({ issuer }, 'JWT signing keys available again');
        lastFailure = '';
        return key;
      } catch (error) {
        if (TOKEN_FAULTS.has((error as { code?: string }).code ?? '')) throw error;
        failedAt = Date.now();
        throw unavailable(error);
      }
    },
    start() {
      const load = () =>
        keySetNow()
          .then((keys) => keys.reload())
          .then(() => {
            if (lastFailure) logger.info({ issuer }, 'JWT signing keys available again');
            lastFailure = '';
          })
          .catch((error: unknown) => {
            if (error instanceof ProviderUnavailableError) return;
            failedAt = Date.now();
            unavailable(error);
          });
      void load();
      refresh = setInterval(load, options.refreshMs ?? KEY_SET_REFRESH_MS);
      refresh.unref();
    },
    close() {
      closed = true;
      clearInterval(refresh);
      void agent.close();
    },
  };
}

/** HTTPS, or HTTP to this host only: keys fetched over a network in clear text could be swapped. */
function checkProviderUrl(value: string, key: string): void {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  const loopback = url !== undefined && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname);
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback)))
    throw new ConfigError(`must be an https:// URL (http:// only to this host), not ${JSON.stringify(value)}`, {
      key,
    });
}

function systemCertificates(): string[] {
  return typeof getCACertificates === 'function' ? getCACertificates('default') : [...rootCertificates];
}

function readCaFile(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read: ${fileErrorReason(error)}`, { key: 'auth.jwt.caFile', origin: file });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError('holds no PEM certificate (-----BEGIN CERTIFICATE-----)', {
      key: 'auth.jwt.caFile',
      origin: file,
    });
  return pem;
}
