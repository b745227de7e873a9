// Found in review: 512 TLS connections that each sent one unauthenticated request (or none) and
// then idled kept every new client out for the 65 s keep-alive timeout: the listener refused new
// connections at web.maxConnections whatever the open ones were doing (nginx, at its limit, closes
// idle keep-alive connections instead). Now a new connection at the limit replaces the idle one
// used longest ago; connections with a request in flight keep their slots, and one address may
// hold only web.maxConnectionsPerAddress.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { exchange, openTls, readResponse, tlsClient, whenClosed } from '../helpers/connections.ts';
import { useGatewayWithUpstream, type TestGateway } from '../helpers/gateway.ts';
import type { RecordingUpstream } from '../helpers/upstream.ts';

const LIMIT = 16;
/** Answered by the gateway itself, before auth: "served" means TLS and HTTP both got through. */
const HEALTH = '/prometheus/-/promgate/healthy';
const SERVED_WITHIN_MS = 1000;
/** A bcrypt hash no test password matches: requests without credentials get 401 before any check. */
const NO_ONES_HASH = `$2y$10$${'a'.repeat(53)}`;

/** Upstream requests whose path contains "hold" stay unanswered until release(): a request in flight. */
function holdRequests(upstream: RecordingUpstream): { release(): void } {
  const held: ServerResponse[] = [];
  upstream.handle((req, res) => {
    if (req.url?.includes('hold')) return void held.push(res);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{}}');
  });
  return {
    release: () => {
      for (const res of held.splice(0)) res.end();
    },
  };
}

/** A new client: handshake and one request; how long it took, or why it failed. */
async function newClient(
  gateway: TestGateway,
  localAddress?: string,
): Promise<{ status: number; ms: number; socket: TLSSocket }> {
  const started = performance.now();
  const socket = await openTls(gateway, localAddress);
  const { status } = await exchange(socket, HEALTH);
  return { status, ms: performance.now() - started, socket };
}

/** A connection the server refuses closes before its handshake ends. */
async function isRefused(gateway: TestGateway, localAddress?: string): Promise<boolean> {
  const socket = tlsClient(gateway, localAddress);
  const closed = whenClosed(socket, performance.now(), 5000);
  const fate = await Promise.race([
    closed.then(() => 'refused'),
    once(socket, 'secureConnect').then(
      () => 'accepted',
      () => 'refused',
    ),
  ]);
  socket.destroy();
  return fate === 'refused';
}

interface IdleHold {
  name: string;
  auth?: boolean;
  /** Opens one connection and leaves it the way the attack does. */
  hold(gateway: TestGateway): Promise<TLSSocket>;
}

