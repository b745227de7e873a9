// The tenancy stage: right after access control, a request whose roles restrict it to a tenant
// (req.promgate.tenant) is handed to its component's enforcement; every other request passes
// untouched. A route whose component has no enforcement refuses tenant roles rather than serve
// them everything.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendError } from '../../src/kernel/error-answer.ts';
import type { Logger } from '../../src/kernel/logger.ts';
import type { Preset } from '../access-control/presets.ts';
import { createAlertmanagerTenancy } from './alertmanager.ts';
import { createPrometheusTenancy, type TenantHandler } from './prometheus.ts';
import * as promql from './promql/index.ts';

/** Tenant headers of multi-tenant backends: a tenant must never choose its own. */
export const CLIENT_TENANT_HEADERS = ['x-scope-orgid', 'thanos-tenant'] as const;

export interface TenancyStageOptions {
  preset: Preset;
  /** The route's upstream (Alertmanager looks silences up there). */
  upstream: URL;
  logger: Logger;
  /** Largest form body read (web.maxRequestBodySize). */
  maxBodySize: number;
}

export function createTenancyStage(options: TenancyStageOptions): RequestHandler {
  const { preset, logger } = options;
  const handler: TenantHandler | undefined =
    preset === 'prometheus'
      ? createPrometheusTenancy({ logger, enforcer: promql, maxBodySize: options.maxBodySize })
      : preset === 'alertmanager'
        ? createAlertmanagerTenancy({ logger, upstream: options.upstream, maxBodySize: options.maxBodySize })
        : undefined;
  return (req: Request, res: Response, next: NextFunction) => {
    const scope = req.promgate?.tenant;
    if (scope === undefined) return next();
    // Deleted only when sent: a delete makes the headers object slower for every later stage.
    for (const header of CLIENT_TENANT_HEADERS) if (req.headers[header] !== undefined) delete req.headers[header];
    if (handler) return handler(req, res, next, scope);
    const path = req.url.split('?', 1)[0] ?? '';
    logger.info({ method: req.method, path, user: req.promgate?.user, preset }, 'tenant request refused');
    sendError(res, path, 403, 'forbidden', `tenant roles are not supported on a ${preset} route`);
  };
}
