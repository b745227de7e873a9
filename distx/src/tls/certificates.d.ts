export interface ServerCredentials {
    cert: Buffer;
    key: Buffer;
    certFile: string;
    keyFile: string;
    /** SHA-256 fingerprint, colon-separated hex, as `openssl x509 -fingerprint -sha256` prints it. */
    fingerprint: string;
    /** When the certificate expires. */
    notAfter: Date;
    /** Set when the credentials were generated for development at this start. */
    generated: boolean;
}
export interface GenerateCertificateOptions {
    commonName: string;
    /** DNS names and IP addresses; the common name is always included. */
    subjectAltNames?: string[];
    days?: number;
    keyType?: 'rsa' | 'ec';
}
export declare const DEFAULT_CERT_DAYS = 365;
export declare const DEV_CERT_SUBJECT_ALT_NAMES: string[];
/**
 * Loads the configured pair, or, when nothing was configured and the default files are absent,
 * generates a development certificate into certs/. A configured file that is missing, unreadable
 * or does not match is a ConfigError naming it.
 */
export declare function loadServerCredentials(tls: {
    certFile?: string | undefined;
    keyFile?: string | undefined;
}, cwd?: string, options?: {
    generate: true;
}): Promise<ServerCredentials>;
export declare function loadServerCredentials(tls: {
    certFile?: string | undefined;
    keyFile?: string | undefined;
}, cwd: string | undefined, options: {
    generate: boolean;
}): Promise<ServerCredentials | undefined>;
/** Where one half of the pair came from: a file, or a field of a config file (inline PEM). */
export interface PemSource {
    pem: Buffer;
    /** File it was read from, or that holds it inline. */
    origin: string;
    /** Config key that named it, e.g. tls.certFile or tls_server_config.cert. */
    key: string;
}
/** Parses and matches a certificate and key, with errors naming where each came from. */
export declare function checkPair(cert: PemSource, key: PemSource): Omit<ServerCredentials, 'generated'>;
/** Reads a PEM file with an error naming it and the key that configured it. */
export declare function readTlsFile(file: string, key: string): Buffer;
/** The pair a web config file names (files win over inline PEM, as in Prometheus). */
export declare function webConfigCredentials(tls: {
    certFile?: string;
    keyFile?: string;
    certPem?: string;
    keyPem?: string;
}, webConfigFile: string): ServerCredentials;
/** Creates a self-signed server certificate with SANs (modern clients ignore the CN). */
export declare function generateCertificate(options: GenerateCertificateOptions): Promise<{
    cert: string;
    key: string;
}>;
/** Writes cert (0644) and key (0600), creating the folder. */
export declare function writeCertificateFiles(material: {
    cert: string;
    key: string;
}, certFile: string, keyFile: string): void;
export declare function certificatePaths(outDir: string): {
    certFile: string;
    keyFile: string;
};
