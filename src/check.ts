// Everything a start loads and builds, done without serving: the listener's TLS (certificate, key,
// client CAs, web config) and every route's gateway (htpasswd, roles, plugins, headers), through
// the functions a start calls. Built, never started: no listener, no upstream polling, no file
// watcher, no Redis connection. `check-config` and the --workers primary use it, so a bad setup fails with one
// clear error instead of in each worker.
import { Registry } from 'prom-client';
import { collectProcessMetrics } from '../middleware/metrics/index.ts';
import type { Config } from './config/schema.ts';
import { loadWebConfig, type WebConfig } from './config/web-config.ts';
import { silentLogger } from './logger.ts';
import { buildGateways } from './prepare.ts';
import type { ServerCredentials } from './tls/certificates.ts';
import { loadListenerTls, serverCredentials } from './tls/listener-tls.ts';

/** Checks what a start would load; the certificate it would serve, or undefined when it would generate one. */
export async function checkServerSetup(config: Config, cwd = process.cwd()): Promise<ServerCredentials | undefined> {
  const webConfig = config.web.config.file ? loadWebConfig(config.web.config.file) : undefined;
  // No certificate configured and none at the default paths: a start generates one, which is fine.
  const generated = (await serverCredentials(config, webConfig, cwd, { generate: false })) === undefined;
  const tls = generated ? undefined : await loadListenerTls(config, cwd, { generate: false });
  await checkGatewaySetup(config, tls?.webConfig ?? webConfig);
  return tls?.credentials;
}

/** Builds every route's gateway as a start does (one registry, plugins, hooks), then closes them. */
export async function checkGatewaySetup(config: Config, webConfig: WebConfig | undefined): Promise<void> {
  const registry = new Registry();
  collectProcessMetrics(registry); // a plugin's metric under one of these names fails a start too
  const { runtimes } = await buildGateways(config, { logger: silentLogger, registry, webConfig });
  for (const runtime of runtimes) runtime.gateway.close();
}
