import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { connect } from 'node:tls';
import { createLogger } from '../../src/index.ts';
import { basicAuth } from '../helpers/client.ts';
import { useGatewayWithUpstream, type TestGateway } from '../helpers/gateway.ts';
import { eventually, scrape, sampleValue } from '../helpers/metrics.ts';

/** Writes raw bytes on a fresh TLS connection; resolves with all the server sent before closing. */
async function sendRaw(gateway: TestGateway, bytes: string): Promise<string> {
  const socket = connect({
    host: '127.0.0.1',
    port: gateway.handle.address.port,
    servername: 'localhost',
    ca: gateway.cert.cert,
  });
  await once(socket, 'secureConnect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  socket.write(bytes);
  await once(socket, 'close');
  return received;
}

describe("requests Node's HTTP parser refuses", () => {
  const lines: string[] = [];
  const logger = createLogger({ format: 'json', destination: { write: (line: string) => lines.push(line) } });
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    logger,
    web: { listenAddress: '127.0.0.1:0', maxHeaderSize: 4096 },
    metrics: { listenAddress: '127.0.0.1:0' },
  }));
  const requestsTotal = (code: number) => `promgate_http_requests_total{code="${code}",method="other",route=""}`;

  it('answers them as Node does, and counts and logs them without the request bytes', async () => {
    const { gateway, upstream } = setup;
    const metrics = gateway.handle.metricsAddress;
    const before = await scrape(metrics);
    const authorization = basicAuth('alice', 'alice-secret');
    const secret = authorization.slice('Basic '.length);
    const malformed = await sendRaw(
      gateway,
      `GET /prometheus/api/v1/query HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${authorization}\r\nBad Header\r\n\r\n`,
    );
    assert.equal(malformed, 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    const oversized = await sendRaw(
      gateway,
      `GET /prometheus/api/v1/query HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${authorization}\r\nX-Padding: ${'a'.repeat(8192)}\r\n\r\n`,
    );
    assert.equal(oversized, 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n');
    await eventually(metrics, (samples) => {
      assert.equal(sampleValue(samples, requestsTotal(400)) - sampleValue(before, requestsTotal(400)), 1);
      assert.equal(sampleValue(samples, requestsTotal(431)) - sampleValue(before, requestsTotal(431)), 1);
    });
    const refused = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'request refused by the HTTP parser');
    assert.deepEqual(
      refused.map(({ status, error, remote_address }) => ({ status, error, remote_address })),
      [
        { status: 400, error: 'HPE_INVALID_HEADER_TOKEN', remote_address: '127.0.0.1' },
        { status: 431, error: 'HPE_HEADER_OVERFLOW', remote_address: '127.0.0.1' },
      ],
    );
    assert.ok(!lines.join('').includes(secret), 'the request bytes reached the log');
    assert.equal(upstream.requests.length, 0);
  });
});
