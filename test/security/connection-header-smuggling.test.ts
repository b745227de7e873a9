// Found in review: a client listing Content-Length or Transfer-Encoding in Connection made the
// gateway drop them as hop-by-hop, so the body reached Prometheus unframed, where it was read as a
// second request that no auth stage had seen (a /-/healthy skip rule reached the admin API).
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import { startTestGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';

const SMUGGLED = 'POST /api/v1/admin/tsdb/snapshot HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n';

function rawRequest(port: number, ca: string, head: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => socket.write(head + body));
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
      if (/\r\n\r\n/.test(data)) setTimeout(() => socket.end(), 200); // kept: a smuggled second answer would come within this time
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('request smuggling through the Connection header', () => {
  for (const [name, head, body] of [
    [
      'Connection: content-length',
      `GET /prometheus/-/healthy HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive, content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n`,
      SMUGGLED,
    ],
    [
      'Connection: transfer-encoding',
      'GET /prometheus/-/healthy HTTP/1.1\r\nHost: localhost\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n',
      `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
    ],
  ] as const) {
    it(`keeps the body framed when the client sends ${name}`, async () => {
      const upstream = await startUpstream();
      const gateway = await startTestGateway({
        upstream: upstream.url,
        auth: { unauthenticatedPaths: ['/-/healthy'] },
      });
      try {
        const response = await rawRequest(gateway.handle.address.port, gateway.cert.cert, head, body);
        assert.match(response, /^HTTP\/1\.1 200/);
        await new Promise((resolve) => setTimeout(resolve, 200)); // kept: the test is that no second request arrives
        assert.deepEqual(
          upstream.requests.map((request) => `${request.method} ${request.url}`),
          ['GET /-/healthy'],
          'exactly one request reached the upstream',
        );
        assert.equal(upstream.requests[0]?.body.toString(), SMUGGLED, 'the body arrived as the body');
      } finally {
        await gateway.close();
        await upstream.close();
      }
    });
  }
});
