// --workers N (node:cluster). The primary checks the TLS setup (and makes the development
// certificate) once, forks N workers that share the listening port, and lets the kernel spread
// connections (SCHED_NONE: no hop through the primary). The metrics listener runs in the primary
// and adds up every worker's metrics (prom-client's AggregatorRegistry). A worker that dies is
// replaced; SIGTERM/SIGINT are passed on and the primary exits 0 once every worker has finished.
import cluster, { type Worker } from 'node:cluster';
import { http } from './kernel/node-http.ts';
import { AggregatorRegistry, Registry } from 'prom-client';
import { collectProcessMetrics } from '../middleware/metrics/index.ts';
import { HEALTHY_PATH, READY_PATH } from '../middleware/health/index.ts';
import type { Config } from './config/schema.ts';
import { listen } from './server.ts';
import type { Logger } from './logger.ts';
import { loadListenerTls } from './tls/listener-tls.ts';
import { checkGatewaySetup } from './check.ts';

const { createServer: createHttpServer } = http;

export const isClusterWorker = (): boolean => cluster.isWorker;

/** A worker's registry, reported to the primary's metrics listener. */
export function workerRegistry(): Registry {
  const registry = new Registry();
  collectProcessMetrics(registry);
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // its constructor is what makes a worker answer the primary's requests
  return registry;
}

export async function runPrimary(config: Config, logger: Logger, cwd = process.cwd()): Promise<void> {
  // Every check a worker would make, once, so a bad setup fails here with one clear error.
  const tls = await loadListenerTls(config, cwd);
  await checkGatewaySetup(config, tls.webConfig);
  if (tls.credentials.generated) {
    logger.warn(
      { cert_file: tls.credentials.certFile, sha256_fingerprint: tls.credentials.fingerprint },
      'no certificate configured: generated a self-signed development certificate; configure tls.certFile/tls.keyFile in production',
    );
  }
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const listening = new Set<number>();
  let stopping = false;
  const fork = () => {
    const worker = cluster.fork();
    let listened = false;
    worker.once('listening', () => {
      listened = true;
      listening.add(worker.id);
    });
    worker.once('exit', (code, signal) => {
      listening.delete(worker.id);
      if (stopping) return;
      if (!listened) {
        // It would fail again: give up instead of restarting in a loop.
        logger.error({ worker: worker.id, code, signal }, 'a worker exited before it listened; stopping');
        for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
        process.exit(1);
      }
      logger.error({ worker: worker.id, code, signal }, 'worker exited; starting another');
      fork();
    });
  };
  for (let index = 0; index < config.workers; index++) fork();
  const metricsServer = config.metrics.listenAddress
    ? await serveClusterMetrics(config.metrics.listenAddress, () => listening.size === config.workers)
    : undefined;

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: stopping workers without waiting for requests in flight');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'shutting down');
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    let left = workers.length;
    const done = () => {
      metricsServer?.close();
      process.exit(0);
    };
    if (left === 0) done();
    for (const worker of workers) {
      worker.once('exit', () => --left === 0 && done());
      worker.process.kill('SIGTERM');
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function serveClusterMetrics(address: string, allListening: () => boolean) {
  const aggregator = new AggregatorRegistry();
  const server = createHttpServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    const text = (status: number, body: string) =>
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
    if (path === '/metrics') {
      aggregator.clusterMetrics().then(
        (body) => res.writeHead(200, { 'content-type': aggregator.contentType }).end(body),
        (error: unknown) =>
          text(500, `cannot collect the workers' metrics: ${error instanceof Error ? error.message : String(error)}\n`),
      );
      return;
    }
    // Each worker polls the upstream itself; here, healthy and ready mean "every worker serves".
    if (path === HEALTHY_PATH || path === READY_PATH) {
      return allListening()
        ? text(200, path === READY_PATH ? 'promgate is Ready.\n' : 'promgate is Healthy.\n')
        : text(503, 'promgate is not ready: not every worker is listening.\n');
    }
    text(404, '404 Not Found: see /metrics, /-/promgate/healthy, /-/promgate/ready\n');
  });
  await listen(server, address, 'metrics.listenAddress');
  return server;
}
