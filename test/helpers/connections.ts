// Raw TLS connections to a test gateway, for tests about connections themselves (limits, timeouts,
// half-sent requests): what the server sends and when it closes, with no HTTP client in between.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { TestGateway } from './gateway.ts';

/** A TLS connection to the gateway, handshake not awaited; `localAddress` picks another loopback source (127.0.0.2, ...). */
export function tlsClient(gateway: TestGateway, localAddress?: string): TLSSocket {
  return tlsConnect({
    host: '127.0.0.1',
    port: gateway.handle.address.port,
    servername: 'localhost',
    ca: gateway.cert.cert,
    ...(localAddress ? { localAddress } : {}),
  });
}

/** A TLS connection to the gateway, resolved once the handshake is done. */
export async function openTls(gateway: TestGateway, localAddress?: string): Promise<TLSSocket> {
  const socket = tlsClient(gateway, localAddress);
  await once(socket, 'secureConnect');
  return socket;
}

export interface Closed {
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
export function whenClosed(socket: Socket, since: number, giveUpMs = 8000): Promise<Closed> {
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

/** Resolves with the first response head and its body once whole (Content-Length or chunked); rejects if the connection closes first. */
export function readResponse(socket: Socket): Promise<{ status: number; head: string; body: string }> {
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
      resolve({ status: Number(head.split(' ')[1]), head, body });
    };
    const onClose = () =>
      reject(new Error(`connection closed before a whole response: ${JSON.stringify(buffer.slice(0, 100))}`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** One GET on an open keep-alive connection; resolves once the whole response is in. */
export function exchange(
  socket: Socket,
  path: string,
  headers = '',
): Promise<{ status: number; head: string; body: string }> {
  const response = readResponse(socket);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`);
  return response;
}
