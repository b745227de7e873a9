// Everything a gateway checks at start, done once without serving: every route's stages validate
// what they read, plugins load and their options pass. `check-config` and the --workers primary
// use it, so a bad setup fails with one clear error instead of in each worker.
import { Registry } from 'prom-client';
import { resolveRoutes } from './config/routes.ts';
import type { Config } from './config/schema.ts';
import type { WebConfig } from './config/web-config.ts';
import { assembleGateway } from './gateway.ts';
import { silentLogger } from './logger.ts';
import { loadPlugins, pluginHooks } from './plugins.ts';

export async function checkGatewaySetup(config: Config, webConfig: WebConfig | undefined): Promise<void> {
  const plugins = await loadPlugins(config.plugins);
  for (const route of resolveRoutes(config)) {
    const middleware = pluginHooks(plugins, route, { logger: silentLogger, registry: new Registry() });
    assembleGateway(route, { logger: silentLogger, webConfig, middleware }).close();
  }
}
