// Requests Node's HTTP parser refuses (bad syntax, a head over web.maxHeaderSize, a request past
// headersTimeout/requestTimeout) never reach a route. Node answers them itself when no one listens
// for 'clientError'; listening, we send the same bytes and also count and log them, as nginx's
// access log shows its 400s. The request's bytes (error.rawPacket) are never logged: they may
// carry Authorization.
import { http } from './kernel/node-http.ts';
import type { Duplex } from 'node:stream';
import type { Logger } from './logger.ts';

const { STATUS_CODES } = http;

/** Node's own answers by parser error (node:_http_server); anything else is a 400. */
const STATUS_BY_CODE: ReadonlyMap<string, number> = new Map([
  ['HPE_HEADER_OVERFLOW', 431],
  ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 413],
  ['ERR_HTTP_REQUEST_TIMEOUT', 408],
]);

export interface ClientErrorOptions {
  logger: Logger;
  /** Counts the answer (self-metrics). */
  onAnswer: (status: number) => void;
}

export function createClientErrorHandler(
  options: ClientErrorOptions,
): (error: NodeJS.ErrnoException, socket: Duplex) => void {
  return (error, socket) => {
    // A reset connection, or a response already on its way: nothing can be answered (Node's rule).
    const response = (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || response?.headersSent) return void socket.destroy();
    const status = STATUS_BY_CODE.get(error.code ?? '') ?? 400;
    options.onAnswer(status);
    options.logger.info(
      {
        status,
        error: error.code ?? error.message,
        remote_address: (socket as Duplex & { remoteAddress?: string }).remoteAddress,
      },
      'request refused by the HTTP parser',
    );
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
    socket.destroy();
  };
}
