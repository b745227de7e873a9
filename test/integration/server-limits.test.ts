import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startTestGateway, useGatewayWithUpstream, type TestGateway } from '../helpers/gateway.ts';

// Node looks for requests past headersTimeout/requestTimeout once per connectionsCheckingInterval
// (min(1 s, headersTimeout)), so those fire up to one interval late; on top, a noisy 2-core CI box.
const NOISE_MS = 1000;

function tlsClient(gateway: TestGateway): TLSSocket {
  return tlsConnect({ host: '127.0.0.1', port: gateway.handle.address.port, servername: 'localhost', ca: gateway.cert.cert });
}

/** A TLS connection to the gateway, resolved once the handshake is done. */
async function openTls(gateway: TestGateway): Promise<TLSSocket> {
  const socket = tlsClient(gateway);
  await once(socket, 'secureConnect');
  return socket;
}

interface Closed {
  /** ms from `since` until the socket closed */
  afterMs: number;
  /** what the server sent (cleartext for TLS sockets) */
  received: string;
  error: string | undefined;
}

/**
 * Resolves once the socket is closed, with what the server sent until then. A socket still open
 * after `giveUpMs` is closed here, so that a server that never cuts it fails the test's time bound.
 */
function whenClosed(socket: Socket, since: number, giveUpMs = 8000): Promise<Closed> {
  let received = '';
  let error: string | undefined;
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', (failure: NodeJS.ErrnoException) => (error = failure.code ?? failure.message));
  const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
  return new Promise((resolve) =>
    socket.once('close', () => {
      clearTimeout(giveUp);
      resolve({ afterMs: performance.now() - since, received, error });
    }),
  );
}

/** One GET on an open keep-alive connection; resolves once the whole response (Content-Length or chunked) is in. */
function exchange(socket: TLSSocket, path: string): Promise<{ status: number; head: string }> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.slice(0, end);
      const body = buffer.slice(end + 4);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
      if (length === undefined ? !body.endsWith('0\r\n\r\n') : body.length < Number(length)) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({ status: Number(head.split(' ')[1]), head });
    };
    const onClose = () => reject(new Error(`connection closed before a whole response: ${JSON.stringify(buffer.slice(0, 100))}`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  });
}

/** The first flight of a real TLS client (its ClientHello), caught by a plain TCP listener. */
async function captureClientHello(ca: string): Promise<Buffer> {
  const listener = createNetServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const client = tlsConnect({ host: '127.0.0.1', port: (listener.address() as AddressInfo).port, servername: 'localhost', ca });
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
  const setup = useGatewayWithUpstream((upstream) => ({ upstream: upstream.url, web: { listenAddress: '127.0.0.1:0', headersTimeout: '1s' } }));

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
      t.diagnostic(`slow client closed after ${Math.round(outcome.afterMs)} ms, ${sent} bytes; ${others.length} parallel requests, slowest ${Math.round(slowest)} ms`);
      assert.ok(outcome.afterMs >= 900 && outcome.afterMs < 1000 + 1000 + NOISE_MS, `slow client closed after ${Math.round(outcome.afterMs)} ms`);
      assert.ok(sent >= 3, `only ${sent} bytes trickled: the test did not trickle`);
      assert.match(outcome.received, /^HTTP\/1\.1 408 /);
      assert.ok(!upstream.requests.some((request) => request.url.includes('slowloris')), 'the unfinished request reached the upstream');
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
    assert.ok(outcome.afterMs >= 900 && outcome.afterMs < 1000 + NOISE_MS, `closed after ${Math.round(outcome.afterMs)} ms`);
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
      assert.ok(outcome.afterMs >= 900 && outcome.afterMs < 1000 + NOISE_MS, `closed after ${Math.round(outcome.afterMs)} ms`);
      assert.ok(sent >= 3, `only ${sent} bytes trickled`);
      assert.equal(outcome.received, '');
    } finally {
      clearInterval(trickle);
      slow.destroy();
    }
  });
});

describe('web.maxHeaderSize', () => {
  const setup = useGatewayWithUpstream((upstream) => ({ upstream: upstream.url, web: { listenAddress: '127.0.0.1:0', maxHeaderSize: 4096 } }));

  it('answers 431 to a request head over the limit without forwarding it, and forwards one just under', async () => {
    const { gateway, upstream } = setup;
    const tooLarge = await gateway.request('/prometheus/api/v1/query?head=large', { headers: { 'x-padding': 'a'.repeat(8192) } });
    assert.equal(tooLarge.status, 431);
    assert.ok(!upstream.requests.some((request) => request.url.includes('head=large')), 'the oversized request reached the upstream');
    // About 3.8 KiB of head in all, under 4096 with the client's own headers.
    const underLimit = await gateway.request('/prometheus/api/v1/query?head=small', { headers: { 'x-padding': 'a'.repeat(3700) } });
    assert.equal(underLimit.status, 200);
    const forwarded = upstream.requests.find((request) => request.url.includes('head=small'));
    assert.equal(forwarded?.headers['x-padding'], 'a'.repeat(3700));
  });
});

