// From an ID token's claims to the session's identity: the user, the groups, and the claims
// tenancy reads. Read as the JWT method reads access tokens' claims.

/** A claim by its exact name (`https://example.com/groups`), else by a dotted path (`realm_access.roles`). */
export function claimAt(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part))
      return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The groups claim as a list of names: a JSON list of strings, or one space-separated string. */
export function groupsIn(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((group) => group !== '');
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === 'string');
  return [];
}

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
