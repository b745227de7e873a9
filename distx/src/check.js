// Everything a gateway checks at start, done once without serving: every route's stages validate
// what they read, plugins load and their options pass. `check-config` and the --workers primary
// use it, so a bad setup fails with one clear error instead of in each worker.
import { Registry } from 'prom-client';
import { resolveRoutes } from "./config/routes.js";
import { assembleGateway } from "./gateway.js";
import { silentLogger } from "./logger.js";
import { loadPlugins, pluginHooks } from "./plugins.js";
export async function checkGatewaySetup(config, webConfig) {
    const plugins = await loadPlugins(config.plugins);
    for (const route of resolveRoutes(config)) {
        const middleware = pluginHooks(plugins, route, { logger: silentLogger, registry: new Registry() });
        assembleGateway(route, { logger: silentLogger, webConfig, middleware }).close();
    }
}
//# sourceMappingURL=check.js.map