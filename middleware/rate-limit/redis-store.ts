// Counters in Redis (rate-limit-redis over node-redis), shared by every replica. Commands fail at
// once while Redis is unreachable (no offline queue), so a request never waits on it; the client
// reconnects in the background. rate-limit-redis loads its Lua scripts once, at start: a Redis
// that was not connected then would leave them failed for good, so they are loaded again on every
// (re)connect and after a failure (found by the Redis tests).
// node-redis is loaded only when a Redis URL is configured: it is ~6 MB of heap that every full
// GC would otherwise walk, and those are frequent while large responses stream.
import { createRequire } from 'node:module';
import type { Options, Store } from 'express-rate-limit';
import type { RedisClientType } from 'redis';
import type { RedisStore } from 'rate-limit-redis';
import type { Logger } from '../../src/kernel/logger.ts';

/** The longest a reconnect waits between attempts. */
const MAX_RECONNECT_DELAY_MS = 2000;

export interface RedisConnection {
  /** A store for one limit; usable before `start()` (its commands fail, and it counts as a store error, until connected). */
  createStore(name: string): Store;
  /** Connects, and keeps reconnecting; building connects nothing. */
  start(): void;
  close(): Promise<void>;
}

export function createRedisConnection(url: string, prefix: string, logger: Logger): RedisConnection {
  const require = createRequire(import.meta.url);
  const { createClient } = require('redis') as typeof import('redis');
  const ReloadingRedisStore = reloadingStoreClass(
    (require('rate-limit-redis') as typeof import('rate-limit-redis')).RedisStore,
  );
  const client: RedisClientType = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
    },
  });
  let up = false;
  const stores = new Set<InstanceType<typeof ReloadingRedisStore>>();
  client.on('ready', () => {
    up = true;
    for (const store of stores) store.reloadScripts();
    logger.info({ redis: redactedUrl(url) }, 'connected to Redis for rate limits');
  });
  client.on('error', (error: Error) => {
    if (!up) return; // reported once per outage, below and by each limit's store errors
    up = false;
    logger.error({ redis: redactedUrl(url), error: error.message }, 'lost the connection to Redis');
  });
  let started = false;
  return {
    start() {
      if (started) return;
      started = true;
      client
        .connect()
        .catch((error: unknown) =>
          logger.error(
            { redis: redactedUrl(url), error: error instanceof Error ? error.message : String(error) },
            'cannot connect to Redis yet; retrying',
          ),
        );
    },
    createStore: (name) => {
      const store = new ReloadingRedisStore({
        sendCommand: (...args: string[]) => client.sendCommand(args),
        prefix: `${prefix}${name}:`,
      });
      stores.add(store);
      return store;
    },
    async close() {
      if (started) client.destroy(); // a client never connected has nothing to destroy (and would throw)
    },
  };
}

function reloadingStoreClass(Base: typeof RedisStore) {
  return class ReloadingRedisStore extends Base {
    override async init(options: Options): Promise<void> {
      this.windowMs = options.windowMs;
      this.loadScripts();
    }

    override async increment(key: string) {
      try {
        return await super.increment(key);
      } catch (error) {
        this.loadScripts();
        throw error;
      }
    }

    override async get(key: string) {
      try {
        return await super.get(key);
      } catch (error) {
        this.loadScripts();
        throw error;
      }
    }

    /** After each (re)connect: a load attempted while Redis was away failed for good. */
    reloadScripts(): void {
      if (this.windowMs !== undefined) this.loadScripts();
    }

    private loadScripts(): void {
      this.incrementScriptSha = this.loadIncrementScript();
      this.getScriptSha = this.loadGetScript();
      // Awaited where used; a failure here only means "not yet".
      this.incrementScriptSha.catch(() => {});
      this.getScriptSha.catch(() => {});
    }
  };
}

/** The URL without a password, for logs. */
export function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
