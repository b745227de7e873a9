// The access-control stage: after authentication, the request's roles (its user's, its verified
// client certificate's, else the default role) must allow its method on every reading of its
// path (./normalize.ts). Refusals are 403 with Prometheus's error JSON under /api/, and never
// reach the upstream.
import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../../src/config/schema.ts';
import { sendError } from '../../src/error-answer.ts';
import type { Logger } from '../../src/logger.ts';
import '../../src/request-state.ts';
import { clientNames } from '../../src/tls/client-certificates.ts';
import { pathReadings } from './normalize.ts';
import { compilePolicy, type AccessPolicy } from './policy.ts';
import type { Preset } from './presets.ts';

export { compilePolicy } from './policy.ts';
export { builtInRoles, PRESET_RULES, PRESETS, type Preset } from './presets.ts';
export { pathReadings } from './normalize.ts';
export { clientNames } from '../../src/tls/client-certificates.ts';

export interface AccessControlOptions {
  config: Config['accessControl'];
  /** Which component's endpoints the built-in viewer role protects. */
  preset?: Preset;
  logger: Logger;
  /** Counts each decision with the rule that made it (self-metrics). */
  onDecision?: (allowed: boolean, rule: string) => void;
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
      const roles = policy.rolesFor(state.user, clientNames(state.client));
      const decision = readings ? policy.decide(req.method, readings, roles) : UNREADABLE_PATH;
      state.rule = decision.rule;
      onDecision?.(decision.allowed, decision.rule);
      if (decision.allowed) return next();
      logger.info({ method: req.method, path: req.originalUrl.split('?', 1)[0], user: state.user, roles: roles.join(','), rule: decision.rule }, 'access denied');
      if (readings) sendError(res, rawPath, 403, 'forbidden', `forbidden by ${decision.rule}`);
      else sendError(res, rawPath, 400, 'bad_data', 'the request path cannot be read');
    },
  };
}

const UNREADABLE_PATH = Object.freeze({ allowed: false, rule: 'unreadable-path' });
