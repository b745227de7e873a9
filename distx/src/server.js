// The standalone HTTPS server: the gateway mounted at the base path, everything else 404, behind
// a TLS listener with modern defaults.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Server as NetServer } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createHealthStage } from "../middleware/health/index.js";
import { createDispatcher, sendText } from "./dispatch.js";
import { resolveRoutes } from "./config/routes.js";
import { loadPlugins, pluginHooks } from "./plugins.js";
import { registerCertificateExpiry, sendMetrics } from "../middleware/metrics/index.js";
import { ConfigError, errorMessage } from "./errors.js";
import { assembleGateway, HOOKS, toConfigInput } from "./gateway.js";
import { validateConfig } from "./config/load.js";
import { parseDuration, splitHostPort } from "./config/schema.js";
import { silentLogger } from "./logger.js";
import { clientAuthServerOptions, rejectReason } from "./tls/client-certificates.js";
import { loadListenerTls, reloadListenerTls } from "./tls/listener-tls.js";
import { x509 } from "./tls/x509.js";
/** How long idle keep-alive connections stay open after shutdown begins, for requests already sent. */
export const SHUTDOWN_IDLE_LINGER_MS = 500;
/** The library's hooks, then the plugins' (config order), per stage. */
function withHooks(middleware, plugins) {
    const hooks = {};
    for (const name of HOOKS)
        hooks[name] = [...[middleware?.[name] ?? []].flat(), ...(plugins[name] ?? [])];
    return hooks;
}
export async function createServer(options = {}) {
    const { config: given, cwd, middleware, on, logger = silentLogger, helmet, registry: givenRegistry, ...settings } = options;
    const config = given ?? validateConfig(toConfigInput(settings), 'createServer options');
    const tls = await loadListenerTls(config, cwd);
    const { credentials, webConfig, clientAuth } = tls;
    if (credentials.generated) {
        logger.warn({ cert_file: credentials.certFile, key_file: credentials.keyFile, sha256_fingerprint: credentials.fingerprint }, 'no certificate configured: generated a self-signed development certificate; configure tls.certFile/tls.keyFile in production');
    }
    if (webConfig && !webConfig.http2)
        logger.info({ file: webConfig.file }, 'http_server_config.http2: false has no effect: promgate serves HTTP/1.1');
    const registry = givenRegistry ?? new Registry();
    if (!givenRegistry)
        collectDefaultMetrics({ register: registry }); // process_* and nodejs_*, once per registry
    const routes = resolveRoutes(config);
    const plugins = await loadPlugins(config.plugins);
    const gateways = [];
    try {
        for (const route of routes) {
            const hooks = withHooks(middleware, pluginHooks(plugins, route, { logger: logger, registry }));
            gateways.push(assembleGateway(route, { middleware: hooks, on, logger, helmet, registry, webConfig }));
        }
    }
    catch (error) {
        for (const built of gateways)
            built.close(); // a later route's bad setting: release the earlier ones
        throw error;
    }
    const gateway = gateways[0];
    // The listener's own answers (root health, metrics listener) speak for every route.
    const readiness = {
        notReadyReason: () => gateways.map((each, index) => each.notReadyReason() && (routes.length > 1 ? `${routes[index].basePath}: ${each.notReadyReason()}` : each.notReadyReason())).find(Boolean),
        drain: () => gateways.forEach((each) => each.drain()),
        close: () => { },
    };
    const health = createHealthStage(readiness);
    let closing = false;
    let dispatcher;
    try {
        dispatcher = createDispatcher({ routes, gateways, health, landingPage: config.landingPage, logger, isClosing: () => closing });
    }
    catch (error) {
        for (const each of gateways)
            each.close();
        throw error;
    }
    const { web } = config;
    const server = createHttpsServer({
        ...tls.context,
        ...clientAuthServerOptions(clientAuth),
        maxHeaderSize: web.maxHeaderSize,
        // The TLS handshake counts against the same budget as the headers (slowloris during TLS).
        handshakeTimeout: parseDuration(web.headersTimeout),
        // How often Node looks for requests past their headers/request timeout (its default is 30s).
        connectionsCheckingInterval: Math.min(1000, parseDuration(web.headersTimeout)),
        IncomingMessage: dispatcher.IncomingMessage,
        ServerResponse: dispatcher.ServerResponse,
    }, dispatcher.handle);
    server.headersTimeout = parseDuration(web.headersTimeout);
    server.requestTimeout = parseDuration(web.requestTimeout);
    server.keepAliveTimeout = parseDuration(web.keepAliveTimeout);
    server.maxConnections = web.maxConnections;
    // Every socket, also those still in their TLS handshake, which closeAllConnections does not see.
    const sockets = new Set();
    server.on('connection', (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
    });
    // Responses not yet answered when shutdown begins still tell their keep-alive client to go.
    const pending = new Set();
    server.on('request', (_req, res) => {
        pending.add(res);
        res.once('close', () => pending.delete(res));
    });
    const tlsHolder = reloadListenerTls(server, tls, () => loadListenerTls(config, cwd, { generate: false }), logger, {
        prepare: (next) => {
            const applyAll = gateways.map((each) => each.prepareWebConfig(next.webConfig));
            return () => applyAll.forEach((apply) => apply());
        },
        onResult: (ok) => gateway.metrics.reloaded('tls', ok),
    });
    gateway.metrics.loaded('tls');
    registerCertificateExpiry(registry, () => tlsHolder.current().credentials.notAfter);
    if (clientAuth) {
        x509(); // loaded now rather than during the first client's handshake
        server.on('secureConnection', (socket) => {
            let reason;
            try {
                reason = rejectReason(tlsHolder.current().clientAuth ?? clientAuth, socket);
            }
            catch (error) {
                reason = `client certificate check failed: ${errorMessage(error)}`; // never crash on a client's bytes
            }
            if (!reason)
                return;
            logger.info({ remote_address: socket.remoteAddress, reason }, 'client certificate refused');
            socket.destroy();
        });
    }
    const metricsServer = config.metrics.listenAddress ? createMetricsServer(health, registry) : undefined;
    try {
        await listen(server, config.web.listenAddress, 'web.listenAddress');
        if (metricsServer && config.metrics.listenAddress)
            await listen(metricsServer, config.metrics.listenAddress, 'metrics.listenAddress');
    }
    catch (error) {
        tlsHolder.close();
        for (const each of gateways)
            each.close();
        server.close();
        throw error;
    }
    const metricsAddress = metricsServer?.address();
    if (metricsAddress)
        logger.info({ address: `${metricsAddress.address}:${metricsAddress.port}` }, 'metrics listening (plain HTTP): /metrics, /-/promgate/healthy, /-/promgate/ready');
    const address = server.address();
    const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const basePath = routes[0].basePath === '/' ? '' : routes[0].basePath.replace(/\/$/, '');
    const authOf = (route) => route.auth.off ? 'off' : route.auth.htpasswdFile ? `htpasswd ${route.auth.htpasswdFile}` : webConfig?.users.size ? `basic_auth_users of ${webConfig.file}` : 'off';
    if (routes.length === 1) {
        logger.info({ address: `${urlHost}:${address.port}`, base_path: config.basePath, upstream: config.upstream.url, auth: authOf(config) }, 'promgate listening');
    }
    else {
        for (const route of routes)
            logger.info({ base_path: route.basePath, preset: route.preset, upstream: route.upstream.url, auth: authOf(route), plugins: gateways[routes.indexOf(route)].stages.filter((name) => /^(beforeAuth|afterAuth|beforeProxy)\[/.test(name)).length }, 'route');
        logger.info({ address: `${urlHost}:${address.port}`, routes: routes.length }, 'promgate listening');
    }
    let closed;
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
            closing = true;
            readiness.drain();
            for (const res of pending)
                if (!res.headersSent)
                    res.setHeader('connection', 'close');
            closed ??= new Promise((resolve) => {
                const deadline = setTimeout(() => {
                    logger.warn({ grace_period: config.web.shutdownGracePeriod }, 'shutdown grace period over: closing connections with requests in flight');
                    server.closeAllConnections();
                    for (const socket of sockets)
                        socket.destroy();
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
                    for (const each of gateways)
                        each.close();
                    if (!metricsServer)
                        return resolve();
                    metricsServer.close(() => resolve());
                    metricsServer.closeAllConnections();
                });
                const linger = setTimeout(() => server.closeIdleConnections(), SHUTDOWN_IDLE_LINGER_MS);
            });
            return closed;
        },
    };
}
/** The plain-HTTP listener for Prometheus to scrape, and for probes that cannot do TLS or mTLS. */
function createMetricsServer(health, registry) {
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
export function listen(server, address, key) {
    const { host, port } = splitHostPort(address);
    return new Promise((resolve, reject) => {
        const fail = (error) => reject(new ConfigError(`cannot listen: ${errorMessage(error)}`, { key }));
        server.once('error', fail);
        server.listen(port, host, () => {
            server.off('error', fail);
            resolve();
        });
    });
}
//# sourceMappingURL=server.js.map