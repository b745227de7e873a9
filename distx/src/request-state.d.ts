import type { ClientIdentity } from './tls/client-certificates.ts';
export interface PromgateRequestState {
    /** The authenticated basic-auth user name. */
    user?: string | undefined;
    /** The client certificate (mTLS), when the listener asks for one and the client sent it. */
    client?: ClientIdentity;
    /** The access-control or rate-limit rule that decided the request (access logs show it). */
    rule?: string;
}
declare global {
    namespace Express {
        interface Request {
            /** Set by promgate's stages (e.g. `req.promgate.user` after basic auth). */
            promgate?: PromgateRequestState;
        }
    }
}
