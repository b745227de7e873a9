// A free loopback port for a server a test or the bench (bench/servers.ts) starts later: the
// gateway's CLI, nginx and Prometheus bind it themselves.
// Taken below the kernel's ephemeral range: a port from bind(0), released and bound again later,
// could meanwhile become the local port of any outgoing connection (the test's own clients, the
// gateway's upstream pool), and the server then failed with EADDRINUSE (seen in CI).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Below the ephemeral range, above the well-known and registered ports services commonly use. */
const LOWEST = 10_000;

/** Ports this process handed out: a later call must not give one again before its taker binds it. */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  const highest = ephemeralRangeStart() - 1;
  for (;;) {
    const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST + 1));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
}

/** Linux's ip_local_port_range (32768 elsewhere, its default). */
function ephemeralRangeStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return start > LOWEST + 1000 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
