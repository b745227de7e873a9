// Server certificate material: loading a cert/key pair with errors that name the file, and
// generating self-signed certificates (the dev default and `promgate gen-cert`).
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { x509 } from "./x509.js";
import { ConfigError, errorMessage, fileErrorReason } from "../errors.js";
import { DEFAULT_CERT_FILE, DEFAULT_KEY_FILE } from "../config/schema.js";
export const DEFAULT_CERT_DAYS = 365;
export const DEV_CERT_SUBJECT_ALT_NAMES = ['localhost', '127.0.0.1', '::1'];
export async function loadServerCredentials(tls, cwd = process.cwd(), { generate = true } = {}) {
    const configured = tls.certFile !== undefined || tls.keyFile !== undefined;
    const certFile = resolve(cwd, tls.certFile ?? DEFAULT_CERT_FILE);
    const keyFile = resolve(cwd, tls.keyFile ?? DEFAULT_KEY_FILE);
    if (!configured && !existsSync(certFile) && !existsSync(keyFile)) {
        if (!generate)
            return undefined;
        const generated = await generateCertificate({
            commonName: 'localhost',
            subjectAltNames: [...DEV_CERT_SUBJECT_ALT_NAMES, hostname()],
        });
        try {
            writeCertificateFiles(generated, certFile, keyFile);
        }
        catch (error) {
            throw new ConfigError(`no certificate at ${certFile}, and a development certificate cannot be written there (${errorMessage(error)}): mount or configure a certificate and key`, { key: 'tls.certFile' });
        }
        return { ...readPair(certFile, keyFile), generated: true };
    }
    return { ...readPair(certFile, keyFile), generated: false };
}
function readPair(certFile, keyFile) {
    return checkPair({ pem: readTlsFile(certFile, 'tls.certFile'), origin: certFile, key: 'tls.certFile' }, { pem: readTlsFile(keyFile, 'tls.keyFile'), origin: keyFile, key: 'tls.keyFile' });
}
/** Parses and matches a certificate and key, with errors naming where each came from. */
export function checkPair(cert, key) {
    let certificate;
    try {
        certificate = new X509Certificate(cert.pem);
    }
    catch (error) {
        throw new ConfigError(`not a PEM certificate (${errorMessage(error)})`, { key: cert.key, origin: cert.origin });
    }
    let privateKey;
    try {
        privateKey = createPrivateKey(key.pem);
    }
    catch {
        // The parser's message can quote key material; say only what is wrong.
        throw new ConfigError('not a PEM private key, or it is encrypted', { key: key.key, origin: key.origin });
    }
    if (!certificate.checkPrivateKey(privateKey)) {
        throw new ConfigError(`does not match the certificate in ${cert.origin}`, { key: key.key, origin: key.origin });
    }
    return { cert: cert.pem, key: key.pem, certFile: cert.origin, keyFile: key.origin, fingerprint: certificate.fingerprint256, notAfter: new Date(certificate.validTo) };
}
/** Reads a PEM file with an error naming it and the key that configured it. */
export function readTlsFile(file, key) {
    try {
        return readFileSync(file);
    }
    catch (error) {
        throw new ConfigError(`cannot read: ${fileErrorReason(error)}`, { key, origin: file });
    }
}
/** The pair a web config file names (files win over inline PEM, as in Prometheus). */
export function webConfigCredentials(tls, webConfigFile) {
    const cert = tls.certFile
        ? { pem: readTlsFile(tls.certFile, 'tls_server_config.cert_file'), origin: tls.certFile, key: 'tls_server_config.cert_file' }
        : { pem: Buffer.from(tls.certPem ?? ''), origin: webConfigFile, key: 'tls_server_config.cert' };
    const key = tls.keyFile
        ? { pem: readTlsFile(tls.keyFile, 'tls_server_config.key_file'), origin: tls.keyFile, key: 'tls_server_config.key_file' }
        : { pem: Buffer.from(tls.keyPem ?? ''), origin: webConfigFile, key: 'tls_server_config.key' };
    return { ...checkPair(cert, key), generated: false };
}
/** Creates a self-signed server certificate with SANs (modern clients ignore the CN). */
export async function generateCertificate(options) {
    const days = options.days ?? DEFAULT_CERT_DAYS;
    const algorithm = options.keyType === 'rsa'
        ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
        : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']));
    const names = [...new Set([options.commonName, ...(options.subjectAltNames ?? [])])].map((name) => ({
        type: isIP(name) ? 'ip' : 'dns',
        value: name,
    }));
    const notBefore = new Date(Date.now() - 60_000);
    const x = x509();
    const certificate = await x.X509CertificateGenerator.createSelfSigned({
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
    }, webcrypto);
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    const key = x.PemConverter.encode(pkcs8, 'PRIVATE KEY');
    return { cert: certificate.toString('pem') + '\n', key: key + '\n' };
}
/** Writes cert (0644) and key (0600), creating the folder. */
export function writeCertificateFiles(material, certFile, keyFile) {
    for (const file of [certFile, keyFile])
        mkdirSync(resolve(file, '..'), { recursive: true });
    writeFileSync(certFile, material.cert, { mode: 0o644 });
    writeFileSync(keyFile, material.key, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
}
export function certificatePaths(outDir) {
    return { certFile: join(outDir, 'tls.crt'), keyFile: join(outDir, 'tls.key') };
}
//# sourceMappingURL=certificates.js.map