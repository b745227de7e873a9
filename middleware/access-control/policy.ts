// Roles compiled once into matchers. A role allows a request when one of its allow rules matches
// and none of its deny rules does; a request with several roles needs one that allows it.
import { ConfigError, didYouMean } from '../../src/kernel/errors.ts';
import { builtInRoles, type Preset } from './presets.ts';

export interface AccessRule {
  name?: string | undefined;
  methods?: readonly string[] | undefined;
  paths: readonly string[];
}

export interface RoleDefinition {
  allow: readonly AccessRule[];
  deny: readonly AccessRule[];
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
}

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
}

export interface AccessPolicy {
  readonly defaultRole: string;
  /** The roles of a request: the user's and the client certificate's, else the default role. */
  rolesFor(user: string | undefined, clientNames: readonly string[]): readonly string[];
  decide(method: string, readings: readonly string[], roles: readonly string[]): Decision;
}

export function compilePolicy(config: AccessControlSettings, preset: Preset = 'prometheus'): AccessPolicy {
  const definitions: Record<string, RoleDefinition> = { ...builtInRoles(preset), ...config.roles };
  const roles = new Map<string, CompiledRole>();
  for (const [name, definition] of Object.entries(definitions)) {
    roles.set(name, {
      allow: definition.allow.map((rule, index) =>
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
  const clientRoles = new Map(Object.entries(config.clients));
  const userRoles = new Map(Object.entries(config.users));
  const defaultRoles: readonly string[] = Object.freeze([config.defaultRole]);

  return {
    defaultRole: config.defaultRole,
    rolesFor(user, clientNames) {
      const found: string[] = [];
      const userRole = user === undefined ? undefined : userRoles.get(user);
      if (userRole) found.push(userRole);
      for (const name of clientNames) {
        const role = clientRoles.get(name);
        if (role && !found.includes(role)) found.push(role);
      }
      return found.length > 0 ? found : defaultRoles;
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
