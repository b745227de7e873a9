import "../../src/request-state.js";
import { readClientIdentity } from "../../src/tls/client-certificates.js";
export function createClientIdentityStage() {
    const identities = new WeakMap();
    return function attachClientIdentity(req, _res, next) {
        const socket = req.socket;
        let identity = identities.get(socket);
        if (identity === undefined) {
            identity = typeof socket.getPeerX509Certificate === 'function' ? readClientIdentity(socket) ?? null : null;
            identities.set(socket, identity);
        }
        if (identity) {
            if (req.promgate)
                req.promgate.client = identity;
            else
                req.promgate = { client: identity };
        }
        next();
    };
}
//# sourceMappingURL=index.js.map