// Client certificates (mTLS) as Prometheus's client_auth_type defines them. What OpenSSL can
// enforce in the handshake is set as server options; the rest (a certificate required but not
// verified, allowed SANs) is checked once per connection right after the handshake.
import type { TLSSocket } from 'node:tls';
import { x509 } from './x509.ts';

export type ClientAuthType = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';

export interface ClientAuthSettings {
  type: ClientAuthType;
  /** PEM of the CAs that sign client certificates; Node's default roots when absent (as Go). */
  ca?: Buffer;
  /** Exact matches against the client certificate's DNS, email, IP or URI SANs. */
  allowedSans?: readonly string[];
}

/** The verified (or, for Request/RequireAny, presented) client certificate, for later stages. */
export interface ClientIdentity {
  subject: string;
  /** `DNS:x`, `email:x`, `IP:x`, `URI:x`. */
  sans: string[];
  /** SHA-256 fingerprint. */
  fingerprint: string;
  /** True when the certificate chains to a configured CA. */
  verified: boolean;
  /** Set when the certificate could not be read; such connections are refused. */
  unreadable?: string;
}

const SAN_PREFIX: Record<string, string> = { dns: 'DNS', email: 'email', ip: 'IP', url: 'URI' };

export function clientAuthServerOptions(settings: ClientAuthSettings | undefined): { requestCert: boolean; rejectUnauthorized: boolean; ca?: Buffer } {
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
    if (settings.type === 'RequireAnyClientCert' || settings.type === 'RequireAndVerifyClientCert') return 'no client certificate';
    if (settings.allowedSans) return 'no client certificate, and client_allowed_sans requires one';
    return undefined;
  }
  if (identity.unreadable) return `unreadable client certificate: ${identity.unreadable}`;
  if (settings.type === 'VerifyClientCertIfGiven' && !identity.verified) return `client certificate not verified: ${socket.authorizationError}`;
  if (settings.allowedSans && !identity.sans.some((san) => settings.allowedSans!.includes(san.slice(san.indexOf(':') + 1)))) {
    return `client certificate SANs ${JSON.stringify(identity.sans)} match none of client_allowed_sans`;
  }
  return undefined;
}

/** Reads the peer certificate of a TLS socket; undefined when none was presented. */
export function readClientIdentity(socket: TLSSocket): ClientIdentity | undefined {
  const peer = socket.getPeerX509Certificate?.();
  if (!peer) return undefined;
  const identity: ClientIdentity = { subject: peer.subject.replace(/\n/g, ', '), sans: [], fingerprint: peer.fingerprint256, verified: socket.authorized };
  try {
    // Any client can send any bytes here (RequestClientCert & co. accept unverified certificates).
    const x = x509();
    const names = new x.X509Certificate(peer.raw).getExtension(x.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
    identity.sans = names.filter((name) => name.type in SAN_PREFIX).map((name) => `${SAN_PREFIX[name.type]}:${name.value}`);
  } catch (error) {
    identity.unreadable = error instanceof Error ? error.message.split('\n')[0] : 'parse error';
  }
  return identity;
}
