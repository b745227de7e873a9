// Multi-tenancy for Grafana Mimir, Cortex, Thanos or Loki behind promgate: sets the tenant header
// (X-Scope-OrgID) from the authenticated user or the verified client certificate through a
// mapping. Whatever the client sent in that header is always replaced, so nobody picks a tenant.
//
//   plugins:
//     - module: promgate/plugins/tenant-header     # or a path, e.g. ./plugins/tenant-header.js
//       stage: beforeProxy
//       options: { users: { alice: team-a }, clients: { grafana.example: team-b }, default: anonymous }
//
// With `fromTenant: namespace`, a request whose roles restrict it to a tenant gets the header from
// its scope's values of that label, joined with `|` as Mimir's tenant federation reads several.
import type { Request, Response, NextFunction } from 'express';
import { z } from 'zod';
import { definePlugin } from '../src/index.ts';
import { clientNames } from '../src/kernel/client-certificate.ts';

const tenant = z.string().regex(/^[A-Za-z0-9!._*'()-]{1,150}$/, {
  message: "must be a Mimir tenant ID (letters, digits and !-_.*'(), up to 150)",
});

export default definePlugin({
  name: 'tenant-header',
  options: z.strictObject({
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/)
      .default('X-Scope-OrgID'),
    users: z.record(z.string(), tenant).default({}),
    clients: z.record(z.string(), tenant).default({}),
    /** For requests no mapping names; without it they are refused (403). */
    default: tenant.optional(),
    /** A tenant scope's label whose values (joined with `|`) become the header; before the mappings. */
    fromTenant: z.string().min(1).optional(),
  }),
  create(options, { logger }) {
    const header = options.header.toLowerCase();
    const users = new Map(Object.entries(options.users));
    const clients = new Map(Object.entries(options.clients));
    const refuse = (req: Request, res: Response, reason: string) => {
      logger.info(
        { user: req.promgate?.user, path: req.originalUrl.split('?', 1)[0], reason },
        'no tenant for this request',
      );
      const body = JSON.stringify({ status: 'error', errorType: 'forbidden', error: reason });
      res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    };
    return (req: Request, res: Response, next: NextFunction) => {
      const state = req.promgate;
      const scoped = options.fromTenant === undefined ? undefined : state?.tenant?.[options.fromTenant];
      if (scoped !== undefined) {
        const value = scoped.join('|');
        if (scoped.length > 0 && scoped.every((id) => tenant.safeParse(id).success)) {
          req.headers[header] = value;
          return next();
        }
        return refuse(req, res, `the tenant's ${options.fromTenant} values are not tenant IDs`);
      }
      const fromUser = state?.user === undefined ? undefined : users.get(state.user);
      const fromClient = clientNames(state?.client)
        .map((name) => clients.get(name))
        .find(Boolean);
      const chosen = fromUser ?? fromClient ?? options.default;
      if (chosen === undefined) return refuse(req, res, 'no tenant is mapped to this user or client certificate');
      req.headers[header] = chosen;
      next();
    };
  },
});
