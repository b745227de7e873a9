// A test PKI made at test time: CAs and client certificates with chosen SANs, for mTLS tests.
import '@abraham/reflection';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const crypto = webcrypto as unknown as Crypto;

export interface TestCa {
  name: string;
  certFile: string;
  certPem: string;
  keys: CryptoKeyPair;
}

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

export type SubjectAltName = { type: 'dns' | 'email' | 'ip' | 'url'; value: string };

const newKeys = async () => (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
const serial = () => `01${randomBytes(15).toString('hex')}`;
const folder = () => mkdtempSync(join(tmpdir(), 'promgate-pki-'));

export async function makeCa(name: string): Promise<TestCa> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: `CN=${name}`,
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    },
    crypto,
  );
  const certPem = cert.toString('pem') + '\n';
  const certFile = join(folder(), 'ca.crt');
  writeFileSync(certFile, certPem);
  return { name, certFile, certPem, keys };
}

/** A client certificate signed by `ca` (or self-signed when `ca` is undefined). */
export function issueClientCertificate(ca: TestCa | undefined, commonName: string, sans: SubjectAltName[] = []): Promise<IssuedCertificate> {
  return issueCertificate(ca, commonName, sans, x509.ExtendedKeyUsage.clientAuth);
}

/** A server certificate for localhost / 127.0.0.1 signed by `ca`. */
export function issueServerCertificate(ca: TestCa, commonName = 'localhost'): Promise<IssuedCertificate> {
  return issueCertificate(ca, commonName, [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }], x509.ExtendedKeyUsage.serverAuth);
}

async function issueCertificate(ca: TestCa | undefined, commonName: string, sans: SubjectAltName[], usage: string): Promise<IssuedCertificate> {
  const keys = await newKeys();
  const extensions = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage]),
    ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
  ];
  const cert = ca
    ? await x509.X509CertificateGenerator.create(
        { serialNumber: serial(), subject: `CN=${commonName}`, issuer: `CN=${ca.name}`, publicKey: keys.publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: ALGORITHM, extensions },
        crypto,
      )
    : await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: serial(), name: `CN=${commonName}`, keys, signingAlgorithm: ALGORITHM, extensions }, crypto);
  const dir = folder();
  const certPem = cert.toString('pem') + '\n';
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') + '\n';
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  return { certFile, keyFile, certPem, keyPem };
}
