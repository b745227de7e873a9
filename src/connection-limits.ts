// The listener's connection limits. Node's server.maxConnections refuses a new connection at
// accept, whatever the open ones do, so a client that leaves connections idle (keep-alive, or a
// finished handshake and no request) kept everyone else out until they timed out. Here a new
// connection at a limit takes the slot of the idle connection used least recently; only a
// listener (or an address) full of connections in a request or a TLS handshake refuses.
import type { BlockList, Socket } from 'node:net';
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface ConnectionLimitOptions {
  /** Client connections at once, TLS handshakes included. */
  maxConnections: number;
  /** Connections one client address may hold at once; 0: no cap. */
  maxPerAddress: number;
  /** Peers the per-address cap spares: proxies (trustProxy) carry many clients' connections. */
  spared: BlockList | undefined;
  /** A new connection was closed at once: no idle connection could make room. */
  onRefused(reason: 'maxConnections' | 'maxConnectionsPerAddress', address: string): void;
}

export interface ConnectionLimits {
  /** Every open connection's socket, also those still in their TLS handshake (for shutdown). */
  sockets(): IterableIterator<Socket>;
  /** Marks the connection of a request as just used: idle connections used longest ago go first. */
  used(socket: Socket): void;
}

/** Node's socket -> current response link (also read by src/client-error.ts); null between requests. */
type HttpSocket = TLSSocket & { _httpMessage?: object | null; [LAST_USE]?: number };

const LAST_USE = Symbol('promgate.lastUse');

interface Connection {
  /** The TCP socket ('connection'), counted from accept on. */
  raw: Socket;
  /** The TLS socket HTTP runs on, once the handshake is done. */
  tls: HttpSocket | undefined;
  address: string;
}

export function limitConnections(server: Server, options: ConnectionLimitOptions): ConnectionLimits {
  const { maxConnections, maxPerAddress, spared, onRefused } = options;
  const connections = new Map<Socket, Connection>();
  const perAddress = new Map<string, number>();
  // A counter, not a clock: only the order of use matters.
  let tick = 0;

  const isSpared = (address: string) => spared?.check(address, address.includes(':') ? 'ipv6' : 'ipv4');

  const forget = (connection: Connection) => {
    if (!connections.delete(connection.raw) || maxPerAddress === 0) return;
    const count = (perAddress.get(connection.address) ?? 1) - 1;
    if (count === 0) perAddress.delete(connection.address);
    else perAddress.set(connection.address, count);
  };

  /** Closes the idle connection (of `address`, or any) used longest ago; false when none is idle. */
  const reclaimIdle = (address?: string): boolean => {
    let oldest: Connection | undefined;
    let oldestUse = Infinity;
    for (const connection of connections.values()) {
      const tls = connection.tls;
      // In its handshake, or a request in flight (Node links the response until it is finished).
      if (tls === undefined || tls._httpMessage || (address !== undefined && connection.address !== address)) continue;
      const lastUse = tls[LAST_USE] ?? 0;
      if (lastUse < oldestUse) {
        oldest = connection;
        oldestUse = lastUse;
      }
    }
    if (!oldest) return false;
    forget(oldest);
    oldest.raw.destroy();
    return true;
  };

  server.on('connection', (raw: Socket) => {
    const address = raw.remoteAddress ?? '';
    const capped = maxPerAddress > 0 && (perAddress.get(address) ?? 0) >= maxPerAddress && !isSpared(address);
    if (capped && !reclaimIdle(address)) return refuse(raw, 'maxConnectionsPerAddress', address);
    if (connections.size >= maxConnections && !reclaimIdle()) return refuse(raw, 'maxConnections', address);
    const connection: Connection = { raw, tls: undefined, address };
    connections.set(raw, connection);
    if (maxPerAddress > 0) perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    raw.once('close', () => forget(connection));
  });
  server.on('secureConnection', (tls: HttpSocket) => {
    const connection = connections.get((tls as TLSSocket & { _parent?: Socket })._parent!);
    if (!connection) return; // reclaimed during its handshake
    tls[LAST_USE] = ++tick;
    connection.tls = tls;
  });

  function refuse(raw: Socket, reason: 'maxConnections' | 'maxConnectionsPerAddress', address: string) {
    raw.destroy();
    onRefused(reason, address);
  }

  return {
    sockets: () => connections.keys(),
    used(socket) {
      (socket as HttpSocket)[LAST_USE] = ++tick;
    },
  };
}
