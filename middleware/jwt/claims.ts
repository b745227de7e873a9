// From a verified token's claims to an identity, and from jose's errors to a refusal reason.
import { errors, type JWTPayload } from 'jose';
import type { Identity, Refusal } from '../../src/kernel/request-state.ts';

/** A claim by its exact name (`https://example.com/groups`), else by a dotted path (`realm_access.roles`). */
export function claimAt(claims: JWTPayload, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part))
      return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The groups claim as a list of names: a JSON list of strings, or one space-separated string (OAuth scopes). */
export function groupsIn(value: unknown): readonly string[] {
  if (typeof value === 'string') return Object.freeze(value.split(' ').filter((group) => group !== ''));
  if (Array.isArray(value)) return Object.freeze(value.filter((group): group is string => typeof group === 'string'));
  return NO_GROUPS;
}

const NO_GROUPS: readonly string[] = Object.freeze([]);

export const MISSING_USER: Refusal = Object.freeze({ refused: 'missing_user_claim' });
export const NOT_YET_VALID: Refusal = Object.freeze({ refused: 'token_not_yet_valid' });
export const MALFORMED: Refusal = Object.freeze({ refused: 'malformed_token' });

export function identityOf(claims: JWTPayload, userClaim: string, groupsClaim: string): Identity | Refusal {
  const user = claimAt(claims, userClaim);
  if (typeof user !== 'string' || user === '') return MISSING_USER;
  return Object.freeze({
    user,
    groups: groupsIn(claimAt(claims, groupsClaim)),
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

const ERROR_REFUSALS: Readonly<Record<string, Refusal>> = {
  [errors.JWTExpired.code]: Object.freeze({ refused: 'expired_token' }),
  [errors.JWSSignatureVerificationFailed.code]: Object.freeze({ refused: 'bad_signature' }),
  [errors.JWKSNoMatchingKey.code]: Object.freeze({ refused: 'unknown_key' }),
  [errors.JWKSMultipleMatchingKeys.code]: Object.freeze({ refused: 'ambiguous_key' }),
  [errors.JOSEAlgNotAllowed.code]: Object.freeze({ refused: 'algorithm_not_allowed' }),
  // An unknown `crit` extension, or an algorithm jose does not implement.
  [errors.JOSENotSupported.code]: Object.freeze({ refused: 'unsupported_token' }),
  [errors.JWSInvalid.code]: MALFORMED,
  [errors.JWTInvalid.code]: MALFORMED,
};

const INVALID: Refusal = Object.freeze({ refused: 'invalid_token' });

/** Why jose refused a token, as a fixed reason (logs and metrics never see the token or its claims). */
export function refusalFor(error: unknown): Refusal {
  if (error instanceof errors.JWTClaimValidationFailed) return CLAIM_REFUSALS[error.claim] ?? INVALID;
  if (error instanceof errors.JOSEError) return ERROR_REFUSALS[error.code] ?? INVALID;
  return INVALID;
}
