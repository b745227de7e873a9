// A fast upstream for benchmarks: answers like Prometheus's label values API, in its own process.
import { createServer } from 'node:http';

const body = JSON.stringify({ status: 'success', data: ['node', 'prometheus', 'pushgateway'] });
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(`upstream listening on ${typeof address === 'object' && address ? address.port : '?'}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
