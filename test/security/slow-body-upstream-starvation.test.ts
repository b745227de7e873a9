// Found in review: 260 POSTs announcing 100 MB bodies and never finishing them made a GET wait
// 9 s, as each body was forwarded while it arrived and held one of the 256 upstream connections
// all along. Now bodies up to 64 KiB are read whole before the upstream request starts, and
// larger ones stream through an upload pool of their own (a quarter of upstream.maxConnections):
// slow uploads wait for each other, never take the connections other requests use.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { openTls } from '../helpers/connections.ts';
import { useGatewayWithUpstream } from '../helpers/gateway.ts';

/** Twice the upload pool (one connection) and the main pool (two) alike. */
const SLOW_UPLOADS = 4;
const SERVED_WITHIN_MS = 1000;
const FORM = 'Content-Type: application/x-www-form-urlencoded';

const SLOW_UPLOADS_BY_KIND: Array<{ name: string; start(socket: TLSSocket, query: string): void }> = [
  {
    name: 'a small Content-Length body, 10 bytes sent',
    start: (socket, query) =>
      socket.write(
        `POST /prometheus/api/v1/query?${query} HTTP/1.1\r\nHost: localhost\r\n${FORM}\r\nContent-Length: 1000\r\n\r\nquery=up&x`,
      ),
  },
  {
    name: 'a chunked body, one chunk sent',
    start: (socket, query) =>
      socket.write(
        `POST /prometheus/api/v1/query?${query} HTTP/1.1\r\nHost: localhost\r\n${FORM}\r\nTransfer-Encoding: chunked\r\n\r\na\r\nquery=up&x\r\n`,
      ),
  },
  {
    name: 'a 30 MB Content-Length body (under the limit), 10 bytes sent',
    start: (socket, query) =>
      socket.write(
        `POST /prometheus/api/v1/query?${query} HTTP/1.1\r\nHost: localhost\r\n${FORM}\r\nContent-Length: 30000000\r\n\r\nquery=up&x`,
      ),
  },
  {
    name: 'a chunked body past what is buffered (80 KiB sent)',
    start(socket, query) {
      socket.write(
        `POST /prometheus/api/v1/query?${query} HTTP/1.1\r\nHost: localhost\r\n${FORM}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      for (let sent = 0; sent < 80 * 1024; sent += 8192) socket.write(`2000\r\n${'x'.repeat(8192)}\r\n`);
    },
  },
];

describe('slow request bodies do not starve the upstream pool (upstream.maxConnections: 2)', () => {
  const setup = useGatewayWithUpstream((upstream) => ({ upstream: { url: upstream.url, maxConnections: 2 } }));

  /** Starts the slow uploads; resolves once the gateway has every request head (its 'request' events). */
  async function startSlowUploads(kinds: typeof SLOW_UPLOADS_BY_KIND): Promise<TLSSocket[]> {
    const { server } = setup.gateway.handle;
    let seen = 0;
    const total = kinds.length * SLOW_UPLOADS;
    const allSeen = new Promise<void>((resolve) => {
      const onRequest = (req: { url?: string }) => {
        if (req.url?.includes('slow=') && ++seen === total) {
          server.off('request', onRequest);
          resolve();
        }
      };
      server.on('request', onRequest);
    });
    const sockets: TLSSocket[] = [];
    for (const [kind, { start }] of kinds.entries()) {
      for (let index = 0; index < SLOW_UPLOADS; index++) {
        const socket = await openTls(setup.gateway);
        socket.on('error', () => undefined); // cut at the end of the test
        sockets.push(socket);
        start(socket, `slow=${kind}-${index}`);
      }
    }
    await allSeen;
    return sockets;
  }

  /** A request that must not wait for the slow uploads; it gives up after 3 s so a starved one fails rather than hangs. */
  async function timed(
    path: string,
    options: { method?: string; body?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; ms: number }> {
    const started = performance.now();
    const response = await setup.gateway.request(path, { ...options, signal: AbortSignal.timeout(3000) });
    return { status: response.status, ms: performance.now() - started };
  }

  for (const kinds of [...SLOW_UPLOADS_BY_KIND.map((kind) => [kind]), SLOW_UPLOADS_BY_KIND]) {
    const name = kinds.length === 1 ? kinds[0]!.name : 'all of these kinds at once';
    it(`serves a GET and a small POST within ${SERVED_WITHIN_MS} ms while ${SLOW_UPLOADS} clients each trickle ${name}`, async (t) => {
      const sockets = await startSlowUploads(kinds);
      try {
        const get = await timed('/prometheus/api/v1/query?query=up');
        const post = await timed('/prometheus/api/v1/query', {
          method: 'POST',
          body: 'query=up',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        t.diagnostic(`GET ${get.status} in ${Math.round(get.ms)} ms, POST ${post.status} in ${Math.round(post.ms)} ms`);
        assert.equal(get.status, 200);
        assert.equal(post.status, 200);
        assert.ok(get.ms < SERVED_WITHIN_MS, `the GET took ${Math.round(get.ms)} ms`);
        assert.ok(post.ms < SERVED_WITHIN_MS, `the POST took ${Math.round(post.ms)} ms`);
      } finally {
        for (const socket of sockets) socket.destroy();
      }
    });
  }
});
