// Reading a verified token's claims, as the JWT method and the sign-in session both do.

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

/** The groups claim as a list of names: a JSON list of strings, or one space-separated string (OAuth scopes). */
export function groupsIn(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((group) => group !== '');
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === 'string');
  return [];
}
