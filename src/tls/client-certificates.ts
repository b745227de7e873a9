// Client certificates (mTLS) as Prometheus's client_auth_type defines them. What OpenSSL can
// enforce in the handshake is set as server options; the rest (a certificate required but not
// verified, allowed SANs) is checked once per connection right after the handshake.
import type { TLSSocket } from 'node:tls';
import { readClientIdentity } from '../kernel/client-certificate.ts';

export {
  certificateNames,
  clientNames,
  readClientIdentity,
  type CertificateNames,
  type ClientIdentity,
} from '../kernel/client-certificate.ts';

export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';

export interface ClientAuthSettings {
  type: ClientAuthType;
  /** PEM of the CAs that sign client certificates; Node's default roots when absent (as Go). */
  ca?: Buffer;
  /** Exact matches against the client certificate's DNS, email, IP or URI SANs. */
  allowedSans?: readonly string[];
}

export function clientAuthServerOptions(settings: ClientAuthSettings | undefined): {
  requestCert: boolean;
  rejectUnauthorized: boolean;
  ca?: Buffer;
} {
  if (!settings || settings.type === 'NoClientCert') return { requestCert: false, rejectUnauthorized: false };
  return {
    requestCert: true,
    rejectUnauthorized: settings.type === 'RequireAndVerifyClientCert',
    ...(settings.ca ? { ca: settings.ca } : {}),
  };
}

/** Why a freshly handshaken connection must be closed, or undefined when it may stay. */
export function rejectReason(settings: ClientAuthSettings, socket: TLSSocket): string | undefined {
  const identity = readClientIdentity(socket);
  if (!identity) {
    if (settings.type === 'RequireAnyClientCert' || settings.type === 'RequireAndVerifyClientCert')
      return 'no client certificate';
    if (settings.allowedSans) return 'no client certificate, and client_allowed_sans requires one';
    return undefined;
  }
  if (identity.unreadable) return `unreadable client certificate: ${identity.unreadable}`;
  if (settings.type === 'VerifyClientCertIfGiven' && !identity.verified)
    return `client certificate not verified: ${socket.authorizationError}`;
  const sanValues = identity.commonName === undefined ? identity.names : identity.names.slice(1);
  if (settings.allowedSans && !sanValues.some((value) => settings.allowedSans!.includes(value))) {
    return `client certificate SANs ${JSON.stringify(identity.sans)} match none of client_allowed_sans`;
  }
  return undefined;
}
