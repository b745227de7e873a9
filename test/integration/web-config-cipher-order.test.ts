import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import { createServer } from '../../src/index.ts';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls.ts';
import { waitFor } from '../helpers/wait.ts';

const AES128 = 'ECDHE-RSA-AES128-GCM-SHA256';
const AES256 = 'ECDHE-RSA-AES256-GCM-SHA384';
const GO_NAMES: Record<string, string> = {
  [AES128]: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  [AES256]: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
};

/** The TLS 1.2 suite the server picks for a client offering `clientOrder` (TLS 1.3 suites are ordered apart). */
function negotiated(port: number, clientOrder: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2', ciphers: clientOrder.join(':') },
      () => {
        resolve(socket.getCipher().name);
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

function writeWebConfig(cert: TestCertificate, serverOrder: string[], prefer: string | undefined): string {
  const file = join(cert.dir, 'web.yml');
  const lines = [
    'tls_server_config:',
    `  cert_file: ${cert.certFile}`,
    `  key_file: ${cert.keyFile}`,
    '  max_version: TLS12',
    '  cipher_suites:',
    ...serverOrder.map((name) => `    - ${GO_NAMES[name]}`),
    ...(prefer === undefined ? [] : [`  prefer_server_cipher_suites: ${prefer}`]),
  ];
  writeFileSync(`${file}.new`, `${lines.join('\n')}\n`);
  renameSync(`${file}.new`, file);
  return file;
}

describe('web config prefer_server_cipher_suites', () => {
  // [prefer_server_cipher_suites as written, server order, client order, the suite expected]
  const cases: Array<[string | undefined, string[], string[], string]> = [
    [undefined, [AES256, AES128], [AES128, AES256], AES256],
    [undefined, [AES128, AES256], [AES256, AES128], AES128],
    ['true', [AES256, AES128], [AES128, AES256], AES256],
    ['yes', [AES128, AES256], [AES256, AES128], AES128],
    ['false', [AES256, AES128], [AES128, AES256], AES128],
    ['false', [AES128, AES256], [AES256, AES128], AES256],
    ['off', [AES256, AES128], [AES128, AES256], AES128],
    // Whoever's order wins, only suites both sides allow are picked.
    ['false', [AES256], [AES128, AES256], AES256],
  ];
  for (const [prefer, serverOrder, clientOrder, expected] of cases) {
    it(`picks ${expected} with prefer_server_cipher_suites ${prefer ?? '(unset)'}, server [${serverOrder}], client [${clientOrder}]`, async () => {
      const cert = await makeTestCertificate({ keyType: 'rsa' });
      const file = writeWebConfig(cert, serverOrder, prefer);
      const handle = await createServer({
        web: { listenAddress: '127.0.0.1:0', config: { file } },
        upstream: 'http://127.0.0.1:1',
      });
      try {
        assert.equal(await negotiated(handle.address.port, clientOrder), expected);
      } finally {
        await handle.close();
      }
    });
  }

  it('applies a changed prefer_server_cipher_suites to new connections on reload', async () => {
    const cert = await makeTestCertificate({ keyType: 'rsa' });
    const file = writeWebConfig(cert, [AES256, AES128], 'true');
    const handle = await createServer({
      web: { listenAddress: '127.0.0.1:0', config: { file } },
      upstream: 'http://127.0.0.1:1',
    });
    try {
      assert.equal(await negotiated(handle.address.port, [AES128, AES256]), AES256);
      writeWebConfig(cert, [AES256, AES128], 'false');
      // The file watch polls; a new connection is what shows the reload.
      await waitFor(async () => (await negotiated(handle.address.port, [AES128, AES256])) === AES128, {
        message: 'the reload to apply the new cipher order',
      });
    } finally {
      await handle.close();
    }
  });
});
