// Hands the client certificate's identity to later stages as req.promgate.client, read once per
// connection (keep-alive requests reuse it).
import type { TLSSocket } from 'node:tls';
import type { NextFunction, Request, Response } from 'express';
import '../../src/request-state.ts';
import { readClientIdentity, type ClientIdentity } from '../../src/tls/client-certificates.ts';

export function createClientIdentityStage() {
  const identities = new WeakMap<object, ClientIdentity | null>();
  return function attachClientIdentity(req: Request, _res: Response, next: NextFunction): void {
    const socket = req.socket as TLSSocket;
    let identity = identities.get(socket);
    if (identity === undefined) {
      identity = typeof socket.getPeerX509Certificate === 'function' ? readClientIdentity(socket) ?? null : null;
      identities.set(socket, identity);
    }
    if (identity) {
      if (req.promgate) req.promgate.client = identity;
      else req.promgate = { client: identity };
    }
    next();
  };
}
