import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { exchange, openTls, tlsClient, whenClosed } from '../helpers/connections.ts';
import { startTestGateway, useGatewayWithUpstream } from '../helpers/gateway.ts';

// Node looks for requests past headersTimeout/requestTimeout once per connectionsCheckingInterval
// (min(1 s, headersTimeout)), so those fire up to one interval late; on top, a noisy 2-core CI box.
const NOISE_MS = 1000;

/** The first flight of a real TLS client (its ClientHello), caught by a plain TCP listener. */
async function captureClientHello(ca: string): Promise<Buffer> {
  const listener = createNetServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const client = tlsConnect({
    host: '127.0.0.1',
    port: (listener.address() as AddressInfo).port,
    servername: 'localhost',
    ca,
  });
  client.on('error', () => undefined); // nobody ever answers it
  try {
    const [serverSide] = (await once(listener, 'connection')) as [Socket];
    const [hello] = (await once(serverSide, 'data')) as [Buffer];
    serverSide.destroy();
    return hello;
  } finally {
    client.destroy();
    listener.close();
  }
}

describe('web.headersTimeout: slow clients are cut off (slowloris)', () => {
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    web: { listenAddress: '127.0.0.1:0', headersTimeout: '1s' },
  }));

  it('disconnects a client that trickles its request head, while other clients are served promptly', async (t) => {
    const { gateway, upstream } = setup;
    const started = performance.now();
    const slow = tlsClient(gateway);
    const closed = whenClosed(slow, started);
    await once(slow, 'secureConnect');
    const head = `GET /prometheus/api/v1/slowloris HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(200)}`; // never ends
    let sent = 0;
    const trickle = setInterval(() => void (sent < head.length && slow.write(head.charAt(sent++))), 200);
    let slowGone = false;
    void closed.then(() => (slowGone = true));
    const others: Array<{ status: number; ms: number }> = [];
    try {
      while (!slowGone) {
        const batch = Array.from({ length: 4 }, async (_, index) => {
          const begun = performance.now();
          const response = await gateway.request(`/prometheus/api/v1/query?during=${others.length + index}`);
          return { status: response.status, ms: performance.now() - begun };
        });
        others.push(...(await Promise.all(batch)));
      }
      const outcome = await closed;
      const slowest = Math.max(...others.map(({ ms }) => ms));
      t.diagnostic(
        `slow client closed after ${Math.round(outcome.afterMs)} ms, ${sent} bytes; ${others.length} parallel requests, slowest ${Math.round(slowest)} ms`,
      );
      assert.ok(
        outcome.afterMs >= 900 && outcome.afterMs < 1000 + 1000 + NOISE_MS,
        `slow client closed after ${Math.round(outcome.afterMs)} ms`,
      );
      assert.ok(sent >= 3, `only ${sent} bytes trickled: the test did not trickle`);
      assert.match(outcome.received, /^HTTP\/1\.1 408 /);
      assert.ok(
        !upstream.requests.some((request) => request.url.includes('slowloris')),
        'the unfinished request reached the upstream',
      );
      assert.ok(others.length >= 8, `only ${others.length} requests ran during the trickle`);
      assert.deepEqual(new Set(others.map(({ status }) => status)), new Set([200]));
      assert.ok(slowest < 1000, `a parallel request took ${Math.round(slowest)} ms`);
    } finally {
      clearInterval(trickle);
      slow.destroy();
    }
  });

  it('cuts off a client that opens TCP but never sends a ClientHello', async (t) => {
    const started = performance.now();
    const silent = netConnect(setup.gateway.handle.address.port, '127.0.0.1');
    const outcome = await whenClosed(silent, started);
    t.diagnostic(`closed after ${Math.round(outcome.afterMs)} ms`);
    // A TLS handshakeTimeout: its own timer, not the connections check.
    assert.ok(
      outcome.afterMs >= 900 && outcome.afterMs < 1000 + NOISE_MS,
      `closed after ${Math.round(outcome.afterMs)} ms`,
    );
    assert.equal(outcome.received, '');
  });

  it('cuts off a client that trickles its ClientHello, as the handshake counts against headersTimeout', async (t) => {
    const hello = await captureClientHello(setup.gateway.cert.cert);
    const started = performance.now();
    const slow = netConnect(setup.gateway.handle.address.port, '127.0.0.1');
    const closed = whenClosed(slow, started);
    let sent = 0;
    // Every byte is activity on the socket: an idle timer would never fire.
    const trickle = setInterval(() => void (sent < hello.length - 1 && slow.write(hello.subarray(sent, ++sent))), 200);
    try {
      const outcome = await closed;
      t.diagnostic(`closed after ${Math.round(outcome.afterMs)} ms, ${sent} of ${hello.length} ClientHello bytes`);
      assert.ok(
        outcome.afterMs >= 900 && outcome.afterMs < 1000 + NOISE_MS,
        `closed after ${Math.round(outcome.afterMs)} ms`,
      );
      assert.ok(sent >= 3, `only ${sent} bytes trickled`);
      assert.equal(outcome.received, '');
    } finally {
      clearInterval(trickle);
      slow.destroy();
    }
  });
});

