// API tokens as one authenticator: `Authorization: Bearer promgate_...`, looked up by the token's
// SHA-256 digest in the tokens file (reloaded on change), its expiry checked on every request.
//
// Why a map lookup by digest is safe against timing: the lookup's time can only depend on how the
// digest of the attacker's own guess compares with stored digests. Learning bits of a stored
// SHA-256 digest does not help find a token that hashes to it (the tokens carry 256 random bits),
// so comparing digests needs no constant-time equality; the token itself is never compared.
import type { IncomingMessage } from 'node:http';
import { API_TOKEN_PREFIX } from '../../src/kernel/api-token.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import { credentialsOf, type Authenticator, type Refusal } from '../../src/kernel/request-state.ts';
import { isWellFormedToken, tokenDigest } from './token.ts';
import { watchTokensFile } from './tokens-file.ts';

export interface ApiTokenOptions {
  /** The tokens file (`promgate token create` appends to it), followed for changes. */
  tokensFile: string;
  /** The Bearer challenge's realm (the schema forbids quotes in it). */
  realm: string;
  /**
   * Whether every Bearer token is this method's; else only those with the `promgate_` prefix (the
   * others are a JWT authenticator's).
   */
  takesEveryBearer: boolean;
  logger: Logger;
  checkIntervalMs?: number | undefined;
  /** Told of every tokens file reload attempt after the first load (self-metrics). */
  onReloadResult?: ((ok: boolean) => void) | undefined;
}

export interface ApiTokenAuthenticator extends Authenticator {
  readonly method: 'token';
  /** Begins following the tokens file (building reads it once and follows nothing). */
  start(): void;
  close(): void;
}

const MALFORMED: Refusal = Object.freeze({ refused: 'malformed_token' });
const UNKNOWN: Refusal = Object.freeze({ refused: 'unknown_token' });
const EXPIRED: Refusal = Object.freeze({ refused: 'expired_token' });

export function createApiTokenAuthenticator(options: ApiTokenOptions): ApiTokenAuthenticator {
  const file = watchTokensFile(options.tokensFile, options);
  const { takesEveryBearer } = options;
  const presentedToken = (req: IncomingMessage): string | undefined => {
    const credentials = credentialsOf(req);
    return credentials?.scheme === 'bearer' && credentials.user === undefined ? credentials.token : undefined;
  };
  return {
    method: 'token',
    challenge: `Bearer realm="${options.realm}"`,
    presents(req) {
      const token = presentedToken(req);
      return token !== undefined && (takesEveryBearer || token.startsWith(API_TOKEN_PREFIX));
    },
    authenticate(req) {
      const token = presentedToken(req) ?? '';
      // A typo or a truncated paste never reaches the table, and is told apart in the logs.
      if (!isWellFormedToken(token)) return MALFORMED;
      const entry = file.tokens().get(tokenDigest(token));
      if (!entry) return UNKNOWN;
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now())
        return { ...EXPIRED, claimed: entry.identity.user };
      return entry.identity;
    },
    start: () => file.start(),
    close: () => file.close(),
  };
}
