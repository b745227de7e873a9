// A gateway pays in memory for what it loads at start, and a sidecar has little: the packages of
// JWTs, sign-in and PromQL rewriting load only when a route uses them (jose alone is ~14 MB), the
// YAML parser with the first file, pino-pretty for a terminal, and of undici only its pool.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const INDEX = new URL('../../src/index.ts', import.meta.url).href;
const PROMQL = new URL('../../middleware/tenancy/promql/index.ts', import.meta.url).href;
const LOAD = new URL('../../src/config/load.ts', import.meta.url).href;
const LOGGER = new URL('../../src/logger.ts', import.meta.url).href;
// undici's index (fetch, WebSocket, caches, mocks) is optional; its pool, which the proxy uses, is not.
const OPTIONAL =
  /\/node_modules\/(jose|openid-client|oauth4webapi|@prometheus-io\/lezer-promql|@lezer\/lr|yaml|pino-pretty|undici\/index\.js)/;

/** The optional packages a child process loaded after running `body` (ESM, with INDEX and PROMQL imported). */
async function optionalPackagesLoaded(body: string): Promise<string[]> {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { const found = next(specifier, context); seen.add(found.url); return found; } });
    const { createGateway } = await import(${JSON.stringify(INDEX)});
    const promql = await import(${JSON.stringify(PROMQL)});
    const { loadConfig } = await import(${JSON.stringify(LOAD)});
    const { createLogger } = await import(${JSON.stringify(LOGGER)});
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

  it('a configuration from flags and a JSON logger load none of them', async () => {
    const loaded = await optionalPackagesLoaded(`
      loadConfig({ flags: { 'upstream.url': 'http://127.0.0.1:9' }, env: {} });
      createLogger({ format: 'json' }).info('started');`);
    assert.deepEqual(loaded, []);
  });

  it('a config file loads the YAML parser, a pretty logger pino-pretty (the probe sees both)', async () => {
    const loaded = await optionalPackagesLoaded(`
      const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
      const dir = mkdtempSync((await import('node:os')).tmpdir() + '/promgate-lazy-');
      writeFileSync(dir + '/promgate.yml', 'upstream:\\n  url: http://127.0.0.1:9\\n');
      loadConfig({ flags: {}, env: {}, configFile: dir + '/promgate.yml' });
      rmSync(dir, { recursive: true });
      createLogger({ format: 'pretty', destination: { write() {} } }).info('started');`);
    assert.deepEqual(loaded, ['pino-pretty', 'yaml']);
  });

  it('a JWT route loads undici whole, for its fetch (the probe sees it)', async () => {
    const loaded = await optionalPackagesLoaded(`
      const gateway = createGateway({
        upstream: 'http://127.0.0.1:9',
        auth: { jwt: { issuer: 'http://127.0.0.1:9', audience: 'prometheus' } },
      });
      gateway.close();`);
    assert.ok(loaded.includes('undici/index.js'), JSON.stringify(loaded));
  });

  it('a tenant query loads the PromQL grammar (the probe sees a load)', async () => {
    const loaded = await optionalPackagesLoaded(`promql.enforceQuery('up', { namespace: ['a'] });`);
    assert.ok(loaded.includes('@prometheus-io/lezer-promql'), JSON.stringify(loaded));
  });
});

// Node builds an ES module's namespace from every export of a built-in: for node:http that reads
// its lazy WebSocket getters, which load Node's own bundled undici (~4 MB of RSS).
describe("Node's bundled fetch stack stays unloaded", () => {
  const BUNDLED_UNDICI = 'NativeModule internal/deps/undici/undici';

  it('importing every module of the product does not load it', async () => {
    const root = new URL('../../', import.meta.url);
    const files = ['src', 'middleware', 'plugins']
      .flatMap((dir) =>
        readdirSync(new URL(dir, root), { recursive: true, encoding: 'utf8' }).map((f) => `${dir}/${f}`),
      )
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && file !== 'src/cli.ts');
    assert.ok(files.length > 50, `found ${files.length} modules`);
    const script = `
      for (const file of ${JSON.stringify(files)}) await import(new URL(file, ${JSON.stringify(root.href)}).href);
      console.log(JSON.stringify(process.moduleLoadList.filter((name) => name.includes('undici'))));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null'), []);
  });

  it('the command line does not load it', async () => {
    const probe = `process.on('exit', () => process.stderr.write('LOADED ' + process.moduleLoadList.includes(${JSON.stringify(BUNDLED_UNDICI)}) + '\\n'));`;
    const cli = new URL('../../src/cli.ts', import.meta.url).pathname;
    const { stdout, stderr } = await run(process.execPath, [
      '--import',
      `data:text/javascript,${encodeURIComponent(probe)}`,
      cli,
      '--version',
    ]);
    assert.match(stdout, /promgate/);
    assert.match(stderr, /LOADED false/);
  });

  it('the probe sees it when a module imports node:http', async () => {
    const { stdout } = await run(process.execPath, [
      '--input-type=module',
      '-e',
      `import 'node:http'; console.log(process.moduleLoadList.includes(${JSON.stringify(BUNDLED_UNDICI)}));`,
    ]);
    assert.equal(stdout.trim(), 'true');
  });
});
