// A stage that may show a client only part of an upstream's JSON answer (a tenant's rules, alerts
// or silences) registers a filter on the request; the proxy then reads the 2xx JSON answer whole,
// decodes it whatever its Content-Encoding, filters and re-serializes it. An answer that cannot be
// read is never passed on unfiltered.
import type { IncomingMessage } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync, zstdDecompressSync } from 'node:zlib';

/** Receives the parsed JSON answer, returns what the client gets (it may change its argument). */
export type JsonFilter = (json: unknown) => unknown;

/** A filtered answer larger than this, compressed or decoded, is refused rather than held in memory. */
export const MAX_FILTERED_BYTES = 64 << 20;

const FILTER = Symbol('promgate.responseFilter');
type WithFilter = IncomingMessage & { [FILTER]?: JsonFilter };

/**
 * Filters the upstream's 2xx JSON answer to this request. The upstream is asked for an
 * uncompressed answer; one compressed anyway (gzip, deflate, br, zstd) is decoded.
 */
export function filterResponse(req: IncomingMessage, filter: JsonFilter): void {
  const withFilter = req as WithFilter;
  const previous = withFilter[FILTER];
  withFilter[FILTER] = previous ? (json) => filter(previous(json)) : filter;
  req.headers['accept-encoding'] = 'identity';
}

/** The filter a stage registered for this request's answer, if any. */
export function responseFilterOf(req: IncomingMessage): JsonFilter | undefined {
  return (req as WithFilter)[FILTER];
}

/** Why an answer could not be filtered (the client gets a 502, never the unfiltered answer). */
export class UnfilterableResponseError extends Error {}

/** The answer's body filtered and serialized as identity-encoded JSON; throws UnfilterableResponseError. */
export function filterJsonBody(body: Buffer, contentEncoding: string | undefined, filter: JsonFilter): Buffer {
  let json: unknown;
  try {
    json = JSON.parse(decodeBody(body, contentEncoding).toString('utf8'));
  } catch (error) {
    if (error instanceof UnfilterableResponseError) throw error;
    throw new UnfilterableResponseError(`the upstream's answer is not readable JSON (${(error as Error).message})`);
  }
  return Buffer.from(JSON.stringify(filter(json)));
}

function decodeBody(body: Buffer, contentEncoding: string | undefined): Buffer {
  const limit = { maxOutputLength: MAX_FILTERED_BYTES };
  // Several codings apply in the order listed; undo them last first.
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  let decoded = body;
  for (const coding of codings.reverse()) {
    switch (coding) {
      case 'gzip':
      case 'x-gzip':
        decoded = gunzipSync(decoded, limit);
        break;
      case 'deflate':
        // zlib-wrapped as the RFC says, or raw as some servers send it.
        decoded = inflateEither(decoded, limit);
        break;
      case 'br':
        decoded = brotliDecompressSync(decoded, limit);
        break;
      case 'zstd':
        decoded = zstdDecompressSync(decoded, limit);
        break;
      default:
        throw new UnfilterableResponseError(`the upstream's answer has an unknown content encoding "${coding}"`);
    }
  }
  return decoded;
}

/** zlib-wrapped deflate as the RFC says, or raw deflate as some servers send it. */
function inflateEither(body: Buffer, limit: { maxOutputLength: number }): Buffer {
  try {
    return inflateSync(body, limit);
  } catch {
    return inflateRawSync(body, limit);
  }
}
