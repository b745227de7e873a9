// Server certificate material: loading a cert/key pair with errors that name the file, and
// generating self-signed certificates (the dev default and `promgate gen-cert`).
import { createPrivateKey, type KeyObject, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { x509 } from './x509.ts';
import { ConfigError, errorMessage, fileErrorReason } from '../errors.ts';
import { DEFAULT_CERT_FILE, DEFAULT_KEY_FILE } from '../config/schema.ts';

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

export const DEFAULT_CERT_DAYS = 365;
export const DEV_CERT_SUBJECT_ALT_NAMES = ['localhost', '127.0.0.1', '::1'];

/**
 * Loads the configured pair, or, when nothing was configured and the default files are absent,
 * generates a development certificate into certs/. A configured file that is missing, unreadable
 * or does not match is a ConfigError naming it.
 */
export async function loadServerCredentials(
  tls: { certFile?: string | undefined; keyFile?: string | undefined },
  cwd?: string,
  options?: { generate: true },
): Promise<ServerCredentials>;
export async function loadServerCredentials(
  tls: { certFile?: string | undefined; keyFile?: string | undefined },
  cwd: string | undefined,
  options: { generate: boolean },
): Promise<ServerCredentials | undefined>;
export async function loadServerCredentials(
  tls: { certFile?: string | undefined; keyFile?: string | undefined },
  cwd = process.cwd(),
  { generate = true }: { generate?: boolean } = {},
): Promise<ServerCredentials | undefined> {
  const configured = tls.certFile !== undefined || tls.keyFile !== undefined;
  const certFile = resolve(cwd, tls.certFile ?? DEFAULT_CERT_FILE);
  const keyFile = resolve(cwd, tls.keyFile ?? DEFAULT_KEY_FILE);
  if (!configured && !existsSync(certFile) && !existsSync(keyFile)) {
    if (!generate) return undefined;
    const generated = await generateCertificate({
      commonName: 'localhost',
      subjectAltNames: [...DEV_CERT_SUBJECT_ALT_NAMES, hostname()],
    });
    try {
      writeCertificateFiles(generated, certFile, keyFile);
    } catch (error) {
      throw new ConfigError(
        `no certificate at ${certFile}, and a development certificate cannot be written there (${errorMessage(error)}): mount or configure a certificate and key`,
        { key: 'tls.certFile' },
      );
    }
    return { ...readPair(certFile, keyFile), generated: true };
  }
  return { ...readPair(certFile, keyFile), generated: false };
}

function readPair(certFile: string, keyFile: string): Omit<ServerCredentials, 'generated'> {
  return checkPair(
    { pem: readTlsFile(certFile, 'tls.certFile'), origin: certFile, key: 'tls.certFile' },
    { pem: readTlsFile(keyFile, 'tls.keyFile'), origin: keyFile, key: 'tls.keyFile' },
  );
}

/** Where one half of the pair came from: a file, or a field of a config file (inline PEM). */
export interface PemSource {
  pem: Buffer;
  /** File it was read from, or that holds it inline. */
  origin: string;
  /** Config key that named it, e.g. tls.certFile or tls_server_config.cert. */
  key: string;
}

/** Parses and matches a certificate and key, with errors naming where each came from. */
export function checkPair(cert: PemSource, key: PemSource): Omit<ServerCredentials, 'generated'> {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert.pem);
  } catch (error) {
    throw new ConfigError(`not a PEM certificate (${errorMessage(error)})`, { key: cert.key, origin: cert.origin });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key.pem);
  } catch {
    // The parser's message can quote key material; say only what is wrong.
    throw new ConfigError('not a PEM private key, or it is encrypted', { key: key.key, origin: key.origin });
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(`does not match the certificate in ${cert.origin}`, { key: key.key, origin: key.origin });
  }
  return {
    cert: cert.pem,
    key: key.pem,
    certFile: cert.origin,
    keyFile: key.origin,
    fingerprint: certificate.fingerprint256,
    notAfter: new Date(certificate.validTo),
  };
}

/**
 * Checks a client CA bundle: at least one certificate, and every certificate block readable. Go
 * and OpenSSL skip what they cannot parse, so a truncated or mistyped file would silently verify
 * no client at all (or fewer); refused here, a reload keeps the CAs it had.
 */
export function checkCaBundle(source: PemSource): Buffer {
  const blocks =
    source.pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0)
    throw new ConfigError('no PEM certificate in it', { key: source.key, origin: source.origin });
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new ConfigError(`certificate ${index + 1} of ${blocks.length} is not readable (${errorMessage(error)})`, {
        key: source.key,
        origin: source.origin,
      });
    }
  });
  return source.pem;
}

/** Reads a PEM file with an error naming it and the key that configured it. */
export function readTlsFile(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`cannot read: ${fileErrorReason(error)}`, { key, origin: file });
  }
}