describe('web.maxConnections', () => {
  const setup = useGatewayWithUpstream((upstream) => ({ upstream: upstream.url, web: { listenAddress: '127.0.0.1:0', maxConnections: 2 } }));

  it('closes connections over the limit at once, and takes new ones when a slot frees up', async () => {
    const { gateway } = setup;
    const { server } = gateway.handle;
    const serverSides = new Map<number | undefined, Socket>();
    const track = (socket: Socket) => serverSides.set(socket.remotePort, socket);
    server.on('connection', track);
    const clients: TLSSocket[] = [];
    try {
      const first = await openTls(gateway);
      const second = await openTls(gateway);
      clients.push(first, second);
      assert.equal((await exchange(first, '/prometheus/api/v1/query?connection=1')).status, 200);
      assert.equal((await exchange(second, '/prometheus/api/v1/query?connection=2')).status, 200);

      const dropped = once(server, 'drop');
      const third = tlsClient(gateway);
      clients.push(third);
      const thirdClosed = whenClosed(third, performance.now());
      const thirdFate = await Promise.race([thirdClosed.then(() => 'closed'), once(third, 'secureConnect').then(() => 'served', () => 'closed')]);
      assert.equal(thirdFate, 'closed', 'the third connection finished its handshake');
      const refused = await thirdClosed;
      await dropped;
      assert.equal(refused.error, 'ECONNRESET'); // "socket disconnected before secure TLS connection was established"
      assert.ok(refused.afterMs < 1000, `the third connection lingered ${Math.round(refused.afterMs)} ms`);
      // The two open keep-alive connections are still served.
      assert.equal((await exchange(first, '/prometheus/api/v1/query?connection=1')).status, 200);

      const firstServerSide = serverSides.get(first.localPort);
      assert.ok(firstServerSide, 'the server did not see the first connection');
      first.destroy();
      await once(firstServerSide, 'close');
      const fourth = await openTls(gateway);
      clients.push(fourth);
      assert.equal((await exchange(fourth, '/prometheus/api/v1/query?connection=4')).status, 200);
      assert.equal((await exchange(second, '/prometheus/api/v1/query?connection=2')).status, 200);
    } finally {
      server.off('connection', track);
      for (const client of clients) client.destroy();
    }
  });
});

describe('web.keepAliveTimeout', () => {
  const setup = useGatewayWithUpstream((upstream) => ({ upstream: upstream.url, web: { listenAddress: '127.0.0.1:0', keepAliveTimeout: '1s' } }));

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
      assert.ok(outcome.afterMs >= 1900 && outcome.afterMs < 2000 + NOISE_MS, `closed after ${Math.round(outcome.afterMs)} ms`);
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
    socket.write('POST /prometheus/api/v1/query?body=trickled HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n');
    let sent = 0;
    const trickle = setInterval(() => void (sent < 99 && socket.write('q', () => sent++)), 200);
    try {
      const outcome = await closed;
      t.diagnostic(`closed after ${Math.round(outcome.afterMs)} ms, ${sent} body bytes`);
      // Past headersTimeout (500ms): the headers came at once, it is the whole request that took too long.
      assert.ok(outcome.afterMs >= 900 && outcome.afterMs < 1000 + 500 + NOISE_MS, `closed after ${Math.round(outcome.afterMs)} ms`);
      assert.match(outcome.received, /^HTTP\/1\.1 408 /);
      assert.ok(sent >= 3 && sent < 100, `${sent} body bytes trickled`);
      await delay(200); // nothing may arrive late either
      assert.ok(!upstream.requests.some((request) => request.url.includes('body=trickled')), 'the upstream got the whole request');
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('refuses a headersTimeout longer than requestTimeout', async () => {
    await assert.rejects(
      startTestGateway({ upstream: 'http://127.0.0.1:1', web: { listenAddress: '127.0.0.1:0', headersTimeout: '10s', requestTimeout: '5s' } }).then((gateway) => gateway.close()),
      /web\.headersTimeout: headersTimeout must not be longer than requestTimeout/,
    );
  });

  it('accepts any headersTimeout when requestTimeout is 0s (off)', async () => {
    const gateway = await startTestGateway({ upstream: 'http://127.0.0.1:1', web: { listenAddress: '127.0.0.1:0', headersTimeout: '10s', requestTimeout: '0s' } });
    try {
      assert.equal(gateway.handle.server.requestTimeout, 0);
      assert.equal(gateway.handle.server.headersTimeout, 10_000);
    } finally {
      await gateway.close();
    }
  });
});
