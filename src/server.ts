// The standalone HTTPS server: the gateway mounted at the base path, everything else 404, behind
// a TLS listener with modern defaults.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { http } from './kernel/node-http.ts';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createHealthStage } from '../middleware/health/index.ts';
import { createClientErrorHandler } from './client-error.ts';
import { limitConnections } from './connection-limits.ts';
import { createDispatcher, sendText, type Dispatcher } from './dispatch.ts';
import { buildGateways } from './prepare.ts';
import { collectProcessMetrics, registerCertificateExpiry, sendMetrics } from '../middleware/metrics/index.ts';
import { ConfigError, errorMessage } from './errors.ts';
import { toBlockList, toConfigInput, type Gateway, type GatewayOptions } from './gateway.ts';
import { validateConfig } from './config/load.ts';
import { parseDuration, splitHostPort, type Config } from './config/schema.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { ServerCredentials } from './tls/certificates.ts';
import { clientAuthServerOptions, rejectReason } from './tls/client-certificates.ts';
import { loadListenerTls, reloadListenerTls } from './tls/listener-tls.ts';
import { x509 } from './tls/x509.ts';
import { exposedCollector, youngGenerationCapped } from '../middleware/proxy/young-gc.ts';

const { createServer: createHttpServer } = http;

/** How long idle keep-alive connections stay open after shutdown begins, for requests already sent. */
export const SHUTDOWN_IDLE_LINGER_MS = 500;

/** Connections refused at a limit are logged at most once per this interval, with their count. */
const REFUSED_LOG_INTERVAL_MS = 10_000;

type RequestHandlerLike = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export interface ServerOptions extends GatewayOptions {
  /** An already validated config (the CLI passes what loadConfig built); wins over the flat options. */
  config?: Config;
  /** Folder relative certificate paths resolve against. */
  cwd?: string;
}

export interface GatewayServer {
  server: Server;
  gateway: Gateway;
  address: AddressInfo;
  /** https://host:port<basePath>/ */
  url: string;
  /** The plain-HTTP metrics listener (metrics.listenAddress), when configured. */
  metricsAddress: AddressInfo | undefined;
  /** The certificate served now (it changes when the files do). */
  readonly credentials: ServerCredentials;
  /**
   * Stops listening, closes idle connections, lets in-flight requests finish for up to
   * web.shutdownGracePeriod, then cuts what is left.
   */
  close(): Promise<void>;
}

