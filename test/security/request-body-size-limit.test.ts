// Found in review: no request body limit existed; a 300 MB POST was forwarded to Prometheus. Now
// bodies over web.maxRequestBodySize get 413 and their connection closes: at once when
// Content-Length announces too much (nothing of the body is read), as soon as the count passes
// the limit for chunked bodies, also those already streaming upstream (over 64 KiB).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { openTls, readResponse, whenClosed } from '../helpers/connections.ts';
import { useGatewayWithUpstream } from '../helpers/gateway.ts';

const PATH = '/prometheus/api/v1/query'; // viewers may POST here (remote write would need admin)

/** Sends the head and `body` as chunks of `chunkSize`; `end` adds the last (empty) chunk. */
function sendChunked(socket: TLSSocket, query: string, body: Buffer, chunkSize: number, end: boolean): void {
  socket.write(
    `POST ${PATH}?${query} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n`,
  );
  for (let offset = 0; offset < body.length; offset += chunkSize) {
    const chunk = body.subarray(offset, offset + chunkSize);
    socket.write(`${chunk.length.toString(16)}\r\n`);
    socket.write(chunk);
    socket.write('\r\n');
  }
  if (end) socket.write('0\r\n\r\n');
}

function sendWithLength(socket: TLSSocket, query: string, length: number, body: Buffer): void {
  socket.write(
    `POST ${PATH}?${query} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\n\r\n`,
  );
  socket.write(body);
}

/** Bytes whose every position is checked: a dropped or repeated chunk shows. */
function pattern(size: number): Buffer {
  return Buffer.from(Array.from({ length: size }, (_, index) => index % 251));
}

// 1000 bytes: read whole before forwarding. 200 KiB: above what is buffered, so it streams.
for (const limit of [1000, 200 * 1024]) {
  describe(`web.maxRequestBodySize: ${limit} bytes (${limit > 64 * 1024 ? 'streamed upstream' : 'buffered'})`, () => {
    const setup = useGatewayWithUpstream((upstream) => ({
      upstream: upstream.url,
      web: { listenAddress: '127.0.0.1:0', maxRequestBodySize: limit },
    }));
    const chunkSize = limit > 64 * 1024 ? 16 * 1024 : 100;

    const overLimit: Array<{ name: string; send(socket: TLSSocket, query: string): void }> = [
      // Only the head: the answer must not wait for a body.
      {
        name: 'Content-Length one byte over',
        send: (socket, query) => sendWithLength(socket, query, limit + 1, Buffer.alloc(0)),
      },
      {
        name: 'Content-Length of 300 MB',
        send: (socket, query) => sendWithLength(socket, query, 300_000_000, pattern(chunkSize)),
      },
      // The last chunk is never sent: the count alone must refuse it.
      {
        name: 'chunked, one byte over',
        send: (socket, query) => sendChunked(socket, query, pattern(limit + 1), chunkSize, false),
      },
      {
        name: 'chunked, one chunk over',
        send: (socket, query) => sendChunked(socket, query, pattern(limit + chunkSize), chunkSize, false),
      },
    ];
    for (const { name, send } of overLimit) {
      it(`answers 413 and closes the connection: ${name}`, async (t) => {
        const { gateway, upstream } = setup;
        const query = `case=${encodeURIComponent(name)}`;
        const socket = await openTls(gateway);
        try {
          const started = performance.now();
          const closed = whenClosed(socket, started);
          const response = readResponse(socket);
          send(socket, query);
          const { status, body, head } = await response;
          const outcome = await closed;
          t.diagnostic(`413 then closed after ${Math.round(outcome.afterMs)} ms`);
          assert.equal(status, 413);
          assert.match(head, /\r\nconnection: close\r\n/i);
          assert.deepEqual(JSON.parse(body), {
            status: 'error',
            errorType: 'bad_data',
            error: `request body larger than ${limit} bytes (web.maxRequestBodySize)`,
          });
          assert.ok(outcome.afterMs < 2000, `the connection stayed open ${Math.round(outcome.afterMs)} ms`);
          assert.ok(
            !upstream.requests.some((request) => request.url.includes(query)),
            'the upstream got the whole request',
          );
        } finally {
          socket.destroy();
        }
      });
    }

    const atLimit: Array<{ name: string; send(socket: TLSSocket, query: string, body: Buffer): void }> = [
      {
        name: 'Content-Length exactly at the limit',
        send: (socket, query, body) => sendWithLength(socket, query, body.length, body),
      },
      {
        name: 'chunked, exactly at the limit',
        send: (socket, query, body) => sendChunked(socket, query, body, chunkSize, true),
      },
    ];
    for (const { name, send } of atLimit) {
      it(`forwards the body byte for byte, and keeps the connection: ${name}`, async () => {
        const { gateway, upstream } = setup;
        const query = `case=${encodeURIComponent(name)}`;
        const socket = await openTls(gateway);
        try {
          const body = pattern(limit);
          const reached = upstream.nextRequest();
          const response = readResponse(socket);
          send(socket, query, body);
          assert.equal((await response).status, 200);
          const forwarded = await reached;
          assert.ok(forwarded.url.includes(query));
          assert.equal(forwarded.body.length, limit);
          assert.ok(forwarded.body.equals(body), 'the body changed on its way');
          // Still usable: an answered request within the limit does not close the connection.
          const next = readResponse(socket);
          socket.write('GET /prometheus/api/v1/query?query=up HTTP/1.1\r\nHost: localhost\r\n\r\n');
          assert.equal((await next).status, 200);
        } finally {
          socket.destroy();
        }
      });
    }
  });
}
