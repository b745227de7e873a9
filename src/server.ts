// The standalone HTTPS server: the gateway mounted at the base path, everything else 404, behind
// a TLS listener with modern defaults.
import type { ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ConfigError, errorMessage } from './errors.ts';
import { assembleGateway, toConfigInput, type Gateway, type GatewayOptions } from './gateway.ts';
import { validateConfig } from './config/load.ts';
import { parseDuration, splitHostPort, type Config } from './config/schema.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { ServerCredentials } from './tls/certificates.ts';
import { clientAuthServerOptions, rejectReason } from './tls/client-certificates.ts';
import { loadListenerTls, reloadListenerTls } from './tls/listener-tls.ts';

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
  /** The certificate served now (it changes when the files do). */
  readonly credentials: ServerCredentials;
  /**
   * Stops listening, closes idle connections, lets in-flight requests finish for up to
   * web.shutdownGracePeriod, then cuts what is left.
   */
  close(): Promise<void>;
}

export async function createServer(options: ServerOptions = {}): Promise<GatewayServer> {
  const { config: given, cwd, middleware, on, logger = silentLogger, helmet, ...settings } = options;
  const config = given ?? validateConfig(toConfigInput(settings), 'createServer options');
  const tls = await loadListenerTls(config, cwd);
  const { credentials, webConfig, clientAuth } = tls;
  if (credentials.generated) {
    logger.warn(
      { cert_file: credentials.certFile, key_file: credentials.keyFile, sha256_fingerprint: credentials.fingerprint },
      'no certificate configured: generated a self-signed development certificate; configure tls.certFile/tls.keyFile in production',
    );
  }
  if (webConfig && !webConfig.http2) logger.info({ file: webConfig.file }, 'http_server_config.http2: false has no effect: promgate serves HTTP/1.1');
  const gateway = assembleGateway(config, { middleware, on, logger, helmet, webConfig });
  let closing = false;
  const app = createApp(config, gateway, logger, () => closing);
  const server = createHttpsServer({ ...tls.context, ...clientAuthServerOptions(clientAuth) }, app);
  // Every socket, also those still in their TLS handshake, which closeAllConnections does not see.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Responses not yet answered when shutdown begins still tell their keep-alive client to go.
  const pending = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    pending.add(res);
    res.once('close', () => pending.delete(res));
  });
  const tlsHolder = reloadListenerTls(server, tls, () => loadListenerTls(config, cwd, { generate: false }), logger, {
    prepare: (next) => gateway.prepareWebConfig(next.webConfig),
  });
  if (clientAuth) {
    server.on('secureConnection', (socket) => {
      let reason: string | undefined;
      try {
        reason = rejectReason(tlsHolder.current().clientAuth ?? clientAuth, socket);
      } catch (error) {
        reason = `client certificate check failed: ${errorMessage(error)}`; // never crash on a client's bytes
      }
      if (!reason) return;
      logger.info({ remote_address: socket.remoteAddress, reason }, 'client certificate refused');
      socket.destroy();
    });
  }
  const { host, port } = splitHostPort(config.web.listenAddress);
  try {
    await listen(server, host, port);
  } catch (error) {
    tlsHolder.close();
    gateway.close();
    throw new ConfigError(`cannot listen: ${errorMessage(error)}`, { key: 'web.listenAddress' });
  }
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const basePath = config.basePath === '/' ? '' : config.basePath.replace(/\/$/, '');
  logger.info({ address: `${urlHost}:${address.port}`, base_path: config.basePath, upstream: config.upstream.url }, 'promgate listening');

  let closed: Promise<void> | undefined;
  return {
    server,
    gateway,
    address,
    url: `https://${urlHost}:${address.port}${basePath}/`,
    get credentials() {
      return tlsHolder.current().credentials;
    },
    close() {
      closing = true;
      for (const res of pending) if (!res.headersSent) res.setHeader('connection', 'close');
      closed ??= new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          logger.warn({ grace_period: config.web.shutdownGracePeriod }, 'shutdown grace period over: closing connections with requests in flight');
          server.closeAllConnections();
          for (const socket of sockets) socket.destroy();
        }, parseDuration(config.web.shutdownGracePeriod));
        deadline.unref();
        tlsHolder.close();
        server.close(() => {
          clearTimeout(deadline);
          gateway.close();
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}

function createApp(config: Config, gateway: Gateway, logger: Logger, isClosing: () => boolean): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('case sensitive routing', true); // nginx locations are case-sensitive; so are we
  // After SIGTERM, answers tell keep-alive clients to reconnect (to another replica).
  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (isClosing()) res.setHeader('connection', 'close');
    next();
  });
  const basePath = config.basePath === '/' ? '/' : config.basePath.replace(/\/$/, '');
  app.use(basePath, gateway);
  // The gateway's own answers outside the base path carry the same security headers.
  app.use((req: Request, res: Response) => {
    gateway.securityHeaders.handle(req, res, () => sendText(res, 404, '404 Not Found\n'));
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    logger.error({ method: req.method, path: req.path, error: errorMessage(error) }, 'request failed in middleware');
    if (res.headersSent) return void res.destroy();
    const status = statusOf(error);
    gateway.securityHeaders.handle(req, res, () => sendText(res, status, `${status} ${status >= 500 ? 'Internal Server Error' : 'Request Error'}\n`));
  });
  return app;
}

function sendText(res: Response, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function statusOf(error: unknown): number {
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
