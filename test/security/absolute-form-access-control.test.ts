// Found in review: a request line in absolute form (`POST http://x/prometheus/api/v1/admin/...`)
// reached access control as `http://x/api/v1/...`, whose reading `/http:/x/api/...` matched no deny
// rule, while the proxy forwarded `/api/v1/admin/...`: a custom role's deny rules were bypassed.
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import { startTestGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';

function statusLine(port: number, ca: string, requestLine: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () =>
      socket.write(`${requestLine}\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
    );
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('end', () => resolve(data.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

describe('absolute-form request targets and access control', () => {
  for (const basePath of ['/prometheus', '/']) {
    it(`applies deny rules to POST http://x${basePath === '/' ? '' : basePath}/api/v1/admin/... (base path ${basePath})`, async () => {
      const upstream = await startUpstream();
      const gateway = await startTestGateway({
        upstream: upstream.url,
        basePath,
        accessControl: {
          defaultRole: 'ops',
          roles: { ops: { allow: [{ paths: ['/**'] }], deny: [{ name: 'no-admin', paths: ['/api/v1/admin/**'] }] } },
        },
      });
      const prefix = basePath === '/' ? '' : basePath;
      try {
        for (const target of [
          `${prefix}/api/v1/admin/tsdb/snapshot`,
          `http://x${prefix}/api/v1/admin/tsdb/snapshot`,
          `HTTPS://x:1${prefix}/api/v1/admin/tsdb/snapshot`,
        ]) {
          assert.equal(
            await statusLine(gateway.handle.address.port, gateway.cert.cert, `POST ${target} HTTP/1.1`),
            'HTTP/1.1 403 Forbidden',
            target,
          );
        }
        assert.equal(upstream.requests.length, 0, 'nothing reached the upstream');
        assert.equal(
          await statusLine(
            gateway.handle.address.port,
            gateway.cert.cert,
            `GET http://x${prefix}/api/v1/query HTTP/1.1`,
          ),
          'HTTP/1.1 200 OK',
        );
        assert.equal(upstream.requests[0]?.url, '/api/v1/query', 'forwarded in origin form');
      } finally {
        await gateway.close();
        await upstream.close();
      }
    });
  }
});
