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

/** dns, email, ip, url; also dn (a directory name), upn and guid (otherNames) and id (registeredID). */
export type SubjectAltName = x509.JsonGeneralName;

export interface ClientCertificateRequest {
  /** RDNs in order; several attributes (or values) in one object make a multi-valued RDN. DER for what JSON cannot say. */
  subject: x509.JsonNameParams | ArrayBuffer;
  sans?: SubjectAltName[];
  /** The subjectAltName extension's value as DER, for names the generator cannot write (any otherName). */
  sanDer?: ArrayBuffer;
}

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
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    },
    crypto,
  );
  const certPem = `${cert.toString('pem')}\n`;
  const certFile = join(folder(), 'ca.crt');
  writeFileSync(certFile, certPem);
  return { name, certFile, certPem, keys };
}

/** A client certificate signed by `ca` (or self-signed when `ca` is undefined). */
export function issueClientCertificate(
  ca: TestCa | undefined,
  commonName: string,
  sans: SubjectAltName[] = [],
): Promise<IssuedCertificate> {
  return issueClientCertificateFor(ca, { subject: [{ CN: [commonName] }], sans });
}

/** A client certificate with any subject and SANs, as a careless or hostile CA might sign. */
export function issueClientCertificateFor(
  ca: TestCa | undefined,
  request: ClientCertificateRequest,
): Promise<IssuedCertificate> {
  const sans = request.sanDer
    ? new x509.Extension('2.5.29.17', false, request.sanDer)
    : request.sans?.length
      ? new x509.SubjectAlternativeNameExtension(request.sans)
      : undefined;
  return issueCertificate(ca, new x509.Name(request.subject), sans, x509.ExtendedKeyUsage.clientAuth);
}

/** A server certificate for localhost / 127.0.0.1 signed by `ca`. */
export function issueServerCertificate(ca: TestCa, commonName = 'localhost'): Promise<IssuedCertificate> {
  const sans = new x509.SubjectAlternativeNameExtension([
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
  ]);
  return issueCertificate(ca, new x509.Name([{ CN: [commonName] }]), sans, x509.ExtendedKeyUsage.serverAuth);
}

async function issueCertificate(
  ca: TestCa | undefined,
  subject: x509.Name,
  sans: x509.Extension | undefined,
  usage: string,
): Promise<IssuedCertificate> {
  const keys = await newKeys();
  const extensions = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage]),
    ...(sans ? [sans] : []),
  ];
  const cert = ca
    ? await x509.X509CertificateGenerator.create(
        {
          serialNumber: serial(),
          subject,
          issuer: `CN=${ca.name}`,
          publicKey: keys.publicKey,
          signingKey: ca.keys.privateKey,
          signingAlgorithm: ALGORITHM,
          extensions,
        },
        crypto,
      )
    : await x509.X509CertificateGenerator.createSelfSigned(
        { serialNumber: serial(), name: subject, keys, signingAlgorithm: ALGORITHM, extensions },
        crypto,
      );
  const dir = folder();
  const certPem = `${cert.toString('pem')}\n`;
  const keyPem = `${x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY')}\n`;
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  return { certFile, keyFile, certPem, keyPem };
}
