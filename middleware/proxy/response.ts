// Writes the upstream's response to the client: status, headers minus hop-by-hop ones and the
// security headers the gateway owns, Location kept under the base path, body streamed. HTML pages
// (small, and only UI navigations) are read whole so their inline scripts can be hashed into the CSP.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { sendError } from '../../src/kernel/error-answer.ts';
import {
  filterJsonBody,
  type JsonFilter,
  MAX_FILTERED_BYTES,
  responseFilterOf,
  UnfilterableResponseError,
} from '../../src/kernel/response-filter.ts';
import { CSP_HEADER, takeHeldHeaders, type ResponseSecurityHeaders } from '../../src/kernel/response-headers.ts';
import { rewriteLocation } from './redirect.ts';
import { BYTES_PER_SCAVENGE, type CollectGarbage, createScavengeTrigger } from './young-gc.ts';

/** Larger HTML is streamed unhashed: the UI pages are a few KiB. */
export const MAX_HASHED_HTML_BYTES = 1 << 20;
/** A compressed page may not inflate beyond this while we look for its scripts (zip bombs). */
export const MAX_INFLATED_HTML_BYTES = 8 << 20;
const VALID_REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface ResponseWriterOptions {
  upstream: URL;
  securityHeaders: ResponseSecurityHeaders;
  /** Scavenges while large bodies stream (./young-gc.ts); without it V8 alone decides. */
  collectGarbage?: CollectGarbage | undefined;
}

/** Where the upstream's body goes once the status and headers are written. */
export interface ResponseBody {
  /** One chunk of the upstream's body; false when the client is slow (wait for `res`'s drain). */
  data(chunk: Buffer): boolean;
  end(): void;
}

export interface UpstreamResponseHead {
  statusCode: number;
  statusMessage?: string | undefined;
  headers: IncomingHttpHeaders;
}

/** `clientHost` is the Host the client asked for (req.headers already carries the upstream's). */
export type ResponseWriter = (
  head: UpstreamResponseHead,
  req: IncomingMessage & { baseUrl?: string },
  res: ServerResponse,
  clientHost: string | undefined,
) => ResponseBody;

export function createResponseWriter(options: ResponseWriterOptions): ResponseWriter {
  const { upstream, securityHeaders } = options;
  const streamedBytes = createScavengeTrigger(BYTES_PER_SCAVENGE, options.collectGarbage);

  return function writeResponse(head, req, res, clientHost) {
    const headers = head.headers;
    const connection = headers.connection;
    const dropped = connection
      ? new Set(
          String(connection)
            .split(',')
            .map((token) => token.trim().toLowerCase()),
        )
      : undefined;
    const contentType = headers['content-type'];
    const hashed =
      contentType?.startsWith('text/html') === true && req.method !== 'HEAD' && securityHeaders.hashesInlineScripts;
    // A stage showing only part of the answer (src/kernel/response-filter.ts): only 2xx answers carry data.
    const filter = hasData(head.statusCode) && req.method !== 'HEAD' ? responseFilterOf(req) : undefined;
    // The common case: no stage set a header, so the head goes out in one writeHead with the held
    // security headers first, without a setHeader per header. Hashed HTML sets its CSP last.
    // The held list is the gateway's, shared by every response: copied before adding to it.
    const out: OutgoingHttpHeader[] | undefined = hashed || filter ? undefined : takeHeldHeaders(res)?.slice();
    res.statusCode = head.statusCode;
    // Node's parser accepts reason phrases that writeHead then refuses (and throws): copy only valid ones.
    if (head.statusMessage && VALID_REASON.test(head.statusMessage)) res.statusMessage = head.statusMessage;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined || HOP_BY_HOP.has(name) || securityHeaders.managed.has(name) || dropped?.has(name))
        continue;
      // The gateway owns CORS (cors.allowedOrigins): Prometheus's own default, `*`, would
      // otherwise open the API to every origin and break credentialed CORS (found in review).
      if (name.startsWith('access-control-')) continue;
      if (name === 'location') continue; // rewritten below
      if (filter && REENCODED.has(name)) continue; // describe the upstream's bytes, not the filtered ones
      const outgoing = name === 'vary' ? mergeVary(out ? undefined : res.getHeader('vary'), value) : value;
      if (out) out.push(name, outgoing);
      else res.setHeader(name, outgoing);
    }
    const location = headers.location;
    if (location) {
      const scheme = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
      const gatewayOrigin = `${scheme}://${clientHost ?? upstream.host}`;
      const rewritten = rewriteLocation(location, req.baseUrl ?? '', upstream, gatewayOrigin);
      if (out) out.push('location', rewritten);
      else res.setHeader('location', rewritten);
    }
    if (filter) return filteredJson(filter, headers, req, res, securityHeaders);
    if (hashed) return htmlWithScriptHashes(headers['content-encoding'], res, securityHeaders);
    return streamed(res, headers['content-length'], streamedBytes, out);
  };
}

/**
 * Writes each chunk as it comes. A body that arrives whole in its first chunk (most API answers)
 * goes out in one `end()`: one write to the TLS socket for status, headers and body. `head`, when
 * given, is every header as one list, written with the first chunk: until then the head is not
 * committed (an upstream that stalls before its body still gets our 504, without its headers).
 */
function streamed(
  res: ServerResponse,
  contentLength: string | undefined,
  streamedBytes: (bytes: number) => void,
  head: OutgoingHttpHeader[] | undefined,
): ResponseBody {
  let unsent = contentLength === undefined ? undefined : Number(contentLength);
  let ended = false;
  const writeHead = () => {
    if (head === undefined) return;
    res.writeHead(res.statusCode, head);
    head = undefined;
  };
  return {
    data(chunk) {
      writeHead();
      if (unsent === chunk.length) {
        ended = true;
        res.end(chunk);
        return true;
      }
      if (unsent !== undefined) unsent -= chunk.length;
      streamedBytes(chunk.length);
      return res.write(chunk);
    },
    end() {
      writeHead();
      if (!ended) res.end();
    },
  };
}

