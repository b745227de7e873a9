// Everything the HTTPS listener needs from certificates and the web config, loaded as one value so
// that a reload swaps it whole: setSecureContext replaces the entire context, so every option
// (versions, ciphers, curves, client CA) is rebuilt with the new certificate.
import { constants } from 'node:crypto';
import type { Server } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { DEFAULT_CERT_FILE, DEFAULT_KEY_FILE, type Config } from '../config/schema.ts';
import { loadWebConfig, type WebConfig } from '../config/web-config.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import { watchFileStamps } from '../kernel/file-stamps.ts';
import type { Logger } from '../logger.ts';
import {
  checkCaBundle,
  loadServerCredentials,
  readTlsFile,
  webConfigCredentials,
  type ServerCredentials,
} from './certificates.ts';
import { clientAuthServerOptions, type ClientAuthSettings } from './client-certificates.ts';

/** Mozilla "intermediate" TLS 1.2 suites: forward secret AEAD only. TLS 1.3 suites are Node's. */
export const DEFAULT_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface ListenerTls {
  credentials: ServerCredentials;
  /** Every secure-context option, for createServer and setSecureContext alike. */
  context: SecureContextOptions;
  clientAuth: ClientAuthSettings | undefined;
  webConfig: WebConfig | undefined;
  /** Files whose change means: load again (the client CA file among them). */
  files: string[];
}

/** Loads it all; `generate: false` (reloads) never makes a development certificate. */
export async function loadListenerTls(
  config: Config,
  cwd: string | undefined,
  { generate = true } = {},
): Promise<ListenerTls> {
  const webConfig = config.web.config.file ? loadWebConfig(config.web.config.file) : undefined;
  const credentials = await serverCredentials(config, webConfig, cwd, { generate });
  if (!credentials)
    throw new ConfigError(
      `neither ${DEFAULT_CERT_FILE} nor ${DEFAULT_KEY_FILE} exists any more; put the pair back or configure tls.certFile/tls.keyFile`,
      { key: 'tls.certFile' },
    );
  const clientAuth = clientAuthSettings(webConfig);
  const tls = webConfig?.tls;
  return {
    credentials,
    context: {
      cert: credentials.cert,
      key: credentials.key,
      minVersion: tls?.minVersion ?? 'TLSv1.2',
      maxVersion: tls?.maxVersion ?? 'TLSv1.3',
      ciphers: tls?.ciphers ?? DEFAULT_TLS12_CIPHERS,
      // Node's servers honour their own order unless told otherwise; the web config may let the client's win.
      honorCipherOrder: tls?.preferServerCipherSuites ?? true,
      // No client-initiated renegotiation (TLS 1.2); Node only rate-limits it by default.
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      ...(tls?.ecdhCurve ? { ecdhCurve: tls.ecdhCurve } : {}),
      ...(clientAuth?.ca ? { ca: clientAuth.ca } : {}),
    },
    clientAuth,
    webConfig,
    files: [credentials.certFile, credentials.keyFile, tls?.clientAuth?.caFile, webConfig?.file].filter(
      (file, index, all): file is string => file !== undefined && all.indexOf(file) === index,
    ),
  };
}

/** The pair to serve: from the web config file if it has one, else tls.* (or a dev certificate). */
export async function serverCredentials(
  config: Config,
  webConfig: WebConfig | undefined,
  cwd: string | undefined,
): Promise<ServerCredentials>;
export async function serverCredentials(
  config: Config,
  webConfig: WebConfig | undefined,
  cwd: string | undefined,
  options: { generate: boolean },
): Promise<ServerCredentials | undefined>;
export async function serverCredentials(
  config: Config,
  webConfig: WebConfig | undefined,
  cwd: string | undefined,
  options: { generate: boolean } = { generate: true },
): Promise<ServerCredentials | undefined> {
  if (!webConfig?.tls) return loadServerCredentials(config.tls, cwd, options);
  if (config.tls.certFile || config.tls.keyFile) {
    throw new ConfigError(
      `the certificate is configured twice: in tls.certFile/tls.keyFile and in tls_server_config of ${webConfig.file}; keep one`,
      {
        key: 'tls.certFile',
      },
    );
  }
  return webConfigCredentials(webConfig.tls, webConfig.file);
}

