// The OpenID provider as openid-client sees it: discovered on first use (or at start), over HTTPS
// trusting the system's CAs plus an optional bundle. While it cannot be reached, callers get
// ProviderUnavailableError at once for a few seconds, then discovery is tried again; one log line
// per change of cause.
import { readFileSync } from 'node:fs';
import { getCACertificates, rootCertificates } from 'node:tls';
import type * as client from 'openid-client';
import type * as Undici from 'undici';
import { ConfigError } from '../../src/kernel/errors.ts';
import { lazyModule } from '../../src/kernel/lazy-module.ts';
import type { Logger } from '../../src/kernel/logger.ts';

/** How long one request to the provider may take, in seconds (openid-client's unit). */
export const PROVIDER_TIMEOUT_S = 5;
/** After a failed discovery, requests answer 503 at once for this long before it is tried again. */
export const DISCOVERY_RETRY_MS = 5000;

export interface ProviderOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** PEM bundle trusted for the provider besides the system's CAs. */
  caFile?: string | undefined;
  logger: Logger;
  discoveryRetryMs?: number | undefined;
}

export interface ProviderConnection {
  /** The discovered configuration; rejects with ProviderUnavailableError. */
  configuration(): Promise<client.Configuration>;
  /** Logs a failure to reach the provider (once per cause) and returns the error to answer with. */
  unavailable(error: unknown): ProviderUnavailableError;
  /** Notes that the provider answered again. */
  available(): void;
  start(): void;
  close(): void;
}

/** The provider could not be reached or answered nonsense: not the client's fault (503). */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
  readonly status = 503;
}

const openid = lazyModule<typeof import('openid-client')>('openid-client');
// undici's fetch, for its dispatcher option (a CA file); loaded with the first provider, as is the rest.
const undici = lazyModule<typeof Undici>('undici');

export function createProviderConnection(options: ProviderOptions): ProviderConnection {
  const { Agent, fetch } = undici();
  const { issuer, logger } = options;
  const ca = options.caFile ? readCaFile(options.caFile) : undefined;
  const agent = new Agent({ connect: { ca: ca ? [...systemCertificates(), ca] : undefined } });
  const providerFetch = ((url: string, init: object) =>
    fetch(url, { ...init, dispatcher: agent })) as unknown as client.CustomFetch;
  const retryMs = options.discoveryRetryMs ?? DISCOVERY_RETRY_MS;
  const local = new URL(issuer).protocol === 'http:';

  let discovered: Promise<client.Configuration> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  let lastFailure = '';

  const unavailable = (error: unknown) => {
    if (error instanceof ProviderUnavailableError) return error;
    const reason = error instanceof Error ? describe(error) : String(error);
    if (reason !== lastFailure) logger.error({ issuer, error: reason }, 'cannot reach the OpenID provider');
    lastFailure = reason;
    return new ProviderUnavailableError(`the sign-in provider cannot be reached: ${reason}`);
  };
  const configuration = (): Promise<client.Configuration> => {
    if (discovered) return discovered;
    if (Date.now() - failedAt < retryMs) return Promise.reject(unavailable(new Error(lastFailure)));
    discovered = openid()
      .discovery(new URL(issuer), options.clientId, undefined, openid().ClientSecretBasic(options.clientSecret), {
        [openid().customFetch]: providerFetch,
        timeout: PROVIDER_TIMEOUT_S,
        // The schema allows http:// only to localhost (a provider on the same host or in tests).
        ...(local ? { execute: [openid().allowInsecureRequests] } : {}),
      })
      .then((found) => {
        connection.available();
        return found;
      })
      .catch((error: unknown) => {
        failedAt = Date.now();
        discovered = undefined;
        throw unavailable(error);
      });
    return discovered;
  };
  const connection: ProviderConnection = {
    configuration,
    unavailable,
    available() {
      if (lastFailure) logger.info({ issuer }, 'the OpenID provider answers again');
      lastFailure = '';
    },
    start() {
      configuration().catch(() => {});
    },
    close() {
      void agent.close();
    },
  };
  return connection;
}

/** Whether an error means the provider could not be asked or answered nonsense (rather than that it refused). */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof ProviderUnavailableError || error instanceof TypeError) return true; // fetch failed
  if (error instanceof DOMException) return true; // timed out
  if (error instanceof openid().ResponseBodyError) return error.status >= 500;
  return (
    error instanceof openid().ClientError &&
    (error.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || error.code === 'OAUTH_RESPONSE_IS_NOT_JSON')
  );
}

function describe(error: Error): string {
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      key: 'auth.oidc.caFile',
    });
  }
}

/** The CAs Node trusts by default (with --use-system-ca or NODE_EXTRA_CA_CERTS, those too). */
function systemCertificates(): readonly string[] {
  try {
    return getCACertificates('default');
  } catch {
    return rootCertificates;
  }
}

/** A refusal's reason for logs and pages: the OAuth error code or openid-client's message, never a token. */
export function reasonOf(error: unknown): string {
  if (error instanceof openid().AuthorizationResponseError || error instanceof openid().ResponseBodyError)
    return error.error_description ? `${error.error}: ${error.error_description}` : error.error;
  return error instanceof Error ? error.message : String(error);
}
