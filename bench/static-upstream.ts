// A fast upstream for benchmarks, in its own process, with bodies built once at start:
//   GET  /api/v1/query_range   a range query answer of LARGE_BYTES (default 10 MiB) of JSON
//   POST (any path)            reads the whole body, answers {"status":"success","data":{"received":N}}
//   GET  anything else         a small answer like Prometheus's label values API
import { createServer, type ServerResponse } from 'node:http';

const LARGE_PATH = '/api/v1/query_range';
const largeBytes = Number(process.env.LARGE_BYTES ?? 10 * 1024 * 1024);

const small = Buffer.from(JSON.stringify({ status: 'success', data: ['node', 'prometheus', 'pushgateway'] }));
const large = largeMatrix(largeBytes);

const server = createServer((req, res) => {
  if (req.method === 'POST') {
    let received = 0;
    req.on('data', (chunk: Buffer) => (received += chunk.length));
    req.on('end', () => send(res, Buffer.from(JSON.stringify({ status: 'success', data: { received } }))));
    return;
  }
  send(res, req.url?.startsWith(LARGE_PATH) ? large : small);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(
    `upstream listening on ${typeof address === 'object' && address ? address.port : '?'} (large body ${large.length} bytes)`,
  );
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});

function send(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

/** One matrix series with as many samples as fit, padded with JSON whitespace to exactly `bytes`. */
function largeMatrix(bytes: number): Buffer {
  const head =
    '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"bench_large","job":"bench"},"values":[';
  const tail = ']}]}}';
  const samples: string[] = [];
  let length = head.length + tail.length;
  for (let i = 0; ; i++) {
    const sample = `${i ? ',' : ''}[${1_700_000_000 + i},"${(i % 1000) / 7}"]`;
    if (length + sample.length > bytes) break;
    samples.push(sample);
    length += sample.length;
  }
  return Buffer.from(head + samples.join('') + ' '.repeat(bytes - length) + tail);
}