const IDLE_HOLDS: IdleHold[] = [
  {
    name: 'idle after a refused login (401)',
    auth: true,
    async hold(gateway) {
      const socket = await openTls(gateway);
      assert.equal((await exchange(socket, '/prometheus/api/v1/query?query=up')).status, 401);
      return socket;
    },
  },
  {
    name: 'idle after a 200',
    async hold(gateway) {
      const socket = await openTls(gateway);
      assert.equal((await exchange(socket, '/prometheus/api/v1/query?query=up')).status, 200);
      return socket;
    },
  },
  {
    name: 'idle after the TLS handshake, no request sent',
    hold: (gateway) => openTls(gateway),
  },
  {
    // Not a request yet (its head is unfinished): as idle as an open keep-alive connection, and
    // reclaimed long before web.headersTimeout (10 s) would cut it.
    name: 'a half-sent request head (slowloris)',
    async hold(gateway) {
      const socket = await openTls(gateway);
      socket.write('GET /prometheus/api/v1/query?query=up HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      return socket;
    },
  },
];

/** Resolves once `count` of the sockets have closed (the test's time limit bounds the wait). */
function closedOf(sockets: Socket[], count: number): Promise<void> {
  let closed = 0;
  return new Promise((resolve) => {
    for (const socket of sockets) {
      if (socket.destroyed) closed++;
      else socket.once('close', () => ++closed === count && resolve());
    }
    if (closed >= count) resolve();
  });
}

describe(`connection exhaustion: ${LIMIT} idle connections at web.maxConnections do not keep new clients out`, () => {
  for (const { name, auth, hold } of IDLE_HOLDS) {
    describe(name, () => {
      const setup = useGatewayWithUpstream((upstream) => ({
        upstream: upstream.url,
        web: { listenAddress: '127.0.0.1:0', maxConnections: LIMIT },
        ...(auth ? { auth: { users: { alice: NO_ONES_HASH } } } : {}),
      }));

      it(`serves each new client within ${SERVED_WITHIN_MS} ms, closing one of the idle connections for it`, async (t) => {
        const { gateway } = setup;
        const held: TLSSocket[] = [];
        const clients: TLSSocket[] = [];
        try {
          for (let index = 0; index < LIMIT; index++) held.push(await hold(gateway));
          for (let round = 1; round <= 4; round++) {
            const client = await newClient(gateway);
            clients.push(client.socket);
            t.diagnostic(`new client ${round}: ${client.status} after ${Math.round(client.ms)} ms`);
            assert.equal(client.status, 200);
            assert.ok(client.ms < SERVED_WITHIN_MS, `new client ${round} took ${Math.round(client.ms)} ms`);
          }
          // The limit still holds: each new client took a held connection's place.
          await closedOf(held, 4);
        } finally {
          for (const socket of [...held, ...clients]) socket.destroy();
        }
      });
    });
  }

  describe('connections with a request in flight', () => {
    const setup = useGatewayWithUpstream((upstream) => ({
      upstream: upstream.url,
      web: { listenAddress: '127.0.0.1:0', maxConnections: LIMIT },
    }));

    it('keep their slots: a new connection is refused at once, and is served once one finishes', async () => {
      const { gateway, upstream } = setup;
      const holding = holdRequests(upstream);
      const held: TLSSocket[] = [];
      try {
        const answers: Array<Promise<{ status: number }>> = [];
        for (let index = 0; index < LIMIT; index++) {
          const socket = await openTls(gateway);
          held.push(socket);
          answers.push(exchange(socket, `/prometheus/api/v1/query?hold=${index}`));
        }
        while (upstream.requests.filter((request) => request.url.includes('hold')).length < LIMIT)
          await upstream.nextRequest();
        const started = performance.now();
        assert.equal(
          await isRefused(gateway),
          true,
          'a connection beyond the limit was accepted while every slot was busy',
        );
        assert.ok(performance.now() - started < SERVED_WITHIN_MS);
        holding.release();
        assert.deepEqual(new Set((await Promise.all(answers)).map(({ status }) => status)), new Set([200]));
        const client = await newClient(gateway);
        client.socket.destroy();
        assert.equal(client.status, 200);
      } finally {
        holding.release();
        for (const socket of held) socket.destroy();
      }
    });
  });

  describe('TCP connections that never start their TLS handshake', () => {
    const setup = useGatewayWithUpstream((upstream) => ({
      upstream: upstream.url,
      web: { listenAddress: '127.0.0.1:0', maxConnections: LIMIT, headersTimeout: '1s' },
    }));

    it('are cut at web.headersTimeout (the handshake timeout), and new clients are served then', async (t) => {
      const { gateway } = setup;
      const started = performance.now();
      const held = Array.from({ length: LIMIT }, () => netConnect(gateway.handle.address.port, '127.0.0.1'));
      try {
        await Promise.all(held.map((socket) => once(socket, 'connect')));
        const closed = await Promise.all(held.map((socket) => whenClosed(socket, started)));
        const slowest = Math.max(...closed.map(({ afterMs }) => afterMs));
        t.diagnostic(`half-open connections closed after at most ${Math.round(slowest)} ms`);
        assert.ok(slowest < 1000 + SERVED_WITHIN_MS, `a half-open connection lasted ${Math.round(slowest)} ms`);
        const client = await newClient(gateway);
        client.socket.destroy();
        assert.equal(client.status, 200);
      } finally {
        for (const socket of held) socket.destroy();
      }
    });
  });
});

describe('connection exhaustion from one address: web.maxConnectionsPerAddress', () => {
  const PER_ADDRESS = 4;
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    web: { listenAddress: '127.0.0.1:0', maxConnections: LIMIT, maxConnectionsPerAddress: PER_ADDRESS },
    trustProxy: ['127.0.0.4'],
  }));

  /** Opens `count` connections from `address`, each with a request held at the upstream. */
  async function busyFrom(address: string, count: number): Promise<TLSSocket[]> {
    const sockets: TLSSocket[] = [];
    for (let index = 0; index < count; index++) {
      const socket = await openTls(setup.gateway, address);
      sockets.push(socket);
      void readResponse(socket).catch(() => undefined);
      const reached = setup.upstream.nextRequest();
      socket.write(`GET /prometheus/api/v1/query?hold=${address}-${index} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      await reached;
    }
    return sockets;
  }

  const cases: Array<{ name: string; run(): Promise<void> }> = [
    {
      name: 'refuses one more busy connection from an address at its cap, while another address is served',
      async run() {
        const held = await busyFrom('127.0.0.2', PER_ADDRESS);
        try {
          assert.equal(
            await isRefused(setup.gateway, '127.0.0.2'),
            true,
            'a fifth connection from 127.0.0.2 was accepted',
          );
          const other = await newClient(setup.gateway, '127.0.0.1');
          other.socket.destroy();
          assert.equal(other.status, 200);
          assert.ok(other.ms < SERVED_WITHIN_MS);
          assert.ok(
            held.every((socket) => !socket.destroyed),
            'a busy connection was closed',
          );
        } finally {
          for (const socket of held) socket.destroy();
        }
      },
    },
    {
      name: "replaces the address's own idle connection used longest ago",
      async run() {
        const held: TLSSocket[] = [];
        try {
          for (let index = 0; index < PER_ADDRESS; index++) held.push(await openTls(setup.gateway, '127.0.0.3'));
          // Used in the order 1, 2, 3, 0: connection 1 has been idle longest, though 0 is older.
          for (const index of [1, 2, 3, 0]) assert.equal((await exchange(held[index]!, HEALTH)).status, 200);
          const client = await newClient(setup.gateway, '127.0.0.3');
          held.push(client.socket);
          assert.equal(client.status, 200);
          await closedOf([held[1]!], 1);
          for (const index of [0, 2, 3])
            assert.equal((await exchange(held[index]!, HEALTH)).status, 200, `connection ${index} was closed`);
        } finally {
          for (const socket of held) socket.destroy();
        }
      },
    },
    {
      name: 'spares peers listed in trustProxy (a proxy carries many clients)',
      async run() {
        const held = await busyFrom('127.0.0.4', PER_ADDRESS + 2);
        for (const socket of held) socket.destroy();
      },
    },
  ];

  for (const { name, run } of cases) {
    it(name, async () => {
      const holding = holdRequests(setup.upstream);
      try {
        await run();
      } finally {
        holding.release();
      }
    });
  }
});
