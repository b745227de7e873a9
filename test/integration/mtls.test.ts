import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { NextFunction, Request, Response } from 'express';
import { createServer, type GatewayServer } from '../../src/index.ts';
import { issueClientCertificate, makeCa, type IssuedCertificate, type TestCa } from '../helpers/pki.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

const exec = promisify(execFile);

describe('client certificates (client_auth_type), with curl as the client', { skip: requireCommands('curl') }, () => {
  let server: TestCertificate;
  let ca: TestCa;
  let otherCa: TestCa;
  let good: IssuedCertificate;
  let goodOtherSan: IssuedCertificate;
  let foreign: IssuedCertificate;
  let selfSigned: IssuedCertificate;
  let upstream: RecordingUpstream;
  before(async () => {
    [server, ca, otherCa, upstream] = await Promise.all([
      makeTestCertificate(),
      makeCa('promgate test clients'),
      makeCa('someone else'),
      startUpstream(),
    ]);
    [good, goodOtherSan, foreign, selfSigned] = await Promise.all([
      issueClientCertificate(ca, 'grafana', [
        { type: 'dns', value: 'grafana.example' },
        { type: 'email', value: 'ops@example.com' },
      ]),
      issueClientCertificate(ca, 'other', [{ type: 'dns', value: 'other.example' }]),
      issueClientCertificate(otherCa, 'grafana', [{ type: 'dns', value: 'grafana.example' }]),
      issueClientCertificate(undefined, 'self', [{ type: 'dns', value: 'grafana.example' }]),
    ]);
  });
  after(() => upstream.close());

  async function gateway(tlsExtra: string, seen: unknown[] = []): Promise<GatewayServer> {
    const dir = mkdtempSync(join(tmpdir(), 'promgate-mtls-'));
    const file = join(dir, 'web.yml');
    writeFileSync(
      file,
      `tls_server_config:\n  cert_file: ${server.certFile}\n  key_file: ${server.keyFile}\n${tlsExtra}`,
    );
    return createServer({
      web: { listenAddress: '127.0.0.1:0', config: { file } },
      upstream: upstream.url,
      middleware: {
        beforeProxy: (req: Request, _res: Response, next: NextFunction) => (seen.push(req.promgate?.client), next()),
      },
    });
  }

  async function curl(handle: GatewayServer, client?: IssuedCertificate): Promise<string> {
    const args = [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      server.certFile,
      `https://localhost:${handle.address.port}/prometheus/api/v1/query`,
      '--resolve',
      `localhost:${handle.address.port}:127.0.0.1`,
    ];
    if (client) args.push('--cert', client.certFile, '--key', client.keyFile);
    try {
      return (await exec('curl', args)).stdout;
    } catch {
      return 'refused';
    }
  }

  const cases: Array<[string, () => string, Array<[string, () => IssuedCertificate | undefined, string]>]> = [
    [
      'NoClientCert',
      () => '',
      [
        ['no certificate', () => undefined, '200'],
        ['any certificate', () => selfSigned, '200'],
      ],
    ],
    [
      'RequestClientCert',
      () => '  client_auth_type: RequestClientCert\n',
      [
        ['no certificate', () => undefined, '200'],
        ['self-signed', () => selfSigned, '200'],
      ],
    ],
    [
      'RequireAnyClientCert',
      () => '  client_auth_type: RequireAnyClientCert\n',
      [
        ['no certificate', () => undefined, 'refused'],
        ['self-signed', () => selfSigned, '200'],
      ],
    ],
    [
      'VerifyClientCertIfGiven',
      () => `  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ${ca.certFile}\n`,
      [
        ['no certificate', () => undefined, '200'],
        ['signed by the CA', () => good, '200'],
        ['signed by another CA', () => foreign, 'refused'],
      ],
    ],
    [
      'RequireAndVerifyClientCert',
      () => `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n`,
      [
        ['no certificate', () => undefined, 'refused'],
        ['signed by the CA', () => good, '200'],
        ['signed by another CA', () => foreign, 'refused'],
        ['self-signed', () => selfSigned, 'refused'],
      ],
    ],
    [
      'RequireAndVerifyClientCert with client_allowed_sans',
      () =>
        `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n  client_allowed_sans: [ops@example.com]\n`,
      [
        ['an allowed SAN', () => good, '200'],
        ['no allowed SAN', () => goodOtherSan, 'refused'],
      ],
    ],
  ];
  for (const [mode, extra, clients] of cases) {
    it(`${mode}: ${clients.map(([name, , expected]) => `${name} -> ${expected}`).join(', ')}`, async () => {
      const handle = await gateway(extra());
      try {
        for (const [name, client, expected] of clients)
          assert.equal(await curl(handle, client()), expected, `${mode}, ${name}`);
      } finally {
        await handle.close();
      }
    });
  }

  it('refuses a client certificate it cannot parse, and keeps serving (found in review: it crashed)', {
    skip: requireCommands('openssl'),
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promgate-badcert-'));
    const bad = { certFile: join(dir, 'bad.crt'), keyFile: join(dir, 'bad.key'), certPem: '', keyPem: '' };
    await exec('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      bad.keyFile,
      '-out',
      bad.certFile,
      '-subj',
      '/CN=bad',
      '-days',
      '1',
      '-addext',
      'subjectAltName=DER:30:03:01:01:ff',
    ]);
    for (const mode of [
      'RequestClientCert',
      'RequireAnyClientCert',
      `VerifyClientCertIfGiven\n  client_ca_file: ${ca.certFile}`,
    ]) {
      const handle = await gateway(`  client_auth_type: ${mode}\n`);
      try {
        assert.equal(await curl(handle, bad), 'refused', mode);
        assert.equal(
          await curl(handle, mode.startsWith('RequireAny') ? selfSigned : undefined),
          '200',
          `${mode}: still serving`,
        );
      } finally {
        await handle.close();
      }
    }
  });

  it('hands the verified certificate to later stages as req.promgate.client', async () => {
    const seen: unknown[] = [];
    const handle = await gateway(
      `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n`,
      seen,
    );
    try {
      assert.equal(await curl(handle, good), '200');
      assert.deepEqual(seen.at(-1), {
        subject: 'CN=grafana',
        sans: ['DNS:grafana.example', 'email:ops@example.com'],
        commonName: 'grafana',
        names: ['grafana', 'grafana.example', 'ops@example.com'],
        fingerprint: (seen.at(-1) as { fingerprint: string }).fingerprint,
        verified: true,
      });
      assert.match((seen.at(-1) as { fingerprint: string }).fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    } finally {
      await handle.close();
    }
  });
});