/** The pair a web config file names (files win over inline PEM, as in Prometheus). */
export function webConfigCredentials(
  tls: { certFile?: string; keyFile?: string; certPem?: string; keyPem?: string },
  webConfigFile: string,
): ServerCredentials {
  const cert: PemSource = tls.certFile
    ? {
        pem: readTlsFile(tls.certFile, 'tls_server_config.cert_file'),
        origin: tls.certFile,
        key: 'tls_server_config.cert_file',
      }
    : { pem: Buffer.from(tls.certPem ?? ''), origin: webConfigFile, key: 'tls_server_config.cert' };
  const key: PemSource = tls.keyFile
    ? {
        pem: readTlsFile(tls.keyFile, 'tls_server_config.key_file'),
        origin: tls.keyFile,
        key: 'tls_server_config.key_file',
      }
    : { pem: Buffer.from(tls.keyPem ?? ''), origin: webConfigFile, key: 'tls_server_config.key' };
  return { ...checkPair(cert, key), generated: false };
}

/** Creates a self-signed server certificate with SANs (modern clients ignore the CN). */
export async function generateCertificate(options: GenerateCertificateOptions): Promise<{ cert: string; key: string }> {
  const days = options.days ?? DEFAULT_CERT_DAYS;
  const algorithm =
    options.keyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
      : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const names = [...new Set([options.commonName, ...(options.subjectAltNames ?? [])])].map((name) => ({
    type: isIP(name) ? ('ip' as const) : ('dns' as const),
    value: name,
  }));
  const notBefore = new Date(Date.now() - 60_000);
  const x = x509();
  const certificate = await x.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: `01${randomBytes(15).toString('hex')}`,
      name: [{ CN: [options.commonName] }],
      notBefore,
      notAfter: new Date(notBefore.getTime() + days * 86_400_000),
      signingAlgorithm: algorithm,
      keys,
      extensions: [
        new x.BasicConstraintsExtension(false, undefined, true),
        new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature | x.KeyUsageFlags.keyEncipherment, true),
        new x.ExtendedKeyUsageExtension([x.ExtendedKeyUsage.serverAuth]),
        new x.SubjectAlternativeNameExtension(names),
      ],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const key = x.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return { cert: `${certificate.toString('pem')}\n`, key: `${key}\n` };
}

/**
 * Writes cert (0644) and key (0600), creating the folder. With `overwrite: false`, an existing
 * file is a ConfigError naming it, and neither file is touched.
 */
export function writeCertificateFiles(
  material: { cert: string; key: string },
  certFile: string,
  keyFile: string,
  { overwrite = true } = {},
): void {
  const existing = [certFile, keyFile].filter((file) => existsSync(file));
  if (!overwrite && existing.length > 0) {
    throw new ConfigError(
      `${existing.join(' and ')} already ${existing.length > 1 ? 'exist' : 'exists'}; pass --force to replace, or choose another --out`,
    );
  }
  for (const file of [certFile, keyFile]) mkdirSync(resolve(file, '..'), { recursive: true });
  const flag = overwrite ? 'w' : 'wx'; // wx: a file created meanwhile is not replaced either
  writeFileSync(certFile, material.cert, { mode: 0o644, flag });
  writeFileSync(keyFile, material.key, { mode: 0o600, flag });
  chmodSync(keyFile, 0o600);
}

/** RFC 1123 labels: letters, digits and inner hyphens, 1-63 characters. */
const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * Why a name cannot be a server certificate's subjectAltName, or undefined when it can: a DNS
 * name (RFC 1123; a wildcard only as the whole first label, above at least two labels, as CAs
 * issue them) or an IPv4/IPv6 address. Email and URI names do not identify a server.
 */
export function subjectAltNameProblem(name: string): string | undefined {
  if (isIP(name)) return undefined;
  if (/^\[.*\]$/.test(name) && isIP(name.slice(1, -1))) return 'an IPv6 address is written without brackets';
  if (/^[\d.]+$/.test(name)) return 'not a valid IPv4 address'; // all-numeric labels would read as one
  if (name.length > 253) return 'a DNS name has at most 253 characters';
  const labels = name.split('.');
  const [first, ...rest] = labels;
  if (first === '*') {
    if (rest.length < 2) return 'a wildcard needs at least two labels after it, e.g. *.example.com';
  } else if (name.includes('*')) {
    return 'a wildcard must be the whole first label, e.g. *.example.com';
  }
  const bad = (first === '*' ? rest : labels).find((label) => !DNS_LABEL.test(label));
  if (bad === undefined) return undefined;
  if (bad === '') return 'a DNS name has no empty labels (no leading, trailing or double dots)';
  return 'not a DNS name (letters, digits and hyphens between dots) nor an IP address';
}

export function certificatePaths(outDir: string): { certFile: string; keyFile: string } {
  return { certFile: join(outDir, 'tls.crt'), keyFile: join(outDir, 'tls.key') };
}
