// testssl.sh (the Debian package) against a gateway on every TLS default: the bar for
// "secure defaults without any config" is no finding of severity HIGH or CRITICAL.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { requireCommands } from '../helpers/requirements.ts';

const run = promisify(execFile);

/** One scan takes ~45 s on an idle machine; room for a loaded CI runner. */
const SCAN_TIMEOUT_MS = 5 * 60_000;

/** One line of testssl's flat JSON (--jsonfile). */
interface Finding {
  id: string;
  severity: 'OK' | 'INFO' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | 'WARN' | 'DEBUG';
  finding: string;
}

/**
 * HIGH/CRITICAL findings about the test certificate's content, which the operator's CA decides
 * and the gateway's TLS settings cannot change. Trust of the self-signed certificate is handled
 * by --add-ca instead, so chain-of-trust findings still count.
 */
const CERTIFICATE_CONTENT_FINDINGS: Record<string, string> = {
  // "Neither CRL nor OCSP URI provided": a self-signed certificate has no issuer to revoke it.
  cert_revocation:
    'the test certificate is self-signed; CRL/OCSP URIs come from the CA that issues a production certificate',
};

describe('testssl.sh against a gateway on default TLS settings', {
  skip: requireCommands('testssl'),
  timeout: SCAN_TIMEOUT_MS + 60_000,
}, () => {
  let gateway: TestGateway;
  let reportDir: string;
  let findings: Finding[];

  before(
    async () => {
      gateway = await startTestGateway({ upstream: 'http://127.0.0.1:1' });
      reportDir = mkdtempSync(join(tmpdir(), 'promgate-testssl-'));
      findings = await scan(gateway, join(reportDir, 'testssl.json'));
    },
    { timeout: SCAN_TIMEOUT_MS + 30_000 },
  );

  after(async () => {
    await gateway?.close();
    if (reportDir) rmSync(reportDir, { recursive: true, force: true });
  });

  const find = (id: string): Finding => {
    const found = findings.find((finding) => finding.id === id);
    assert.ok(found, `testssl reported ${id}`);
    return found;
  };

  test('reports no finding of severity HIGH or CRITICAL', () => {
    const severe = findings.filter(
      (finding) =>
        (finding.severity === 'HIGH' || finding.severity === 'CRITICAL') &&
        !(baseId(finding.id) in CERTIFICATE_CONTENT_FINDINGS),
    );
    assert.deepEqual(
      severe.map(({ id, severity, finding }) => `${severity} ${id}: ${finding}`),
      [],
      'testssl findings of severity HIGH or CRITICAL',
    );
  });

  test('trusts the certificate it was given, so trust findings are real', () => {
    assert.equal(find('cert_chain_of_trust').severity, 'OK', find('cert_chain_of_trust').finding);
    assert.equal(find('cert_trust').severity, 'OK', find('cert_trust').finding);
  });

  test('offers TLS 1.2 and 1.3 only', () => {
    for (const id of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.equal(find(id).finding, 'not offered', id);
    assert.equal(find('TLS1_2').finding, 'offered');
    assert.match(find('TLS1_3').finding, /^offered\b/);
  });

  test('offers forward-secret AEAD cipher suites only', () => {
    for (const id of [
      'cipherlist_NULL',
      'cipherlist_aNULL',
      'cipherlist_EXPORT',
      'cipherlist_LOW',
      'cipherlist_3DES_IDEA',
      'cipherlist_AVERAGE',
    ]) {
      assert.equal(find(id).finding, 'not offered', id);
    }
    // One line per suite the server accepted: "xc02b  ECDHE-ECDSA-AES128-GCM-SHA256  ECDH 253  AESGCM  128  TLS_ECDHE_...".
    const suites = findings
      .filter((finding) => /^cipher_x[0-9a-f]+$/.test(finding.id))
      .map((finding) => finding.finding.trim().split(/\s+/));
    assert.ok(suites.length > 0, 'testssl listed the accepted cipher suites');
    for (const [hexcode, name, keyExchange, , encryption] of suites) {
      assert.match(keyExchange ?? '', /^(ECDH|DH)$/, `${hexcode} ${name}: forward-secret key exchange`);
      assert.match(encryption ?? '', /^(AESGCM|ChaCha20|AESCCM)$/, `${hexcode} ${name}: AEAD encryption`);
    }
    assert.equal(find('PFS').finding, 'offered');
  });

  test('refuses client-initiated renegotiation', () => {
    assert.equal(find('secure_renego').finding, 'supported', 'RFC 5746 secure renegotiation');
    // "not vulnerable, mitigated" would mean a renegotiation went through and only Node's rate
    // limit (tls.CLIENT_RENEG_LIMIT) stopped the fourth: renegotiation must be off, not limited.
    assert.equal(find('secure_client_renego').finding, 'not vulnerable', 'client-initiated renegotiation');
  });

  test('does not compress TLS records (CRIME)', () => {
    assert.equal(find('CRIME_TLS').finding, 'not vulnerable');
  });
});

/**
 * Runs testssl's standard checks except client simulation (informational only, and ~15 s),
 * against 127.0.0.1 only: no DNS lookups, and no --phone-out, so no CRL/OCSP fetches.
 */
async function scan(gateway: TestGateway, jsonFile: string): Promise<Finding[]> {
  const args = [
    ...['--quiet', '--warnings', 'batch', '--color', '0', '--nodns', 'none'],
    ...['--add-ca', gateway.cert.certFile],
    // protocols, cipher categories, forward secrecy, server preferences, server defaults (the
    // certificate), HTTP headers, vulnerabilities, and each accepted cipher suite.
    ...[
      '--protocols',
      '--std',
      '--fs',
      '--server-preference',
      '--server-defaults',
      '--headers',
      '--vulnerable',
      '--each-cipher',
    ],
    ...['--jsonfile', jsonFile],
    `${gateway.origin}/`,
  ];
  let output: string;
  try {
    output = (await run('testssl', args, { timeout: SCAN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    // Exit codes below 242 count checks that could not be completed (WARN findings); from 242 up,
    // testssl could not scan at all (bad command line, no connection, ...), as could a signal.
    const failure = error as { code?: unknown; signal?: unknown; stdout?: string; stderr?: string };
    if (typeof failure.code !== 'number' || failure.code >= 242) {
      throw new Error(
        `testssl failed (${String(failure.code ?? failure.signal)}):\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`,
        { cause: error },
      );
    }
    output = failure.stdout ?? '';
  }
  const findings = JSON.parse(readFileSync(jsonFile, 'utf8')) as Finding[];
  assert.ok(
    findings.some((finding) => finding.id === 'scanTime'),
    `testssl finished its scan (its JSON ends with scanTime):\n${output}`,
  );
  return findings;
}

/** "cert_revocation <cert#1>" (servers with several certificates) -> "cert_revocation". */
function baseId(id: string): string {
  return id.split(' ')[0] ?? id;
}
