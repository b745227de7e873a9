// Counters in Redis (rate-limit-redis over node-redis), shared by every replica. Commands fail at
// once while Redis is unreachable (no offline queue), so a request never waits on it; the client
// reconnects in the background. rate-limit-redis loads its Lua scripts once, at start: a Redis
// that was not connected then would leave them failed for good, so they are loaded again on every
// (re)connect and after a failure (found by the Redis tests).
// node-redis is loaded only when a Redis URL is configured: it is ~6 MB of heap that every full
// GC would otherwise walk, and those are frequent while large responses stream (F6).
import { createRequire } from 'node:module';
/** The longest a reconnect waits between attempts. */
const MAX_RECONNECT_DELAY_MS = 2000;
export function connectRedis(url, prefix, logger) {
    const require = createRequire(import.meta.url);
    const { createClient } = require('redis');
    const ReloadingRedisStore = reloadingStoreClass(require('rate-limit-redis').RedisStore);
    const client = createClient({
        url,
        disableOfflineQueue: true,
        socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS) },
    });
    let up = false;
    const stores = new Set();
    client.on('ready', () => {
        up = true;
        for (const store of stores)
            store.reloadScripts();
        logger.info({ redis: redactedUrl(url) }, 'connected to Redis for rate limits');
    });
    client.on('error', (error) => {
        if (!up)
            return; // reported once per outage, below and by each limit's store errors
        up = false;
        logger.error({ redis: redactedUrl(url), error: error.message }, 'lost the connection to Redis');
    });
    client.connect().catch((error) => logger.error({ redis: redactedUrl(url), error: error instanceof Error ? error.message : String(error) }, 'cannot connect to Redis yet; retrying'));
    return {
        createStore: (name) => {
            const store = new ReloadingRedisStore({ sendCommand: (...args) => client.sendCommand(args), prefix: `${prefix}${name}:` });
            stores.add(store);
            return store;
        },
        async close() {
            client.destroy();
        },
    };
}
function reloadingStoreClass(Base) {
    return class ReloadingRedisStore extends Base {
        async init(options) {
            this.windowMs = options.windowMs;
            this.loadScripts();
        }
        async increment(key) {
            try {
                return await super.increment(key);
            }
            catch (error) {
                this.loadScripts();
                throw error;
            }
        }
        async get(key) {
            try {
                return await super.get(key);
            }
            catch (error) {
                this.loadScripts();
                throw error;
            }
        }
        /** After each (re)connect: a load attempted while Redis was away failed for good. */
        reloadScripts() {
            if (this.windowMs !== undefined)
                this.loadScripts();
        }
        loadScripts() {
            this.incrementScriptSha = this.loadIncrementScript();
            this.getScriptSha = this.loadGetScript();
            // Awaited where used; a failure here only means "not yet".
            this.incrementScriptSha.catch(() => { });
            this.getScriptSha.catch(() => { });
        }
    };
}
/** The URL without a password, for logs. */
export function redactedUrl(url) {
    const parsed = new URL(url);
    if (parsed.password)
        parsed.password = '***';
    return parsed.toString();
}
//# sourceMappingURL=redis-store.js.map