// An in-process HTTP upstream that records what reached it and answers as each test says.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The request target exactly as it arrived on the wire. */
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface RecordingUpstream {
  url: string;
  port: number;
  /** Proxied requests, in order (the gateway's readiness polls are kept apart). */
  requests: RecordedRequest[];
  /** The gateway's own polls of the ready path (user-agent promgate-readiness). */
  readinessChecks: RecordedRequest[];
  server: Server;
  /** Replace how the upstream answers (default: 200 JSON echo of method and url). */
  handle(handler: UpstreamHandler): void;
  /** Resolves with the next request that reaches the upstream. */
  nextRequest(): Promise<RecordedRequest>;
  close(): Promise<void>;
}

const READINESS_USER_AGENT = 'promgate-readiness';

const echo: UpstreamHandler = (req, res) => {
  const body = JSON.stringify({ status: 'success', data: { method: req.method, url: req.url } });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
};

export async function startUpstream(handler: UpstreamHandler = echo): Promise<RecordingUpstream> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const readinessChecks: RecordedRequest[] = [];
  const waiters: Array<(request: RecordedRequest) => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      if (req.headers['user-agent'] === READINESS_USER_AGENT) {
        readinessChecks.push(recorded);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('Ready.\n');
        return;
      }
      requests.push(recorded);
      waiters.shift()?.(recorded);
      current(req, res, recorded.body);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    readinessChecks,
    server,
    handle(next) {
      current = next;
    },
    nextRequest() {
      return new Promise((resolve) => waiters.push(resolve));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
