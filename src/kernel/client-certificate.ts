// Reading a client certificate (mTLS) into the names stages map by. Any client can send any bytes
// here (RequestClientCert & co. accept unverified certificates), so names come from parsed fields.
import type { TLSSocket } from 'node:tls';
import type { X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import { x509 } from '../tls/x509.ts';

/** The verified (or, for Request/RequireAny, presented) client certificate, for later stages. */
export interface ClientIdentity {
  /** As OpenSSL prints it, one RDN per `, `: for logs only, never parsed for names. */
  subject: string;
  /** `DNS:x`, `email:x`, `IP:x`, `URI:x`: for logs. */
  sans: string[];
  /** The subject's CN when it is the subject's only CN and alone in its RDN; see certificateNames. */
  commonName?: string;
  /** What the certificate calls its holder: `commonName` (when set), then each DNS, email, IP and URI SAN value. */
  names: string[];
  /** SHA-256 fingerprint. */
  fingerprint: string;
  /** True when the certificate chains to a configured CA. */
  verified: boolean;
  /** Set when the certificate could not be read; such connections are refused. */
  unreadable?: string;
}

const SAN_PREFIX = { dns: 'DNS', email: 'email', ip: 'IP', url: 'URI' } as const;
/** Name.toJSON's key for the attribute type 2.5.4.3 (commonName), whatever its string encoding. */
const COMMON_NAME = 'CN';

/** Reads the peer certificate of a TLS socket; undefined when none was presented. */
export function readClientIdentity(socket: TLSSocket): ClientIdentity | undefined {
  const peer = socket.getPeerX509Certificate?.();
  if (!peer) return undefined;
  const identity: ClientIdentity = {
    subject: peer.subject.replace(/\n/g, ', '),
    sans: [],
    names: [],
    fingerprint: peer.fingerprint256,
    verified: socket.authorized,
  };
  try {
    // Any client can send any bytes here (RequestClientCert & co. accept unverified certificates).
    const names = certificateNames(new (x509().X509Certificate)(peer.raw));
    identity.sans = names.sans.map(({ type, value }) => `${type}:${value}`);
    identity.names = names.sans.map(({ value }) => value);
    if (names.commonName !== undefined) {
      identity.commonName = names.commonName;
      identity.names.unshift(names.commonName);
    }
  } catch (error) {
    identity.unreadable = error instanceof Error ? error.message.split('\n')[0] : 'parse error';
  }
  return identity;
}

const NOBODY: readonly string[] = Object.freeze([]);

/** The names a client certificate maps by (accessControl.clients, plugins): a verified one's, else none. */
export function clientNames(client: ClientIdentity | undefined): readonly string[] {
  return client?.verified ? client.names : NOBODY;
}

export interface CertificateNames {
  commonName?: string;
  sans: Array<{ type: SanType; value: string }>;
}

type SanType = (typeof SAN_PREFIX)[keyof typeof SAN_PREFIX];

/**
 * The names a certificate gives its holder, read from its fields: a printed subject cannot be
 * parsed back safely (`OU=x\, CN=admin` and `CN=a + CN=admin` print a CN= that is no CN).
 * A subject with several CNs, or a CN sharing its RDN with another attribute, names nobody by CN:
 * which one would be meant is a guess. A non-string CN (printed `#hex`) names nobody either.
 * SANs of other types (directory names, otherName) are not names here.
 */
export function certificateNames(cert: PeculiarCertificate): CertificateNames {
  const commonNames: string[] = [];
  let shared = false;
  for (const rdn of cert.subjectName.toJSON()) {
    const values = rdn[COMMON_NAME];
    if (!values) continue;
    commonNames.push(...values);
    shared ||= values.length > 1 || Object.keys(rdn).length > 1;
  }
  const only = commonNames.length === 1 && !shared ? commonNames[0] : undefined;
  const x = x509();
  const sans = (cert.getExtension(x.SubjectAlternativeNameExtension)?.names.toJSON() ?? [])
    .filter((name) => Object.hasOwn(SAN_PREFIX, name.type))
    .map((name) => ({ type: SAN_PREFIX[name.type as keyof typeof SAN_PREFIX], value: name.value }));
  return { ...(only !== undefined && !only.startsWith('#') ? { commonName: only } : {}), sans };
}