function clientAuthSettings(webConfig: WebConfig | undefined): ClientAuthSettings | undefined {
  const auth = webConfig?.tls?.clientAuth;
  if (!auth) return undefined;
  const ca = auth.caFile
    ? checkCaBundle({
        pem: readTlsFile(auth.caFile, 'tls_server_config.client_ca_file'),
        origin: auth.caFile,
        key: 'tls_server_config.client_ca_file',
      })
    : auth.caPem
      ? checkCaBundle({ pem: Buffer.from(auth.caPem), origin: webConfig.file, key: 'tls_server_config.client_ca' })
      : undefined;
  return { type: auth.type, ...(ca ? { ca } : {}), ...(auth.allowedSans ? { allowedSans: auth.allowedSans } : {}) };
}

/**
 * Whether new connections are asked for a certificate, and refused in the handshake without a
 * verified one. These are not part of the secure context: Node's TLS server reads them from
 * itself for each connection it accepts, so setting them applies to the next handshake, as
 * exporter-toolkit's per-handshake config does. The rest is checked at 'secureConnection'.
 */
function applyClientAuth(server: Server, settings: ClientAuthSettings | undefined): void {
  const { requestCert, rejectUnauthorized } = clientAuthServerOptions(settings);
  Object.assign(server as Server & { requestCert: boolean; rejectUnauthorized: boolean }, {
    requestCert,
    rejectUnauthorized,
  });
}

export interface ListenerTlsHolder {
  current(): ListenerTls;
  close(): void;
}

/**
 * Keeps the listener's TLS current: when a certificate, key, client CA or the web config file
 * changes, everything is loaded again and, if it is good, swapped in for new handshakes (open
 * connections keep theirs). If not, the old state stays and one error is logged per bad version.
 */
export function reloadListenerTls(
  server: Server,
  initial: ListenerTls,
  load: () => Promise<ListenerTls>,
  logger: Logger,
  options: { intervalMs?: number; prepare?: (next: ListenerTls) => () => void; onResult?: (ok: boolean) => void } = {},
): ListenerTlsHolder {
  const { intervalMs, prepare, onResult } = options;
  let current = initial;
  let loading: Promise<void> | undefined;
  let watcher: { close(): void };
  let closed = false;
  const reload = () => {
    loading ??= load()
      .then((next) => {
        if (closed) return; // shut down while loading: touch nothing, watch nothing
        const applyRest = prepare?.(next); // users and headers: checked before anything changes
        server.setSecureContext(next.context); // with the client CA
        applyClientAuth(server, next.clientAuth);
        applyRest?.();
        const watchedFiles = current.files;
        current = next;
        if (next.files.join('\n') !== watchedFiles.join('\n')) {
          // The web config may now name other files: follow those from here on.
          watcher.close();
          watcher = watchFileStamps(next.files, reload, intervalMs);
        }
        logger.info(
          { cert_file: next.credentials.certFile, sha256_fingerprint: next.credentials.fingerprint },
          'reloaded TLS certificate and web config',
        );
        onResult?.(true);
      })
      .catch((error: unknown) => {
        logger.error(
          { files: current.files.join(',') },
          `TLS reload failed, keeping the previous certificate and settings: ${errorMessage(error)}`,
        );
        onResult?.(false);
      })
      .finally(() => (loading = undefined));
  };
  watcher = watchFileStamps(initial.files, reload, intervalMs);
  return {
    current: () => current,
    close: () => {
      closed = true;
      watcher.close();
    },
  };
}
