import { sendError } from "../../src/error-answer.js";
import "../../src/request-state.js";
import { pathReadings } from "./normalize.js";
import { compilePolicy } from "./policy.js";
export { compilePolicy } from "./policy.js";
export { builtInRoles, PRESET_RULES, PRESETS } from "./presets.js";
export { pathReadings } from "./normalize.js";
export function createAccessControlStage(options) {
    const policy = compilePolicy(options.config, options.preset);
    const { logger, onDecision } = options;
    return {
        policy,
        handle(req, res, next) {
            const rawPath = req.url.split('?', 1)[0] ?? '/';
            const readings = pathReadings(rawPath);
            const state = (req.promgate ??= {});
            const roles = policy.rolesFor(state.user, clientNames(state.client));
            const decision = readings ? policy.decide(req.method, readings, roles) : { allowed: false, rule: 'unreadable-path' };
            state.rule = decision.rule;
            onDecision?.(decision.allowed, decision.rule);
            if (decision.allowed)
                return next();
            logger.info({ method: req.method, path: req.originalUrl.split('?', 1)[0], user: state.user, roles: roles.join(','), rule: decision.rule }, 'access denied');
            if (readings)
                sendError(res, rawPath, 403, 'forbidden', `forbidden by ${decision.rule}`);
            else
                sendError(res, rawPath, 400, 'bad_data', 'the request path cannot be read');
        },
    };
}
/** A verified client certificate's CN and SAN values (an unverified one names nobody). */
export function clientNames(client) {
    if (!client?.verified)
        return [];
    const names = client.sans.map((san) => san.slice(san.indexOf(':') + 1));
    const cn = /(?:^|, )CN=([^,]+)/.exec(client.subject)?.[1];
    return cn ? [cn, ...names] : names;
}
//# sourceMappingURL=index.js.map