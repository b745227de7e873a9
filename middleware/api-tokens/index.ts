// API tokens as one authenticator: `Authorization: Bearer promgate_...`, looked up by the token's
// SHA-256 digest in the tokens file (reloaded on change), its expiry checked on every request.
//
// Why a map lookup by digest is safe against timing: the lookup's time can only depend on how the
// digest of the attacker's own guess compares with stored digests. Learning bits of a stored
// SHA-256 digest does not help find a token that hashes to it (the tokens carry 256 random bits),
// so comparing digests needs no constant-time equality. The one place a token is compared itself
// (a connection's remembered header) compares in constant time.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { API_TOKEN_PREFIX } from '../../src/kernel/api-token.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import { credentialsOf, type Authenticator, type Refusal } from '../../src/kernel/request-state.ts';
import { hasTokenShape, isWellFormedToken, tokenDigest } from './token.ts';
import { watchTokensFile, type TokenEntry, type TokenTable } from './tokens-file.ts';

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
  /**
   * Whether the request presents a known, unexpired token: failed-login limits never refuse it, as
   * basic auth spares credentials known to be right (a client's wrong tokens cannot lock out its right one).
   */
  sparedFromFailedLoginLimits(req: IncomingMessage): boolean;
  /** Begins following the tokens file (building reads it once and follows nothing). */
  start(): void;
  close(): void;
}

const MALFORMED: Refusal = Object.freeze({ refused: 'malformed_token' });
const UNKNOWN: Refusal = Object.freeze({ refused: 'unknown_token' });
const EXPIRED: Refusal = Object.freeze({ refused: 'expired_token' });

interface Accepted {
  authorization: string;
  /** The token set it was found in: a reload makes a new one, so revocations apply at once. */
  table: TokenTable;
  entry: TokenEntry;
}

export function createApiTokenAuthenticator(options: ApiTokenOptions): ApiTokenAuthenticator {
  const file = watchTokensFile(options.tokensFile, options);
  const { takesEveryBearer } = options;
  const presentedToken = (req: IncomingMessage): string | undefined => {
    const credentials = credentialsOf(req);
    return credentials?.scheme === 'bearer' && credentials.user === undefined ? credentials.token : undefined;
  };
  // The last Authorization value accepted on each connection: a keep-alive client repeats it on every
  // request, and recognising it spares hashing (a Grafana or a scraper sends thousands).
  const acceptedOnConnection = new WeakMap<Socket, Accepted>();
  const lookUp = (req: IncomingMessage, token: string): TokenEntry | Refusal => {
    const authorization = req.headers.authorization!;
    const table = file.tokens();
    const accepted = acceptedOnConnection.get(req.socket);
    // Constant time: a proxy in front may carry several clients' requests on one connection.
    if (accepted && accepted.table === table && sameSecret(accepted.authorization, authorization))
      return accepted.entry;
    // A typo or a truncated paste never reaches the table.
    if (!hasTokenShape(token)) return MALFORMED;
    const entry = table.get(tokenDigest(token));
    // The checksum only tells a mistyped token from an unknown one in the logs: a known one has it right.
    if (!entry) return isWellFormedToken(token) ? UNKNOWN : MALFORMED;
    acceptedOnConnection.set(req.socket, { authorization, table, entry });
    return entry;
  };
  return {
    method: 'token',
    challenge: `Bearer realm="${options.realm}"`,
    presents(req) {
      const token = presentedToken(req);
      return token !== undefined && (takesEveryBearer || token.startsWith(API_TOKEN_PREFIX));
    },
    authenticate(req) {
      const entry = lookUp(req, presentedToken(req) ?? '');
      if ('refused' in entry) return entry;
      if (expired(entry)) return { ...EXPIRED, claimed: entry.identity.user };
      return entry.identity;
    },
    sparedFromFailedLoginLimits(req) {
      const token = presentedToken(req);
      if (token === undefined || !token.startsWith(API_TOKEN_PREFIX)) return false;
      const entry = lookUp(req, token);
      return !('refused' in entry) && !expired(entry);
    },
    start: () => file.start(),
    close: () => file.close(),
  };
}

function expired(entry: TokenEntry): boolean {
  return entry.expiresAt !== undefined && entry.expiresAt <= Date.now();
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
