// Alertmanager silences and a tenant scope: a silence is the tenant's when, for every scoped
// label, one of its matchers is positive and confines the label to the allowed values (a value, or
// a union of quoted values as the gateway writes it). Any other regex is taken to match more.
import type { TenantScope } from '../../src/kernel/request-state.ts';
import { quoteMeta } from './promql/index.ts';

/** Alertmanager's silence matcher (API v2); `isEqual` absent means true. */
export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual?: boolean;
}

/** Whether one matcher confines its label to the allowed values: positive, and a value or union of values. */
function confines(matcher: SilenceMatcher, allowed: readonly string[]): boolean {
  if (matcher.isEqual === false) return false;
  if (!matcher.isRegex) return allowed.includes(matcher.value);
  // Only the union of quoted values that the gateway itself writes is understood; anything else may match more.
  const quoted = new Set(allowed.map(quoteMeta));
  return splitAlternatives(matcher.value).every((alternative) => quoted.has(alternative));
}

/** A regex split at its top-level `|` that are not escaped (quoted values escape theirs). */
function splitAlternatives(regex: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let index = 0; index < regex.length; index++) {
    if (regex[index] === '\\') index++;
    else if (regex[index] === '|') {
      parts.push(regex.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(regex.slice(start));
  return parts;
}

/** A silence is the tenant's when every scoped label has a matcher that confines it to the allowed values. */
export function silenceInScope(matchers: readonly SilenceMatcher[], scope: TenantScope): boolean {
  return Object.entries(scope).every(([name, allowed]) =>
    matchers.some((matcher) => matcher.name === name && confines(matcher, allowed)),
  );
}

/**
 * The silence's matchers with the tenant's added for each scoped label the silence does not
 * match on; a string saying why when a matcher on a scoped label reaches beyond the tenant.
 */
export function scopeSilenceMatchers(
  matchers: readonly SilenceMatcher[],
  scope: TenantScope,
): SilenceMatcher[] | string {
  const scoped = [...matchers];
  for (const [name, allowed] of Object.entries(scope)) {
    const own = matchers.filter((matcher) => matcher.name === name);
    if (own.some((matcher) => confines(matcher, allowed))) continue;
    if (own.length > 0) return `the silence's matchers on "${name}" reach beyond your tenant (${allowed.join(', ')})`;
    scoped.push(
      allowed.length === 1
        ? { name, value: allowed[0]!, isRegex: false, isEqual: true }
        : { name, value: allowed.map(quoteMeta).join('|'), isRegex: true, isEqual: true },
    );
  }
  return scoped;
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function isMatcherList(value: unknown): value is SilenceMatcher[] {
  return (
    Array.isArray(value) &&
    value.every(
      (matcher) =>
        isObject(matcher) &&
        typeof matcher.name === 'string' &&
        typeof matcher.value === 'string' &&
        typeof matcher.isRegex === 'boolean' &&
        (matcher.isEqual === undefined || typeof matcher.isEqual === 'boolean'),
    )
  );
}
