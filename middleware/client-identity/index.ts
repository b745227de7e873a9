// Hands the client certificate's identity to later stages as req.promgate.client, read once per
// connection (keep-alive requests reuse it); and the certificate as an authenticator.
import type { TLSSocket } from 'node:tls';
import type { NextFunction, Request, Response } from 'express';
import { readClientIdentity, type ClientIdentity } from '../../src/kernel/client-certificate.ts';
import type { Authenticator, Identity } from '../../src/kernel/request-state.ts';

export function createClientIdentityStage() {
  const identities = new WeakMap<object, ClientIdentity | null>();
  return function attachClientIdentity(req: Request, _res: Response, next: NextFunction): void {
    const socket = req.socket as TLSSocket;
    let identity = identities.get(socket);
    if (identity === undefined) {
      identity = typeof socket.getPeerX509Certificate === 'function' ? (readClientIdentity(socket) ?? null) : null;
      identities.set(socket, identity);
    }
    if (identity) {
      if (req.promgate) req.promgate.client = identity;
      else req.promgate = { client: identity };
    }
    next();
  };
}

const NO_GROUPS: readonly string[] = Object.freeze([]);

/**
 * A verified client certificate as an identity, named by its first name (CN, else first SAN). It
 * comes after the client-identity stage, which reads the certificate. Roles still map the
 * certificate by all its names (accessControl.clients), never through accessControl.users.
 */
export function createClientCertificateAuthenticator(): Authenticator {
  return {
    method: 'client-certificate',
    presents: (req) => {
      const client = (req as Request).promgate?.client;
      return client?.verified === true && client.names.length > 0;
    },
    authenticate(req): Identity {
      const client = (req as Request).promgate!.client!;
      return { user: client.names[0]!, groups: NO_GROUPS, method: 'client-certificate' };
    },
  };
}
