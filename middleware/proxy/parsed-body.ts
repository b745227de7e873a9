// A host Express app may run express.json()/urlencoded()/raw()/text() before the gateway; the
// body stream is then consumed and must be rebuilt for the upstream from req.body.
// http-proxy-middleware's fixRequestBody (which we used before undici) covers JSON, but serializes urlencoded bodies with
// querystring, which turns `match[]=up` parsed by the extended (qs) parser into `match=up`, which
// Prometheus ignores. Hence this serializer.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

type ParsedRequest = IncomingMessage & { body?: unknown };

/** True when a body parser consumed the request and left its result in req.body. */
export function hasParsedBody(req: IncomingMessage): boolean {
  return req.readableEnded && (req as ParsedRequest).body !== undefined;
}

/**
 * req.body in the form the outgoing Content-Type announces; fixes the outgoing headers to match
 * (length set, transfer and content encodings removed: parsers inflate, we send what they produced).
 */
export function parsedBody(req: IncomingMessage, headers: IncomingHttpHeaders): Buffer {
  const body = (req as ParsedRequest).body;
  const contentType = String(headers['content-type'] ?? '').toLowerCase();
  let data: Buffer;
  if (Buffer.isBuffer(body)) data = body;
  else if (typeof body === 'string') data = Buffer.from(body);
  else if (contentType.includes('application/x-www-form-urlencoded')) data = Buffer.from(encodeForm(body));
  else if (contentType.includes('json')) data = Buffer.from(JSON.stringify(body));
  else data = Buffer.alloc(0); // a parser we do not know consumed it; send an empty, well-framed body
  delete headers['transfer-encoding']; // rare (a host app's body parser ran): a slower object is fine
  delete headers['content-encoding'];
  headers['content-length'] = String(data.length);
  return data;
}

/**
 * Flat keys are written as they came (`match[]` from the simple parser stays `match[]`); arrays
 * under plain keys come from the qs parser, which strips the brackets, so they get them back.
 */
export function encodeForm(body: unknown, prefix = ''): string {
  if (body === null || typeof body !== 'object') return prefix ? pair(prefix, body) : '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    const name = prefix ? `${prefix}[${key}]` : key;
    if (Array.isArray(value)) {
      const arrayName = name.endsWith('[]') ? name : `${name}[]`;
      for (const item of value)
        parts.push(item !== null && typeof item === 'object' ? encodeForm(item, arrayName) : pair(arrayName, item));
    } else if (value !== null && typeof value === 'object') {
      parts.push(encodeForm(value, name));
    } else {
      parts.push(pair(name, value));
    }
  }
  return parts.filter((part) => part !== '').join('&');
}

const pair = (name: string, value: unknown) =>
  `${encodeURIComponent(name)}=${encodeURIComponent(value === undefined || value === null ? '' : String(value))}`;
