// undici's connection pool alone. Its index also loads fetch, WebSocket, caches and mocks, which
// the proxy never uses (~5 MB more RSS, measured in a bare process). The path is pinned by
// package-lock.json, and every proxy test loads it.
import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';

export const Pool = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
