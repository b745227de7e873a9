// A gateway in front of the recording upstream whose requests carry a tenant scope, set by a hook
// before access control (as the tenant roles set it), unless the request sends `x-test-tenant: none`.
import type { NextFunction, Request, Response } from 'express';
import type { ServerOptions } from '../../src/index.ts';
import type { TenantScope } from '../../src/kernel/request-state.ts';
import { useGatewayWithUpstream, type GatewayAndUpstream } from './gateway.ts';
import type { RecordedRequest } from './upstream.ts';

export const TEST_SCOPE: TenantScope = { namespace: ['a'] };
export const UNRESTRICTED = { 'x-test-tenant': 'none' };

export function useTenantGateway(
  scope: TenantScope = TEST_SCOPE,
  options: Partial<ServerOptions> = {},
): GatewayAndUpstream {
  return useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    ...options,
    middleware: {
      beforeAuth: (req: Request, _res: Response, next: NextFunction) => {
        if (req.headers['x-test-tenant'] !== 'none') (req.promgate ??= {}).tenant = scope;
        next();
      },
    },
  }));
}

/** What reached the upstream: method, path, and the parameters of its query string and body. */
export function received(request: RecordedRequest): {
  method: string;
  path: string;
  query: string[][];
  body: string[][];
} {
  const url = new URL(request.url, 'http://upstream');
  return {
    method: request.method,
    path: url.pathname,
    query: [...url.searchParams],
    body: [...new URLSearchParams(request.body.toString('latin1'))],
  };
}
