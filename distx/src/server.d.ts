import { type Server as HttpServer } from 'node:http';
import { type Server } from 'node:https';
import { type AddressInfo } from 'node:net';
import { type Gateway, type GatewayOptions } from './gateway.ts';
import { type Config } from './config/schema.ts';
import type { ServerCredentials } from './tls/certificates.ts';
/** How long idle keep-alive connections stay open after shutdown begins, for requests already sent. */
export declare const SHUTDOWN_IDLE_LINGER_MS = 500;
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
export declare function createServer(options?: ServerOptions): Promise<GatewayServer>;
/** Listens on host:port; a failure is a ConfigError naming the setting. */
export declare function listen(server: HttpServer | Server, address: string, key: string): Promise<void>;
