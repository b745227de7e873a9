import { z } from 'zod';
import { clientNames } from "../middleware/access-control/index.js";
import { definePlugin } from "../src/plugins.js";
const tenant = z.string().regex(/^[A-Za-z0-9!._*'()-]{1,150}$/, { message: "must be a Mimir tenant ID (letters, digits and !-_.*'(), up to 150)" });
export default definePlugin({
    name: 'tenant-header',
    options: z.strictObject({
        header: z.string().regex(/^[A-Za-z0-9-]+$/).default('X-Scope-OrgID'),
        users: z.record(z.string(), tenant).default({}),
        clients: z.record(z.string(), tenant).default({}),
        /** For requests no mapping names; without it they are refused (403). */
        default: tenant.optional(),
    }),
    create(options, { logger }) {
        const header = options.header.toLowerCase();
        const users = new Map(Object.entries(options.users));
        const clients = new Map(Object.entries(options.clients));
        return (req, res, next) => {
            const state = req.promgate;
            const fromUser = state?.user === undefined ? undefined : users.get(state.user);
            const fromClient = clientNames(state?.client).map((name) => clients.get(name)).find(Boolean);
            const chosen = fromUser ?? fromClient ?? options.default;
            if (chosen === undefined) {
                logger.info({ user: state?.user, path: req.originalUrl.split('?', 1)[0] }, 'no tenant for this request');
                const body = JSON.stringify({ status: 'error', errorType: 'forbidden', error: 'no tenant is mapped to this user or client certificate' });
                res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
                return;
            }
            req.headers[header] = chosen;
            next();
        };
    },
});
//# sourceMappingURL=tenant-header.js.map