export async function createServer(options: ServerOptions = {}): Promise<GatewayServer> {
  const {
    config: given,
    cwd,
    middleware,
    on,
    logger = silentLogger,
    helmet,
    registry: givenRegistry,
    ...settings
  } = options;
  const config = given ?? validateConfig(toConfigInput(settings), 'createServer options');
  const tls = await loadListenerTls(config, cwd);
  const { credentials, webConfig, clientAuth } = tls;
  if (credentials.generated) {
    logger.warn(
      { cert_file: credentials.certFile, key_file: credentials.keyFile, sha256_fingerprint: credentials.fingerprint },
      'no certificate configured: generated a self-signed development certificate; configure tls.certFile/tls.keyFile in production',
    );
  }
  if (webConfig && !webConfig.http2)
    logger.info({ file: webConfig.file }, 'http_server_config.http2: false has no effect: promgate serves HTTP/1.1');
  const registry = givenRegistry ?? new Registry();
  if (!givenRegistry) collectProcessMetrics(registry);
  const collectGarbage = exposedCollector(); // only where the operator exposed it (the image does)
  // Capped without these scavenges, streamed buffers wait for full collections: 64 large downloads
  // got such a process killed in a 128 MiB container.
  if (!collectGarbage && youngGenerationCapped())
    logger.warn(
      {},
      'Node runs with --max-semi-space-size but without --expose-gc: large responses can exhaust a memory limit; pass both, as the image does',
    );
  const { routes, runtimes } = await buildGateways(config, {
    middleware,
    on,
    logger,
    helmet,
    registry,
    webConfig,
    collectGarbage,
  });
  const gateway = runtimes[0]!.gateway;
  const closeRoutes = () => {
    for (const each of runtimes) each.gateway.close();
  };
  // The listener's own answers (root health, metrics listener) speak for every route.
  const readiness = {
    notReadyReason: () =>
      runtimes
        .map(
          (each, index) =>
            each.notReadyReason() &&
            (routes.length > 1 ? `${routes[index]!.basePath}: ${each.notReadyReason()}` : each.notReadyReason()),
        )
        .find(Boolean),
    drain: () => {
      for (const each of runtimes) each.drain();
    },
    close: () => {},
  };
  const health = createHealthStage(readiness);
  let closing = false;
  let dispatcher: Dispatcher;
  try {
    dispatcher = createDispatcher({
      routes,
      runtimes,
      health,
      landingPage: config.landingPage,
      logger,
      isClosing: () => closing,
    });
  } catch (error) {
    closeRoutes();
    throw error;
  }
  const { web } = config;
  const server = createHttpsServer(
    {
      ...tls.context,
      ...clientAuthServerOptions(clientAuth),
      maxHeaderSize: web.maxHeaderSize,
      // The TLS handshake counts against the same budget as the headers (slowloris during TLS).
      handshakeTimeout: parseDuration(web.headersTimeout),
      // How often Node looks for requests past their headers/request timeout (its default is 30s).
      connectionsCheckingInterval: Math.min(1000, parseDuration(web.headersTimeout)),
      IncomingMessage: dispatcher.IncomingMessage,
      ServerResponse: dispatcher.ServerResponse,
    },
    (req, res) => {
      connectionLimits.used(req.socket);
      dispatcher.handle(req, res);
    },
  );
  server.headersTimeout = parseDuration(web.headersTimeout);
  server.requestTimeout = parseDuration(web.requestTimeout);
  server.keepAliveTimeout = parseDuration(web.keepAliveTimeout);
  server.on('clientError', createClientErrorHandler({ logger, onAnswer: gateway.metrics.refusedByParser }));
  // Not server.maxConnections: it refuses at accept even when idle connections hold every slot.
  const connectionLimits = limitConnections(server, {
    maxConnections: web.maxConnections,
    maxPerAddress: web.maxConnectionsPerAddress,
    spared: toBlockList(config.trustProxy),
    onRefused: throttledRefusalLog(logger),
  });
  const tlsHolder = reloadListenerTls(server, tls, () => loadListenerTls(config, cwd, { generate: false }), logger, {
    prepare: (next) => {
      const applyAll = runtimes.map((each) => each.prepareWebConfig(next.webConfig));
      return () => {
        for (const apply of applyAll) apply();
      };
    },
    onResult: (ok) => gateway.metrics.reloaded('tls', ok),
  });
  gateway.metrics.loaded('tls');
  registerCertificateExpiry(registry, () => tlsHolder.current().credentials.notAfter);
  if (clientAuth) x509(); // loaded now rather than during the first client's handshake
  // Always listening, with the settings of the moment: a reload can turn client certificates on.
  server.on('secureConnection', (socket) => {
    const settings = tlsHolder.current().clientAuth;
    if (!settings) return;
    let reason: string | undefined;
    try {
      reason = rejectReason(settings, socket);
    } catch (error) {
      reason = `client certificate check failed: ${errorMessage(error)}`; // never crash on a client's bytes
    }
    if (!reason) return;
    logger.info({ remote_address: socket.remoteAddress, reason }, 'client certificate refused');
    socket.destroy();
  });
  const metricsServer = config.metrics.listenAddress ? createMetricsServer(health, registry) : undefined;
  for (const each of runtimes) each.start();
  try {
    await listen(server, config.web.listenAddress, 'web.listenAddress');
    if (metricsServer && config.metrics.listenAddress)
      await listen(metricsServer, config.metrics.listenAddress, 'metrics.listenAddress');
  } catch (error) {
    tlsHolder.close();
    closeRoutes();
    server.close();
    throw error;
  }
  const metricsAddress = metricsServer?.address() as AddressInfo | undefined;
  if (metricsAddress)
    logger.info(
      { address: `${metricsAddress.address}:${metricsAddress.port}` },
      'metrics listening (plain HTTP): /metrics, /-/promgate/healthy, /-/promgate/ready',
    );
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const basePath = routes[0]!.basePath === '/' ? '' : routes[0]!.basePath.replace(/\/$/, '');
  // The route's login methods, as its authentication stage asks them.
  const authOf = (route: Config) => {
    if (route.auth.off) return 'off';
    const methods = [
      route.auth.htpasswdFile ? `htpasswd ${route.auth.htpasswdFile}` : undefined,
      Object.keys(route.auth.users).length > 0 ? 'auth.users' : undefined,
      webConfig?.users.size ? `basic_auth_users of ${webConfig.file}` : undefined,
      route.auth.tokensFile ? `tokens ${route.auth.tokensFile}` : undefined,
      route.auth.jwt ? `jwt ${route.auth.jwt.issuer}` : undefined,
      route.auth.oidc ? `sign-in ${route.auth.oidc.issuer}` : undefined,
    ].filter((method) => method !== undefined);
    return methods.length > 0 ? methods.join(', ') : 'off';
  };
  if (routes.length === 1) {
    logger.info(
      {
        address: `${urlHost}:${address.port}`,
        base_path: config.basePath,
        upstream: config.upstream.url,
        auth: authOf(config),
      },
      'promgate listening',
    );
  } else {
    for (const route of routes)
      logger.info(
        {
          base_path: route.basePath,
          preset: route.preset,
          upstream: route.upstream.url,
          auth: authOf(route),
          plugins: runtimes[routes.indexOf(route)]!.gateway.stages.filter((name) =>
            /^(beforeAuth|afterAuth|beforeProxy)\[/.test(name),
          ).length,
        },
        'route',
      );
    logger.info({ address: `${urlHost}:${address.port}`, routes: routes.length }, 'promgate listening');
  }

  let closed: Promise<void> | undefined;
  return {
    server,
    gateway,
    address,
    url: `https://${urlHost}:${address.port}${basePath}/`,
    metricsAddress,
    get credentials() {
      return tlsHolder.current().credentials;
    },
    close() {
      closing = true; // from now on every response, also those in flight, says Connection: close (dispatch.ts)
      readiness.drain();
      closed ??= new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          logger.warn(
            { grace_period: config.web.shutdownGracePeriod },
            'shutdown grace period over: closing connections with requests in flight',
          );
          server.closeAllConnections();
          for (const socket of connectionLimits.sockets()) socket.destroy();
        }, parseDuration(config.web.shutdownGracePeriod));
        deadline.unref();
        tlsHolder.close();
        // Stop accepting, but not with http's close(): it also closes idle keep-alive connections
        // at once, dropping a request a client has just written on one (and stops the header and
        // request timeouts). Idle connections get a moment for such a request, which is answered
        // with Connection: close like every other from now on.
        NetServer.prototype.close.call(server, () => {
          clearTimeout(deadline);
          clearTimeout(linger);
          server.close(); // now http's close: stops its connection-check timer (nothing left to close)
          closeRoutes();
          if (!metricsServer) return resolve();
          metricsServer.close(() => resolve());
          metricsServer.closeAllConnections();
        });
        const linger = setTimeout(() => server.closeIdleConnections(), SHUTDOWN_IDLE_LINGER_MS);
      });
      return closed;
    },
  };
}

/** A warning for the first refused connection, then one per interval with the count (floods stay short). */
function throttledRefusalLog(logger: Logger): (reason: string, address: string) => void {
  let refused = 0;
  let loggedAt = -Infinity;
  return (reason, address) => {
    refused++;
    const now = performance.now();
    if (now - loggedAt < REFUSED_LOG_INTERVAL_MS) return;
    logger.warn(
      { limit: `web.${reason}`, remote_address: address, refused },
      'connections refused: every slot is busy (none idle to close)',
    );
    loggedAt = now;
    refused = 0;
  };
}

/** The plain-HTTP listener for Prometheus to scrape, and for probes that cannot do TLS or mTLS. */
function createMetricsServer(health: RequestHandlerLike, registry: Registry): HttpServer {
  return createHttpServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendMetrics(registry, res).catch(() => res.destroy());
      return;
    }
    health(req, res, () => sendText(res, 404, '404 Not Found: see /metrics, /-/promgate/healthy, /-/promgate/ready\n'));
  });
}

/** Listens on host:port; a failure is a ConfigError naming the setting. */
export function listen(server: HttpServer | Server, address: string, key: string): Promise<void> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => reject(new ConfigError(`cannot listen: ${errorMessage(error)}`, { key }));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}
