// From a verified token's claims to an identity, and from jose's errors to a refusal reason.
import type { JWTPayload } from 'jose';
import { claimAt, groupsIn } from '../../src/kernel/claims.ts';
import type { Identity, Refusal } from '../../src/kernel/request-state.ts';

export { claimAt, groupsIn } from '../../src/kernel/claims.ts';

export const MISSING_USER: Refusal = Object.freeze({ refused: 'missing_user_claim' });
export const NOT_YET_VALID: Refusal = Object.freeze({ refused: 'token_not_yet_valid' });
export const MALFORMED: Refusal = Object.freeze({ refused: 'malformed_token' });

export function identityOf(claims: JWTPayload, userClaim: string, groupsClaim: string): Identity | Refusal {
  const user = claimAt(claims, userClaim);
  if (typeof user !== 'string' || user === '') return MISSING_USER;
  return Object.freeze({
    user,
    groups: Object.freeze(groupsIn(claimAt(claims, groupsClaim))),
    method: 'jwt',
    claims: Object.freeze(claims),
  });
}

const CLAIM_REFUSALS: Readonly<Record<string, Refusal>> = {
  nbf: NOT_YET_VALID,
  iss: Object.freeze({ refused: 'wrong_issuer' }),
  aud: Object.freeze({ refused: 'wrong_audience' }),
  exp: Object.freeze({ refused: 'missing_expiry' }),
};

/** By jose's error codes (its classes would load jose with this module). */
export const ERROR_REFUSALS: Readonly<Record<string, Refusal>> = {
  ERR_JWT_EXPIRED: Object.freeze({ refused: 'expired_token' }),
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: Object.freeze({ refused: 'bad_signature' }),
  ERR_JWKS_NO_MATCHING_KEY: Object.freeze({ refused: 'unknown_key' }),
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: Object.freeze({ refused: 'ambiguous_key' }),
  ERR_JOSE_ALG_NOT_ALLOWED: Object.freeze({ refused: 'algorithm_not_allowed' }),
  // An unknown `crit` extension, or an algorithm jose does not implement.
  ERR_JOSE_NOT_SUPPORTED: Object.freeze({ refused: 'unsupported_token' }),
  ERR_JWS_INVALID: MALFORMED,
  ERR_JWT_INVALID: MALFORMED,
};

const INVALID: Refusal = Object.freeze({ refused: 'invalid_token' });

/** Why jose refused a token, as a fixed reason (logs and metrics never see the token or its claims). */
export function refusalFor(error: unknown): Refusal {
  const { code, claim } = (error ?? {}) as { code?: unknown; claim?: unknown };
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return CLAIM_REFUSALS[String(claim)] ?? INVALID;
  return (typeof code === 'string' && ERROR_REFUSALS[code]) || INVALID;
}
