// Roles compiled once into matchers. A role allows a request when one of its allow rules matches
// and none of its deny rules does; a request with several roles needs one that allows it.
import { ConfigError } from "../../src/errors.js";
import { builtInRoles } from "./presets.js";
export function compilePolicy(config, preset = 'prometheus') {
    const definitions = { ...builtInRoles(preset), ...config.roles };
    const roles = new Map();
    for (const [name, definition] of Object.entries(definitions)) {
        roles.set(name, {
            allow: definition.allow.map((rule, index) => compileRule(`${name}.allow.${rule.name ?? index}`, rule)),
            deny: definition.deny.map((rule, index) => compileRule(`${name}.deny.${rule.name ?? index}`, rule)),
        });
    }
    const known = [...roles.keys()].join(', ');
    const checkRole = (role, key) => {
        if (!roles.has(role))
            throw new ConfigError(`unknown role "${role}" (roles: ${known})`, { key });
    };
    checkRole(config.defaultRole, 'accessControl.defaultRole');
    for (const [user, role] of Object.entries(config.users))
        checkRole(role, `accessControl.users.${user}`);
    for (const [client, role] of Object.entries(config.clients))
        checkRole(role, `accessControl.clients.${client}`);
    const clientRoles = new Map(Object.entries(config.clients));
    const userRoles = new Map(Object.entries(config.users));
    return {
        defaultRole: config.defaultRole,
        rolesFor(user, clientNames) {
            const found = [];
            const userRole = user === undefined ? undefined : userRoles.get(user);
            if (userRole)
                found.push(userRole);
            for (const name of clientNames) {
                const role = clientRoles.get(name);
                if (role && !found.includes(role))
                    found.push(role);
            }
            return found.length > 0 ? found : [config.defaultRole];
        },
        decide(method, readings, requestRoles) {
            let refusal;
            for (const roleName of requestRoles) {
                const role = roles.get(roleName);
                if (!role)
                    continue;
                const decision = decideForRole(roleName, role, method, readings);
                if (decision.allowed)
                    return decision;
                refusal ??= decision;
            }
            return refusal ?? { allowed: false, rule: 'no-role' };
        },
    };
}
/** Allowed only if every reading of the path is allowed by this role. */
function decideForRole(roleName, role, method, readings) {
    for (const path of readings) {
        const denied = role.deny.find((rule) => applies(rule, method, path));
        if (denied)
            return { allowed: false, rule: denied.id };
    }
    let allowedBy;
    for (const path of readings) {
        const allowed = role.allow.find((rule) => applies(rule, method, path));
        if (!allowed)
            return { allowed: false, rule: `${roleName}.none` };
        allowedBy ??= allowed.id;
    }
    return { allowed: true, rule: allowedBy ?? `${roleName}.none` };
}
function applies(rule, method, path) {
    return (rule.methods === undefined || rule.methods.has(method)) && rule.matches(path);
}
function compileRule(id, rule) {
    const matchers = rule.paths.map(compilePattern);
    return {
        id,
        // HEAD reads like GET: a rule for GET covers it, as Prometheus's router does.
        methods: rule.methods ? new Set(rule.methods.includes('GET') ? [...rule.methods, 'HEAD'] : rule.methods) : undefined,
        matches: (path) => matchers.some((matches) => matches(path)),
    };
}
/** `/a/*\/c` one segment per `*`, a final `/**` any rest (also none); everything else literal. */
export function compilePattern(pattern) {
    if (pattern === '/**')
        return () => true;
    const rest = pattern.endsWith('/**');
    const base = rest ? pattern.slice(0, -3) : pattern;
    const fixed = base === '' || base === '/' ? [] : base.split('/').slice(1);
    return (path) => {
        const segments = path === '/' ? [] : path.split('/').slice(1);
        if (rest ? segments.length < fixed.length : segments.length !== fixed.length)
            return false;
        return fixed.every((part, index) => part === '*' || part === segments[index]);
    };
}
//# sourceMappingURL=policy.js.map