// Roles compiled once into matchers. A role allows a request when one of its allow rules matches
// and none of its deny rules does; a request with several roles needs one that allows it.
import { ConfigError, didYouMean } from '../../src/kernel/errors.ts';
import type { Identity, TenantScope } from '../../src/kernel/request-state.ts';
import { builtInRoles, type Preset } from './presets.ts';
import { compileTenant, type TenantScopeOf } from './tenant.ts';

export interface AccessRule {
  name?: string | undefined;
  methods?: readonly string[] | undefined;
  paths: readonly string[];
}

export interface RoleDefinition {
  /** Absent: none, or the viewer's rules for a role with a tenant. */
  allow?: readonly AccessRule[] | undefined;
  deny: readonly AccessRule[];
  /** Label name -> allowed values (placeholders `${user}`, `${groups}`, `${claims.NAME}` allowed). */
  tenant?: Readonly<Record<string, readonly string[]>> | undefined;
}

export interface Decision {
  allowed: boolean;
  /** `role.allow.name` or `role.deny.name` of the rule that decided, or `role.none` when none matched. */
  rule: string;
}

interface CompiledRule {
  methods: ReadonlySet<string> | undefined;
  /** All of the rule's paths in one expression. */
  paths: RegExp;
  /** What the rule decides when it applies: built once, shared by every request. */
  decision: Decision;
}

interface CompiledRole {
  allow: CompiledRule[];
  deny: CompiledRule[];
  /** No allow rule applies. */
  none: Decision;
  /** What a request holding this role may see; absent: everything. */
  tenant?: TenantScopeOf | undefined;
}

/** What a request may see: everything, a tenant's series, or nothing (refused, with the reason). */
export type ScopeDecision = { scope?: TenantScope | undefined; refused?: undefined } | { refused: string };

/** The access-control settings (accessControl in the config): roles and who holds which. */
export interface AccessControlSettings {
  /** The role of a request no user or client certificate maps. */
  defaultRole: string;
  /** Roles beside the built-in ones (a built-in name replaces it). */
  roles: Readonly<Record<string, RoleDefinition>>;
  /** User name -> role. */
  users: Readonly<Record<string, string>>;
  /** Client certificate name -> role. */
  clients: Readonly<Record<string, string>>;
  /** Group name -> role. */
  groups?: Readonly<Record<string, string>> | undefined;
}

export interface AccessPolicy {
  readonly defaultRole: string;
  /** The roles of a request: its user's, its groups' and its client certificate's, else the default role. */
  rolesFor(user: string | undefined, clientNames: readonly string[], groups?: readonly string[]): readonly string[];
  decide(method: string, readings: readonly string[], roles: readonly string[]): Decision;
  /** Whether any role restricts what it may see (else scopeFor always answers everything). */
  readonly hasTenants: boolean;
  /**
   * What an allowed request may see: the union of what its roles that allow it may see. Refused
   * when that is nothing, or when those roles restrict different labels (a union no matcher can say).
   */
  scopeFor(
    method: string,
    readings: readonly string[],
    roles: readonly string[],
    identity: Identity | undefined,
  ): ScopeDecision;
}

export function compilePolicy(config: AccessControlSettings, preset: Preset = 'prometheus'): AccessPolicy {
  const builtIn = builtInRoles(preset);
  const definitions: Record<string, RoleDefinition> = { ...builtIn, ...config.roles };
  const roles = new Map<string, CompiledRole>();
  for (const [name, definition] of Object.entries(definitions)) {
    // A tenant role reads by default: its tenant already says what it may see.
    const allow = definition.allow ?? (definition.tenant ? (builtIn.viewer?.allow ?? []) : []);
    roles.set(name, {
      tenant: definition.tenant && compileTenant(definition.tenant),
      allow: allow.map((rule, index) =>
        compileRule(rule, { allowed: true, rule: `${name}.allow.${rule.name ?? index}` }),
      ),
      deny: definition.deny.map((rule, index) =>
        compileRule(rule, { allowed: false, rule: `${name}.deny.${rule.name ?? index}` }),
      ),
      none: Object.freeze({ allowed: false, rule: `${name}.none` }),
    });
  }
  const known = [...roles.keys()].join(', ');
  const checkRole = (role: string, key: string) => {
    if (!roles.has(role))
      throw new ConfigError(`unknown role "${role}"${didYouMean(role, [...roles.keys()]) || ` (roles: ${known})`}`, {
        key,
      });
  };
  checkRole(config.defaultRole, 'accessControl.defaultRole');
  for (const [user, role] of Object.entries(config.users)) checkRole(role, `accessControl.users.${user}`);
  for (const [client, role] of Object.entries(config.clients)) checkRole(role, `accessControl.clients.${client}`);
  for (const [group, role] of Object.entries(config.groups ?? {})) checkRole(role, `accessControl.groups.${group}`);
  const clientRoles = new Map(Object.entries(config.clients));
  const userRoles = new Map(Object.entries(config.users));
  const groupRoles = new Map(Object.entries(config.groups ?? {}));
  const defaultRoles: readonly string[] = Object.freeze([config.defaultRole]);
  const hasTenants = [...roles.values()].some((role) => role.tenant !== undefined);
  const add = (found: string[], role: string | undefined) => {
    if (role !== undefined && !found.includes(role)) found.push(role);
  };

  return {
    defaultRole: config.defaultRole,
    rolesFor(user, clientNames, groups = NO_NAMES) {
      const found: string[] = [];
      if (user !== undefined) add(found, userRoles.get(user));
      if (groupRoles.size > 0) for (const group of groups) add(found, groupRoles.get(group));
      for (const name of clientNames) add(found, clientRoles.get(name));
      return found.length > 0 ? found : defaultRoles;
    },
    hasTenants,
    scopeFor(method, readings, requestRoles, identity) {
      if (!hasTenants) return EVERYTHING;
      const scopes: TenantScope[] = [];
      for (const roleName of requestRoles) {
        const role = roles.get(roleName);
        if (!role || !decideForRole(role, method, readings).allowed) continue;
        if (!role.tenant) return EVERYTHING; // a role that sees everything allows this request
        scopes.push(role.tenant(identity));
      }
      return unionOf(scopes);
    },
    decide(method, readings, requestRoles) {
      let refusal: Decision | undefined;
      for (const roleName of requestRoles) {
        const role = roles.get(roleName);
        if (!role) continue;
        const decision = decideForRole(role, method, readings);
        if (decision.allowed) return decision;
        refusal ??= decision;
      }
      return refusal ?? NO_ROLE;
    },
  };
}

