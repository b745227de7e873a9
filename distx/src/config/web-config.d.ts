import { type PasswordEntry } from '../../middleware/basic-auth/htpasswd.ts';
import type { ClientAuthType } from '../tls/client-certificates.ts';
declare const TLS_VERSIONS: {
    readonly TLS10: "TLSv1";
    readonly TLS11: "TLSv1.1";
    readonly TLS12: "TLSv1.2";
    readonly TLS13: "TLSv1.3";
};
type TlsVersionName = keyof typeof TLS_VERSIONS;
export interface WebConfig {
    file: string;
    /** The server certificate and key (a file path, else inline PEM), when the file configures TLS. */
    tls?: {
        certFile?: string;
        keyFile?: string;
        certPem?: string;
        keyPem?: string;
        minVersion: (typeof TLS_VERSIONS)[TlsVersionName];
        maxVersion: (typeof TLS_VERSIONS)[TlsVersionName];
        /** OpenSSL cipher list for TLS 1.2, from cipher_suites. */
        ciphers?: string;
        /** OpenSSL groups, from curve_preferences (TLS 1.2 and 1.3 key exchange). */
        ecdhCurve?: string;
        /** client_auth_type, the client CA (file path or inline PEM) and client_allowed_sans. */
        clientAuth?: {
            type: ClientAuthType;
            caFile?: string;
            caPem?: string;
            allowedSans?: string[];
        };
    };
    /** Headers that replace the security preset. */
    headers: Record<string, string>;
    /** basic_auth_users, bcrypt only. */
    users: Map<string, PasswordEntry>;
    http2: boolean;
    /** rate_limit, when its interval is not 0 (as in Prometheus, where 0 turns it off). */
    rateLimit?: {
        intervalMs: number;
        burst: number;
    };
}
export declare function loadWebConfig(file: string): WebConfig;
export {};
