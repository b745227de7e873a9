import type { TLSSocket } from 'node:tls';
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
export declare function clientAuthServerOptions(settings: ClientAuthSettings | undefined): {
    requestCert: boolean;
    rejectUnauthorized: boolean;
    ca?: Buffer;
};
/** Why a freshly handshaken connection must be closed, or undefined when it may stay. */
export declare function rejectReason(settings: ClientAuthSettings, socket: TLSSocket): string | undefined;
/** Reads the peer certificate of a TLS socket; undefined when none was presented. */
export declare function readClientIdentity(socket: TLSSocket): ClientIdentity | undefined;
