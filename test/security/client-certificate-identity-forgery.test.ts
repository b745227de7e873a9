// Found in review: a CA-signed certificate with the subject `O=Acme, OU=x\, CN=ops-robot,
// CN=alice-laptop` got the role accessControl.clients gives ops-robot (admin): the names were read
// back from the printed subject with a regex that took the escaped comma for a separator. Names now
// come from the certificate's fields. Each row is a certificate the client CA signed, presented over
// real TLS to a gateway that maps ops-robot (and admin) to the admin role and to a tenant.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createServer, type GatewayServer } from '../../src/index.ts';
import { httpsRequest } from '../helpers/client.ts';
import {
  issueClientCertificateFor,
  makeCa,
  type ClientCertificateRequest,
  type IssuedCertificate,
  type TestCa,
} from '../helpers/pki.ts';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

const TENANT_HEADER = fileURLToPath(new URL('../../plugins/tenant-header.ts', import.meta.url));
/** Every certificate carries it: client_allowed_sans lets it in, and it maps to no role. */
const FLEET = { type: 'dns', value: 'fleet.example' } as const;

type Outcome = 'admin' | 'viewer' | 'refused';

// A little DER, for what the certificate generator will not write.
function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  const length = body.length < 0x80 ? [body.length] : [0x82, body.length >> 8, body.length & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}
function oid(dotted: string): Uint8Array {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let value = arc >> 7; value > 0; value >>= 7) base128.unshift((value & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}
/** A UTF8String taken as is (the generator unescapes and reads a leading # as hex in plain strings). */
const literal = (text: string) => ({ utf8String: text });
const der = (bytes: Uint8Array) => Uint8Array.from(bytes).buffer;
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text));
const subjectWithCommonName = (value: Uint8Array) => der(tlv(0x30, tlv(0x31, tlv(0x30, oid('2.5.4.3'), value))));
/** A CN that is a BIT STRING, not a string type: OpenSSL (and so Node's subject) prints it as CN=ops-robot. */
const bitStringCommonName = subjectWithCommonName(tlv(0x03, Buffer.from('\0ops-robot')));
/** A SAN extension: fleet.example, and an otherName of a type no reader knows (SmtpUTF8Mailbox) saying ops-robot. */
const smtpUtf8OtherName = der(
  tlv(0x30, tlv(0x82, Buffer.from(FLEET.value)), tlv(0xa0, oid('1.3.6.1.5.5.7.8.9'), tlv(0xa0, utf8('ops-robot')))),
);

const FORGERIES: Array<[string, ClientCertificateRequest]> = [
  [
    "an escaped comma before CN= in an OU (the review's certificate)",
    { subject: [{ O: ['Acme'] }, { OU: ['x, CN=ops-robot'] }, { CN: ['alice-laptop'] }] },
  ],
  ['", CN=ops-robot" inside the CN', { subject: [{ CN: ['alice, CN=ops-robot'] }] }],
  ['", CN=admin" inside the CN', { subject: [{ O: ['Acme'] }, { CN: ['alice, CN=admin'] }] }],
  ['"+CN=" inside the CN', { subject: [{ CN: ['alice+CN=ops-robot'] }] }],
  ['a multi-valued RDN CN=alice+CN=ops-robot', { subject: [{ CN: ['alice', 'ops-robot'] }] }],
  ['a multi-valued RDN CN=ops-robot+CN=alice', { subject: [{ CN: ['ops-robot', 'alice'] }] }],
  ['a CN sharing its RDN with an O (CN=ops-robot+O=Acme)', { subject: [{ CN: ['ops-robot'], O: ['Acme'] }] }],
  ['two CNs, ops-robot first', { subject: [{ CN: ['ops-robot'] }, { CN: ['alice'] }] }],
  ['two CNs, ops-robot last', { subject: [{ CN: ['alice'] }, { CN: ['ops-robot'] }] }],
  ['CN= inside an OU value', { subject: [{ OU: ['CN=ops-robot'] }] }],
  ['CN= inside an O value, beside a real CN', { subject: [{ O: ['CN=ops-robot'] }, { CN: ['alice'] }] }],
  ['ops-robot as an O, not a CN', { subject: [{ O: ['ops-robot'] }] }],
  ['a newline and CN= inside the CN', { subject: [{ CN: ['alice\nCN=ops-robot'] }] }],
  ['a newline and CN= inside an OU', { subject: [{ OU: ['x\nCN=ops-robot'] }, { CN: ['alice'] }] }],
  ['the CN written with an escaped hex hyphen', { subject: [{ CN: [literal('ops\\2Drobot')] }] }],
  ['the CN written as RFC 4514 #hex of a UTF8String', { subject: [{ CN: [literal('#0c096f70732d726f626f74')] }] }],
  ['a BIT STRING CN that prints as CN=ops-robot', { subject: bitStringCommonName }],
  ['a Unicode hyphen (U+2010) in the CN', { subject: [{ CN: ['ops\u2010robot'] }] }],
  ['a fullwidth CN', { subject: [{ CN: ['\uff4f\uff50\uff53-robot'] }] }],
  ['a trailing NUL in the CN', { subject: [{ CN: ['ops-robot\0'] }] }],
  ['a space around the CN', { subject: [{ CN: [' ops-robot '] }] }],
  ['the CN in upper case', { subject: [{ CN: ['OPS-ROBOT'] }] }],
  ['the CN in mixed case', { subject: [{ CN: ['Ops-Robot'] }] }],
  ['a DNS SAN in upper case', { subject: [{ CN: ['alice'] }], sans: [{ type: 'dns', value: 'OPS-ROBOT' }] }],
  [
    'a DNS SAN with an embedded comma',
    { subject: [{ CN: ['alice'] }], sans: [{ type: 'dns', value: 'alice.example, ops-robot' }] },
  ],
  [
    '"DNS:" inside a URI SAN',
    { subject: [{ CN: ['alice'] }], sans: [{ type: 'url', value: 'https://alice.example/DNS:ops-robot' }] },
  ],
  ['"DNS:" inside an email SAN', { subject: [{ CN: ['alice'] }], sans: [{ type: 'email', value: 'DNS:ops-robot' }] }],
  [
    '", DNS:" inside an email SAN',
    { subject: [{ CN: ['alice'] }], sans: [{ type: 'email', value: 'alice@example.com, DNS:ops-robot' }] },
  ],
  [
    'a newline inside a DNS SAN',
    { subject: [{ CN: ['alice'] }], sans: [{ type: 'dns', value: 'alice.example\nops-robot' }] },
  ],
  [
    'a directory-name SAN with CN=ops-robot',
    { subject: [{ CN: ['alice'] }], sans: [{ type: 'dn', value: 'CN=ops-robot' }] },
  ],
  ['a UPN otherName SAN ops-robot', { subject: [{ CN: ['alice'] }], sans: [{ type: 'upn', value: 'ops-robot' }] }],
  [
    'an otherName SAN of another type (SmtpUTF8Mailbox) ops-robot',
    { subject: [{ CN: ['alice'] }], sanDer: smtpUtf8OtherName },
  ],
];

