// A role's tenant: label name -> allowed values, where a value may come from the identity, so one
// role serves every team: `${user}`, each of `${groups}`, or `${claims.NAME}` (a string or a list).
import type { Identity, TenantScope } from '../../src/kernel/request-state.ts';

/** The scope of one request holding the role. */
export type TenantScopeOf = (identity: Identity | undefined) => TenantScope;

const PLACEHOLDER = /\$\{(user|groups|claims\.[A-Za-z0-9_.:-]+)\}/g;
const NONE: readonly string[] = Object.freeze([]);

export function compileTenant(tenant: Readonly<Record<string, readonly string[]>>): TenantScopeOf {
  const fixed = Object.values(tenant).every((values) => values.every((value) => !value.includes('${')));
  if (fixed) {
    // Built once: most roles name their values outright.
    const scope: TenantScope = Object.freeze(
      Object.fromEntries(Object.entries(tenant).map(([label, values]) => [label, Object.freeze([...new Set(values)])])),
    );
    return () => scope;
  }
  const labels = Object.entries(tenant).map(([label, values]) => [label, values.map(compileValue)] as const);
  return (identity) => {
    const scope: Record<string, readonly string[]> = {};
    for (const [label, values] of labels) scope[label] = [...new Set(values.flatMap((value) => value(identity)))];
    return scope;
  };
}

/** A value with placeholders as the list it stands for: one entry per combination of their values. */
function compileValue(template: string): (identity: Identity | undefined) => readonly string[] {
  const parts = template.split(PLACEHOLDER);
  // split() with a capture group: text, name, text, name, ..., text.
  if (parts.length === 1) return () => [template];
  return (identity) => {
    let results: string[] = [parts[0]!];
    for (let index = 1; index < parts.length; index += 2) {
      const values = identity ? lookup(identity, parts[index]!) : NONE;
      const text = parts[index + 1]!;
      results = results.flatMap((prefix) => values.map((value) => prefix + value + text));
    }
    return results;
  };
}

function lookup(identity: Identity, name: string): readonly string[] {
  if (name === 'user') return [identity.user];
  if (name === 'groups') return identity.groups;
  const claim = identity.claims?.[name.slice('claims.'.length)];
  if (typeof claim === 'string') return [claim];
  if (typeof claim === 'number' || typeof claim === 'boolean') return [String(claim)];
  if (Array.isArray(claim)) return claim.filter((each): each is string => typeof each === 'string');
  return NONE;
}
