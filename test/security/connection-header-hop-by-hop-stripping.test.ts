// Found in review: `Connection: keep-alive, X-Scope-OrgID` removed the tenant header that the
// tenant-header plugin had set, because the proxy stage dropped the headers named in Connection
// after every hook had run. The client's Connection now only removes the client's own headers,
// before any stage; what a stage, hook or plugin sets, and promgate's X-Forwarded-*, reach the upstream.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type RecordedRequest, type RecordingUpstream } from '../helpers/upstream.ts';

const TENANT_HEADER = fileURLToPath(new URL('../../plugins/tenant-header.ts', import.meta.url));

/** A beforeAuth plugin that gives the upstream its own credentials and notes what it saw. */
const UPSTREAM_CREDENTIALS = `export default {
  name: 'upstream-credentials',
  create: () => (req, res, next) => {
    req.headers['x-hook-saw-client-hop'] = String(req.headers['x-client-hop'] !== undefined);
    req.headers.authorization = 'Bearer upstream-token';
    req.headers['x-from-hook'] = 'set';
    next();
  },
};
`;

/** Everything the gateway or a plugin sets, named in Connection in every way a client can. */
const CONNECTION_LINES = [
  'Connection: keep-alive, X-Scope-OrgID',
  'Connection: x-scope-orgid',
  'Connection: X-SCOPE-ORGID, x-client-hop',
  'Connection: close, x-scope-orgid, x-client-hop',
  'Connection: \tx-scope-orgid\t,  x-client-hop ,keep-alive',
  'Connection: keep-alive\r\nConnection: X-Scope-OrgID, x-client-hop',
  'Connection: x-client-hop\r\nconnection: x-scope-orgid\r\nCONNECTION: authorization',
  'Connection: X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, X-Forwarded-Prefix',
  'Connection: authorization, x-from-hook, x-client-hop',
  'Connection: keep-alive,x-scope-orgid,authorization,x-forwarded-for,x-forwarded-proto,x-forwarded-host,x-forwarded-prefix,x-from-hook,x-hook-saw-client-hop,x-client-hop',
];

/** Sends the head as written (node's client would merge or refuse some of these) and waits for the answer's status line. */
function send(
  gateway: TestGateway,
  upstream: RecordingUpstream,
  connectionLines: string,
): Promise<[string, RecordedRequest]> {
  const reached = upstream.nextRequest();
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: gateway.handle.address.port, ca: gateway.cert.cert, servername: 'localhost' },
      () =>
        socket.write(
          [
            'GET /prometheus/api/v1/query HTTP/1.1',
            'Host: localhost',
            'X-Scope-OrgID: chosen-by-client',
            'X-Client-Hop: 1',
            'Authorization: Basic Y2xpZW50OnB3',
            connectionLines,
            '',
            '',
          ].join('\r\n'),
        ),
    );
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
      if (!data.includes('\r\n')) return;
      socket.destroy();
      reached.then((request) => resolve([data.slice(0, data.indexOf('\r\n')), request]), reject);
    });
    socket.on('error', reject);
  });
}

describe('Connection cannot remove headers that promgate or a plugin sets', () => {
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promgate-plugin-'));
    writeFileSync(join(dir, 'upstream-credentials.mjs'), UPSTREAM_CREDENTIALS);
    upstream = await startUpstream();
    gateway = await startTestGateway({
      upstream: upstream.url,
      plugins: [
        { module: join(dir, 'upstream-credentials.mjs'), stage: 'beforeAuth' },
        { module: TENANT_HEADER, stage: 'beforeProxy', options: { default: 'team-a' } },
      ],
    });
  });
  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  for (const lines of CONNECTION_LINES) {
    it(`keeps them with ${JSON.stringify(lines)}`, async () => {
      const [status, { headers }] = await send(gateway, upstream, lines);
      assert.equal(status, 'HTTP/1.1 200 OK');
      assert.equal(headers['x-scope-orgid'], 'team-a', 'the tenant-header plugin chose the tenant');
      assert.equal(headers.authorization, 'Bearer upstream-token', "a plugin's Authorization for the upstream");
      assert.equal(headers['x-from-hook'], 'set');
      assert.equal(headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(headers['x-forwarded-proto'], 'https');
      assert.equal(headers['x-forwarded-host'], 'localhost');
      assert.equal(headers['x-forwarded-prefix'], '/prometheus');
      assert.equal(headers.connection, 'keep-alive', "undici's own, not the client's");
      if (/x-client-hop/i.test(lines)) {
        assert.equal(
          headers['x-client-hop'],
          undefined,
          'a header the client named in Connection does not go upstream',
        );
        assert.equal(headers['x-hook-saw-client-hop'], 'false', '... and no stage or plugin sees it');
      } else {
        assert.equal(headers['x-client-hop'], '1');
      }
    });
  }

  it("still drops the client's own Authorization (upstream.forwardAuthorization is off)", async () => {
    const bare = await startTestGateway({ upstream: upstream.url });
    try {
      const [status, { headers }] = await send(bare, upstream, 'Connection: keep-alive');
      assert.equal(status, 'HTTP/1.1 200 OK');
      assert.equal(headers.authorization, undefined);
      assert.equal(headers['x-scope-orgid'], 'chosen-by-client', 'no plugin here: an end-to-end header of the client');
    } finally {
      await bare.close();
    }
  });
});