describe('web.maxHeaderSize', () => {
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    web: { listenAddress: '127.0.0.1:0', maxHeaderSize: 4096 },
  }));

  it('answers 431 to a request head over the limit without forwarding it, and forwards one just under', async () => {
    const { gateway, upstream } = setup;
    const tooLarge = await gateway.request('/prometheus/api/v1/query?head=large', {
      headers: { 'x-padding': 'a'.repeat(8192) },
    });
    assert.equal(tooLarge.status, 431);
    assert.ok(
      !upstream.requests.some((request) => request.url.includes('head=large')),
      'the oversized request reached the upstream',
    );
    // About 3.8 KiB of head in all, under 4096 with the client's own headers.
    const underLimit = await gateway.request('/prometheus/api/v1/query?head=small', {
      headers: { 'x-padding': 'a'.repeat(3700) },
    });
    assert.equal(underLimit.status, 200);
    const forwarded = upstream.requests.find((request) => request.url.includes('head=small'));
    assert.equal(forwarded?.headers['x-padding'], 'a'.repeat(3700));
  });
});

describe('web.maxConnections', () => {
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    web: { listenAddress: '127.0.0.1:0', maxConnections: 2 },
  }));

  it('at the limit, serves a new connection in place of the idle one used longest ago', async () => {
    const { gateway } = setup;
    const clients: TLSSocket[] = [];
    try {
      const first = await openTls(gateway);
      const second = await openTls(gateway);
      clients.push(first, second);
      assert.equal((await exchange(second, '/prometheus/api/v1/query?connection=2')).status, 200);
      assert.equal((await exchange(first, '/prometheus/api/v1/query?connection=1')).status, 200);

      const secondClosed = whenClosed(second, performance.now());
      const third = await openTls(gateway);
      clients.push(third);
      assert.equal((await exchange(third, '/prometheus/api/v1/query?connection=3')).status, 200);
      const closed = await secondClosed;
      assert.equal(closed.received, '', 'the closed connection got an answer it did not ask for');
      assert.ok(closed.afterMs < 1000, `the idle connection lingered ${Math.round(closed.afterMs)} ms`);
      assert.equal((await exchange(first, '/prometheus/api/v1/query?connection=1')).status, 200);
    } finally {
      for (const client of clients) client.destroy();
    }
  });
});

describe('web.keepAliveTimeout', () => {
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    web: { listenAddress: '127.0.0.1:0', keepAliveTimeout: '1s' },
  }));

  it('announces keepAliveTimeout and closes an idle connection one second after it', async (t) => {
    const socket = await openTls(setup.gateway);
    try {
      const { status, head } = await exchange(socket, '/prometheus/api/v1/query');
      assert.equal(status, 200);
      assert.match(head, /\r\nConnection: keep-alive\r\n/i);
      assert.match(head, /\r\nKeep-Alive: timeout=1\r\n/i, 'clients learn when the server will close');
      const outcome = await whenClosed(socket, performance.now());
      t.diagnostic(`idle connection closed after ${Math.round(outcome.afterMs)} ms`);
      assert.equal(outcome.error, undefined);
      // Node keeps the socket keepAliveTimeoutBuffer (1 s) past the announced timeout, so a client
      // reusing it at the last moment does not race the close.
      assert.ok(
        outcome.afterMs >= 1900 && outcome.afterMs < 2000 + NOISE_MS,
        `closed after ${Math.round(outcome.afterMs)} ms`,
      );
    } finally {
      socket.destroy();
    }
  });
});

describe('web.requestTimeout', () => {
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    web: { listenAddress: '127.0.0.1:0', headersTimeout: '500ms', requestTimeout: '1s' },
  }));

  it('answers 408 to a client that trickles its body, and the upstream never gets the whole request', async (t) => {
    const { gateway, upstream } = setup;
    const socket = await openTls(gateway);
    const started = performance.now();
    const closed = whenClosed(socket, started);
    socket.write(
      'POST /prometheus/api/v1/query?body=trickled HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n',
    );
    let sent = 0;
    const trickle = setInterval(() => void (sent < 99 && socket.write('q', () => sent++)), 200);
    try {
      const outcome = await closed;
      t.diagnostic(`closed after ${Math.round(outcome.afterMs)} ms, ${sent} body bytes`);
      // Past headersTimeout (500ms): the headers came at once, it is the whole request that took too long.
      assert.ok(
        outcome.afterMs >= 900 && outcome.afterMs < 1000 + 500 + NOISE_MS,
        `closed after ${Math.round(outcome.afterMs)} ms`,
      );
      assert.match(outcome.received, /^HTTP\/1\.1 408 /);
      assert.ok(sent >= 3 && sent < 100, `${sent} body bytes trickled`);
      await delay(200); // nothing may arrive late either
      assert.ok(
        !upstream.requests.some((request) => request.url.includes('body=trickled')),
        'the upstream got the whole request',
      );
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('refuses a headersTimeout longer than requestTimeout', async () => {
    await assert.rejects(
      startTestGateway({
        upstream: 'http://127.0.0.1:1',
        web: { listenAddress: '127.0.0.1:0', headersTimeout: '10s', requestTimeout: '5s' },
      }).then((gateway) => gateway.close()),
      /web\.headersTimeout: headersTimeout must not be longer than requestTimeout/,
    );
  });

  it('accepts any headersTimeout when requestTimeout is 0s (off)', async () => {
    const gateway = await startTestGateway({
      upstream: 'http://127.0.0.1:1',
      web: { listenAddress: '127.0.0.1:0', headersTimeout: '10s', requestTimeout: '0s' },
    });
    try {
      assert.equal(gateway.handle.server.requestTimeout, 0);
      assert.equal(gateway.handle.server.headersTimeout, 10_000);
    } finally {
      await gateway.close();
    }
  });
});
