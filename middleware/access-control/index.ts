// The access-control stage: after authentication, the request's roles (its user's, its groups',
// its verified client certificate's, else the default role) must allow its method on every reading
// of its path (src/kernel/path-readings.ts); a role with a tenant also sets what the request may
// see (req.promgate.tenant). Refusals are 403 with Prometheus's error JSON under /api/, and never
// reach the upstream.
import type { NextFunction, Request, Response } from 'express';
import { sendError } from '../../src/kernel/error-answer.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import '../../src/kernel/request-state.ts';
import { clientNames } from '../../src/kernel/client-certificate.ts';
import { pathReadings } from '../../src/kernel/path-readings.ts';
import { compilePolicy, type AccessControlSettings, type AccessPolicy } from './policy.ts';
import type { Preset } from './presets.ts';

export { compilePolicy } from './policy.ts';
export { builtInRoles, PRESET_RULES, PRESETS, type Preset } from './presets.ts';
export { pathReadings } from '../../src/kernel/path-readings.ts';
export { clientNames } from '../../src/kernel/client-certificate.ts';

export interface AccessControlOptions {
  config: AccessControlSettings;
  /** Which component's endpoints the built-in viewer role protects. */
  preset?: Preset;
  logger: Logger;
  /** Counts each decision with the rule that made it and who it was about (self-metrics). */
  onDecision?: (allowed: boolean, rule: string, subject: { method?: string; user?: string }) => void;
}

export interface AccessControlStage {
  policy: AccessPolicy;
  handle(req: Request, res: Response, next: NextFunction): void;
}

export function createAccessControlStage(options: AccessControlOptions): AccessControlStage {
  const policy = compilePolicy(options.config, options.preset);
  const { logger, onDecision } = options;
  return {
    policy,
    handle(req, res, next) {
      const query = req.url.indexOf('?');
      const rawPath = query < 0 ? req.url : req.url.slice(0, query);
      const readings = pathReadings(rawPath);
      const state = (req.promgate ??= {});
      const identity = state.identity;
      const roles = policy.rolesFor(state.user, clientNames(state.client), identity?.groups);
      state.roles = roles;
      let decision = readings ? policy.decide(req.method, readings, roles) : UNREADABLE_PATH;
      let refusal: string | undefined;
      if (decision.allowed && readings && policy.hasTenants) {
        const scoped = policy.scopeFor(req.method, readings, roles, identity);
        if (scoped.refused === undefined) state.tenant = scoped.scope;
        else (refusal = scoped.refused), (decision = NO_TENANT);
      }
      state.rule = decision.rule;
      onDecision?.(decision.allowed, decision.rule, { method: identity?.method, user: identity?.user });
      if (decision.allowed) return next();
      logger.info(
        {
          method: req.method,
          path: req.originalUrl.split('?', 1)[0],
          user: state.user,
          auth_method: identity?.method,
          roles: roles.join(','),
          ...(refusal ? { reason: refusal } : {}),
          rule: decision.rule,
        },
        'access denied',
      );
      if (refusal) sendError(res, rawPath, 403, 'forbidden', refusal);
      else if (readings) sendError(res, rawPath, 403, 'forbidden', `forbidden by ${decision.rule}`);
      else sendError(res, rawPath, 400, 'bad_data', 'the request path cannot be read');
    },
  };
}

const UNREADABLE_PATH = Object.freeze({ allowed: false, rule: 'unreadable-path' });
const NO_TENANT = Object.freeze({ allowed: false, rule: 'tenant' });
