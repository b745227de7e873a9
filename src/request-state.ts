// What the gateway learns about a request and hands to later stages and user middleware.
export interface PromgateRequestState {
  /** The authenticated basic-auth user name. */
  user?: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by promgate's stages (e.g. `req.promgate.user` after basic auth). */
      promgate?: PromgateRequestState;
    }
  }
}