const GENUINE: Array<[string, ClientCertificateRequest]> = [
  ['CN=ops-robot beside an O and an OU', { subject: [{ O: ['Acme'] }, { OU: ['robots'] }, { CN: ['ops-robot'] }] }],
  ['CN=ops-robot as a BMPString', { subject: [{ CN: [{ bmpString: 'ops-robot' }] }] }],
  ['CN=ops-robot as an IA5String', { subject: subjectWithCommonName(tlv(0x16, Buffer.from('ops-robot'))) }],
  ['a DNS SAN ops-robot', { subject: [{ CN: ['alice'] }], sans: [{ type: 'dns', value: 'ops-robot' }] }],
  ['a URI SAN ops-robot', { subject: [{ CN: ['alice', 'bob'] }], sans: [{ type: 'url', value: 'ops-robot' }] }],
];

describe('client certificate identity forgery (names read from a printed subject)', () => {
  let serverCert: TestCertificate;
  let ca: TestCa;
  let upstream: RecordingUpstream;
  let gateway: GatewayServer;
  const issued = new Map<string, IssuedCertificate>();

  before(async () => {
    [serverCert, ca, upstream] = await Promise.all([
      makeTestCertificate(),
      makeCa('forgery test clients'),
      startUpstream(),
    ]);
    const webConfig = join(mkdtempSync(join(tmpdir(), 'promgate-forgery-')), 'web.yml');
    writeFileSync(
      webConfig,
      `tls_server_config:\n  cert_file: ${serverCert.certFile}\n  key_file: ${serverCert.keyFile}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n  client_allowed_sans: [${FLEET.value}]\n`,
    );
    gateway = await createServer({
      upstream: upstream.url,
      web: { listenAddress: '127.0.0.1:0', config: { file: webConfig } },
      accessControl: { clients: { 'ops-robot': 'admin', admin: 'admin' } },
      plugins: [
        {
          module: TENANT_HEADER,
          stage: 'beforeProxy',
          options: { clients: { 'ops-robot': 'team-admin', admin: 'team-admin' }, default: 'anonymous' },
        },
      ],
    });
    await Promise.all(
      [...FORGERIES, ...GENUINE].map(async ([name, request]) => {
        const sans = request.sanDer ? undefined : [FLEET, ...(request.sans ?? [])];
        issued.set(name, await issueClientCertificateFor(ca, { ...request, ...(sans ? { sans } : {}) }));
      }),
    );
  });
  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  /** The role the gateway gave the certificate (by an admin-only request) and the tenant it set. */
  async function probe(client: IssuedCertificate): Promise<{ role: Outcome; tenant?: string }> {
    const origin = `https://127.0.0.1:${gateway.address.port}`;
    const send = (path: string, method: string) =>
      httpsRequest(origin, path, { method, ca: serverCert.cert, cert: client.certPem, key: client.keyPem });
    let snapshot: Awaited<ReturnType<typeof send>>;
    try {
      snapshot = await send('/prometheus/api/v1/admin/tsdb/snapshot', 'POST');
    } catch {
      return { role: 'refused' };
    }
    assert.ok([200, 403].includes(snapshot.status), `${snapshot.status} ${snapshot.text}`);
    const read = await send('/prometheus/api/v1/query?query=up', 'GET');
    assert.equal(read.status, 200, read.text);
    return {
      role: snapshot.status === 200 ? 'admin' : 'viewer',
      tenant: upstream.requests.at(-1)?.headers['x-scope-orgid'] as string | undefined,
    };
  }

  for (const [name] of FORGERIES) {
    it(`gives no admin role and no tenant to ${name}`, async () => {
      assert.deepEqual(await probe(issued.get(name)!), { role: 'viewer', tenant: 'anonymous' });
    });
  }

  for (const [name] of GENUINE) {
    it(`maps ${name} to admin and its tenant`, async () => {
      assert.deepEqual(await probe(issued.get(name)!), { role: 'admin', tenant: 'team-admin' });
    });
  }

  it('never forwarded a refused admin request', () => {
    const snapshots = upstream.requests.filter((request) => request.url === '/api/v1/admin/tsdb/snapshot');
    assert.equal(snapshots.length, GENUINE.length);
  });
});
