// Certificates made at test time (nothing secret is committed).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCertificate, writeCertificateFiles } from '../../src/index.ts';

export interface TestCertificate {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** A self-signed server certificate for localhost/127.0.0.1/::1 in a fresh temp folder. */
export async function makeTestCertificate(
  options: { keyType?: 'ec' | 'rsa'; commonName?: string } = {},
): Promise<TestCertificate> {
  const dir = mkdtempSync(join(tmpdir(), 'promgate-cert-'));
  const material = await generateCertificate({
    commonName: options.commonName ?? 'localhost',
    subjectAltNames: ['localhost', '127.0.0.1', '::1'],
    keyType: options.keyType ?? 'ec',
  });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeCertificateFiles(material, certFile, keyFile);
  return { dir, certFile, keyFile, ...material };
}
