// Request bodies on their way upstream. Forwarded as they arrived, a body sent slowly held an
// upstream connection for as long as the client took: a few hundred slow uploads took the whole
// pool, and GETs queued behind them. So, as nginx buffers bodies before it proxies: a body of at
// most BUFFERED_BODY_SIZE is read whole before the upstream request starts (under
// web.requestTimeout), and only larger ones stream, through an upload pool of their own.
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { BodyTooLargeError } from './errors.ts';

/** Read whole before forwarding; web.maxConnections (512) such bodies at once hold 32 MiB at most. */
export const BUFFERED_BODY_SIZE = 64 * 1024;

/** The body whole, the body as a stream (too large to buffer), or why it is refused. */
export type RequestBody = Buffer | Readable | BodyTooLargeError;

/**
 * Reads the request body of `length` bytes (undefined: chunked) and calls `done` once with what to
 * forward; never when the client goes away first. A chunked body is counted against `maxSize` as
 * it arrives, also while it streams.
 */
export function readRequestBody(
  req: IncomingMessage,
  length: number | undefined,
  maxSize: number,
  done: (body: RequestBody) => void,
): void {
  if (length !== undefined && length > maxSize) return done(new BodyTooLargeError(maxSize));
  if (length !== undefined && length > BUFFERED_BODY_SIZE) return done(req); // Node's parser holds it to its length
  const chunks: Buffer[] = [];
  let size = 0;
  const stop = () => {
    req.pause();
    req.off('data', onData);
    req.off('end', onEnd);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    chunks.push(chunk);
    if (size > maxSize) {
      stop();
      done(new BodyTooLargeError(maxSize));
    } else if (size > BUFFERED_BODY_SIZE) {
      stop();
      done(Readable.from(countedRest(chunks, size, req, maxSize), { objectMode: false }));
    }
  };
  const onEnd = () => {
    stop();
    done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  };
  req.on('data', onData);
  req.on('end', onEnd);
}

/** What was read, then the rest of a chunked body; throws (ending the upstream request) past maxSize. */
async function* countedRest(
  read: Buffer[],
  size: number,
  req: IncomingMessage,
  maxSize: number,
): AsyncGenerator<Buffer> {
  yield* read;
  // Not destroyed when the count throws: the client's connection must still carry the 413.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxSize) throw new BodyTooLargeError(maxSize);
    yield chunk;
  }
}
