// From an ID token's claims to the session's identity: the user, the groups, and the claims
// tenancy reads. Read as the JWT method reads access tokens' claims.

import { claimAt } from '../../src/kernel/claims.ts';

export { claimAt, groupsIn } from '../../src/kernel/claims.ts';

/** The named claims that are present, by the name asked for. */
export function pickClaims(
  claims: Readonly<Record<string, unknown>>,
  names: readonly string[],
): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) {
    const value = claimAt(claims, name);
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}