/** A 2xx answer that carries a body: 204 and 205 have none to filter. */
const hasData = (status: number) => status >= 200 && status < 300 && status !== 204 && status !== 205;

/** Headers of an upstream answer that no longer hold once its body is filtered and re-serialized. */
const REENCODED = new Set(['content-length', 'content-encoding', 'etag', 'content-md5', 'digest', 'repr-digest']);

/** Reads a 2xx answer whole and sends it filtered; a 502 when it is not JSON or too large, never the original. */
function filteredJson(
  filter: JsonFilter,
  headers: IncomingHttpHeaders,
  req: IncomingMessage,
  res: ServerResponse,
  securityHeaders: ResponseSecurityHeaders,
): ResponseBody {
  const chunks: Buffer[] = [];
  let size = 0;
  let failure: string | undefined;
  const contentType = String(headers['content-type'] ?? '').toLowerCase();
  if (!contentType.includes('json')) failure = `the upstream's answer is ${contentType || 'untyped'}, not JSON`;
  return {
    data(chunk) {
      if (failure) return true;
      size += chunk.length;
      if (size > MAX_FILTERED_BYTES) failure = `the upstream's answer is larger than ${MAX_FILTERED_BYTES} bytes`;
      else chunks.push(chunk);
      return true;
    },
    end() {
      let body: Buffer | undefined;
      if (!failure) {
        try {
          body = filterJsonBody(Buffer.concat(chunks, size), headers['content-encoding'], filter);
        } catch (error) {
          // A filter that throws is a bug, but still must not let the whole answer through.
          failure = error instanceof UnfilterableResponseError ? error.message : 'the answer could not be filtered';
        }
      }
      if (body) {
        res.setHeader('content-length', body.length);
        return void res.end(body);
      }
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      securityHeaders.handle(req, res, () => {});
      res.statusCode = 502;
      res.statusMessage = 'Bad Gateway';
      sendError(
        res,
        (req.url ?? '').split('?', 1)[0] ?? '',
        502,
        'unavailable',
        `upstream answer withheld: ${failure}`,
      );
    },
  };
}

function htmlWithScriptHashes(
  encoding: string | undefined,
  res: ServerResponse,
  securityHeaders: ResponseSecurityHeaders,
): ResponseBody {
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  return {
    data(chunk) {
      if (!chunks) return res.write(chunk);
      chunks.push(chunk);
      size += chunk.length;
      if (size <= MAX_HASHED_HTML_BYTES) return true;
      // Too big to be a UI page: give up hashing and stream the rest.
      const held = Buffer.concat(chunks);
      chunks = undefined;
      return res.write(held);
    },
    end() {
      if (!chunks) return void res.end();
      const body = Buffer.concat(chunks);
      const policy = securityHeaders.htmlPolicy(inlineScripts(decode(body, encoding)));
      if (policy) res.setHeader(CSP_HEADER, policy);
      res.end(body);
    },
  };
}

function decode(body: Buffer, encoding: string | undefined): Buffer | undefined {
  try {
    switch (encoding?.trim().toLowerCase()) {
      case undefined:
      case '':
      case 'identity':
        return body;
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body, { maxOutputLength: MAX_INFLATED_HTML_BYTES });
      case 'deflate':
        return inflateSync(body, { maxOutputLength: MAX_INFLATED_HTML_BYTES });
      case 'br':
        return brotliDecompressSync(body, { maxOutputLength: MAX_INFLATED_HTML_BYTES });
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

const INLINE_SCRIPT = /<script(\s[^>]*)?>([\s\S]*?)<\/script\s*>/gi;
const HEAD_END = /<\/head\s*>/i;
const TYPE_ATTRIBUTE = /\stype\s*=\s*["']?([^"'\s>]+)/i;
const EXECUTABLE_TYPE = /^(module|(text|application)\/(java|ecma)script)$/i;

/**
 * The bytes of each executable inline <script> (no src) in the page's <head>, exactly as the
 * browser hashes them. The Prometheus UIs keep their bootstrap script there; a script that ended
 * up in the body (say, injected through a reflected value) gets no hash and stays blocked.
 */
export function inlineScripts(html: Buffer | undefined): Buffer[] {
  if (!html) return [];
  const text = html.toString('latin1'); // one char per byte, so slices map back to exact bytes
  const headEnd = text.search(HEAD_END);
  if (headEnd < 0) return [];
  const scripts: Buffer[] = [];
  for (const match of text.slice(0, headEnd).matchAll(INLINE_SCRIPT)) {
    const attributes = match[1] ?? '';
    if (/\ssrc\s*=/i.test(attributes)) continue;
    const type = TYPE_ATTRIBUTE.exec(attributes)?.[1];
    if (type && !EXECUTABLE_TYPE.test(type)) continue; // templates and data blocks never run
    scripts.push(Buffer.from(match[2] ?? '', 'latin1'));
  }
  return scripts;
}

/** The upstream's Vary added to one the gateway set (CORS's Origin), without repeating a field. */
function mergeVary(existing: number | string | string[] | undefined, value: string | string[]): string {
  const fields = new Map<string, string>();
  for (const field of [existing ?? [], value].flat().join(',').split(',')) {
    const trimmed = String(field).trim();
    if (trimmed) fields.set(trimmed.toLowerCase(), trimmed);
  }
  return [...fields.values()].join(', ');
}
