import type { Server } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { type Config } from '../config/schema.ts';
import { type WebConfig } from '../config/web-config.ts';
import type { Logger } from '../logger.ts';
import { type ServerCredentials } from './certificates.ts';
import type { ClientAuthSettings } from './client-certificates.ts';
/** Mozilla "intermediate" TLS 1.2 suites: forward secret AEAD only. TLS 1.3 suites are Node's. */
export declare const DEFAULT_TLS12_CIPHERS: string;
export interface ListenerTls {
    credentials: ServerCredentials;
    /** Every secure-context option, for createServer and setSecureContext alike. */
    context: SecureContextOptions;
    clientAuth: ClientAuthSettings | undefined;
    webConfig: WebConfig | undefined;
    /** Files whose change means: load again. */
    files: string[];
}
/** Loads it all; `generate: false` (reloads) never makes a development certificate. */
export declare function loadListenerTls(config: Config, cwd: string | undefined, { generate }?: {
    generate?: boolean | undefined;
}): Promise<ListenerTls>;
/** The pair to serve: from the web config file if it has one, else tls.* (or a dev certificate). */
export declare function serverCredentials(config: Config, webConfig: WebConfig | undefined, cwd: string | undefined): Promise<ServerCredentials>;
export declare function serverCredentials(config: Config, webConfig: WebConfig | undefined, cwd: string | undefined, options: {
    generate: boolean;
}): Promise<ServerCredentials | undefined>;
export interface ListenerTlsHolder {
    current(): ListenerTls;
    close(): void;
}
/**
 * Keeps the listener's TLS current: when a certificate, key, client CA or the web config file
 * changes, everything is loaded again and, if it is good, swapped in for new handshakes (open
 * connections keep theirs). If not, the old state stays and one error is logged per bad version.
 */
export declare function reloadListenerTls(server: Server, initial: ListenerTls, load: () => Promise<ListenerTls>, logger: Logger, options?: {
    intervalMs?: number;
    prepare?: (next: ListenerTls) => () => void;
    onResult?: (ok: boolean) => void;
}): ListenerTlsHolder;
