// Errors the gateway answers itself: Prometheus's API error JSON under /api/ (Grafana and promtool
// parse it), `<status> <reason>: <message>` as plain text elsewhere.
import type { ServerResponse } from 'node:http';
import { http } from './node-http.ts';

const { STATUS_CODES } = http;

export function sendError(
  res: ServerResponse,
  path: string,
  status: number,
  errorType: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const api = path.startsWith('/api/');
  const body = api
    ? JSON.stringify({ status: 'error', errorType, error: message })
    : `${status} ${STATUS_CODES[status]}: ${message}\n`;
  res.writeHead(status, {
    ...headers,
    'content-type': api ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