const NO_ROLE: Decision = Object.freeze({ allowed: false, rule: 'no-role' });
const NO_NAMES: readonly string[] = Object.freeze([]);
const EVERYTHING: ScopeDecision = Object.freeze({});
const NO_TENANT_VALUE: ScopeDecision = Object.freeze({ refused: 'no tenant value for this identity' });

/** Several tenant roles: each label's values joined, when they restrict the same labels. */
function unionOf(scopes: readonly TenantScope[]): ScopeDecision {
  if (scopes.length === 0) return EVERYTHING; // no role allows it: access control refuses anyway
  const [first, ...rest] = scopes as [TenantScope, ...TenantScope[]];
  // The common case, one tenant role: nothing to join.
  if (rest.length === 0) {
    for (const label in first) if (first[label]!.length === 0) return NO_TENANT_VALUE;
    return { scope: first };
  }
  const labels = Object.keys(first).sort().join(',');
  const merged: Record<string, string[]> = {};
  for (const scope of scopes) {
    if (Object.keys(scope).sort().join(',') !== labels)
      return { refused: 'the roles restrict different labels; map one tenant role per user' };
    for (const [label, values] of Object.entries(scope)) {
      const known = (merged[label] ??= []);
      for (const value of values) if (!known.includes(value)) known.push(value);
    }
  }
  if (Object.values(merged).some((values) => values.length === 0)) return NO_TENANT_VALUE;
  return { scope: merged };
}

/** Allowed only if every reading of the path is allowed by this role. */
function decideForRole(role: CompiledRole, method: string, readings: readonly string[]): Decision {
  for (const path of readings) {
    const denied = firstApplying(role.deny, method, path);
    if (denied) return denied.decision;
  }
  let allowedBy: Decision | undefined;
  for (const path of readings) {
    const allowed = firstApplying(role.allow, method, path);
    if (!allowed) return role.none;
    allowedBy ??= allowed.decision;
  }
  return allowedBy ?? role.none; // no readings at all: refused
}

function firstApplying(rules: readonly CompiledRule[], method: string, path: string): CompiledRule | undefined {
  for (const rule of rules) {
    if ((rule.methods === undefined || rule.methods.has(method)) && rule.paths.test(path)) return rule;
  }
  return undefined;
}

function compileRule(rule: AccessRule, decision: Decision): CompiledRule {
  return {
    // HEAD reads like GET: a rule for GET covers it, as Prometheus's router does.
    methods: rule.methods
      ? new Set(rule.methods.includes('GET') ? [...rule.methods, 'HEAD'] : rule.methods)
      : undefined,
    paths: new RegExp(`^(?:${rule.paths.map(patternSource).join('|')})$`),
    decision: Object.freeze(decision),
  };
}

/** `/a/*\/c` one segment per `*`, a final `/**` any rest (also none); everything else literal. */
export function compilePattern(pattern: string): (path: string) => boolean {
  const expression = new RegExp(`^${patternSource(pattern)}$`);
  return (path) => expression.test(path);
}

/** A pattern as a regular expression: a rule is one test per path, nothing split per request. */
function patternSource(pattern: string): string {
  if (pattern === '/**') return '[\\s\\S]*';
  const rest = pattern.endsWith('/**');
  const base = rest ? pattern.slice(0, -3) : pattern;
  const segments = base === '' || base === '/' ? [] : base.split('/').slice(1);
  const fixed = segments
    .map((part) => `/${part === '*' ? '[^/]*' : part.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')}`)
    .join('');
  if (!fixed) return rest ? '(?:/[\\s\\S]*)?' : '/?';
  // `/` has no segments, so no `*` matches it (`[^/]*` alone would take it for one empty segment).
  return `(?!/$)${fixed}${rest ? '(?:/[\\s\\S]*)?' : ''}`;
}
