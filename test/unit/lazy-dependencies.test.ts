// A gateway pays in memory for what it loads at start, and a sidecar has little: the packages of
// JWTs, sign-in and PromQL rewriting load only when a route uses them (jose alone is ~14 MB).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const INDEX = new URL('../../src/index.ts', import.meta.url).href;
const PROMQL = new URL('../../middleware/tenancy/promql/index.ts', import.meta.url).href;
const OPTIONAL = /\/node_modules\/(jose|openid-client|oauth4webapi|@prometheus-io\/lezer-promql|@lezer\/lr)\//;

/** The optional packages a child process loaded after running `body` (ESM, with INDEX and PROMQL imported). */
async function optionalPackagesLoaded(body: string): Promise<string[]> {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { const found = next(specifier, context); seen.add(found.url); return found; } });
    const { createGateway } = await import(${JSON.stringify(INDEX)});
    const promql = await import(${JSON.stringify(PROMQL)});
    ${body}
    const names = [...seen].map((url) => ${OPTIONAL}.exec(url)?.[1]).filter(Boolean);
    console.log(JSON.stringify([...new Set(names)].sort()));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[];
}

describe('optional packages load on first use', () => {
  it('a gateway with basic auth, roles and the rest loads none of them', async () => {
    const loaded = await optionalPackagesLoaded(`
      const gateway = createGateway({
        upstream: 'http://127.0.0.1:9',
        auth: { users: { alice: '$2y$10$' + 'a'.repeat(53) } },
        accessControl: { users: { alice: 'admin' } },
      });
      gateway.close();`);
    assert.deepEqual(loaded, []);
  });

  it('a tenant query loads the PromQL grammar (the probe sees a load)', async () => {
    const loaded = await optionalPackagesLoaded(`promql.enforceQuery('up', { namespace: ['a'] });`);
    assert.ok(loaded.includes('@prometheus-io/lezer-promql'), JSON.stringify(loaded));
  });
});
