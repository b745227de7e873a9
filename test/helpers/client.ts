// A real HTTPS client (node:https) that trusts one test CA and returns status, headers and body.
import { request, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface ClientRequestOptions extends Omit<RequestOptions, 'ca'> {
  ca: string;
  body?: string | Buffer;
}

/** One request over TLS. `path` is sent exactly as given (no URL normalization). */
export function httpsRequest(origin: string, path: string, options: ClientRequestOptions): Promise<ClientResponse> {
  const { body, ...rest } = options;
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        path,
        agent: false,
        servername: 'localhost',
        ...rest,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data, text: data.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The Authorization header value a client sends for basic auth (RFC 7617, UTF-8). */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
