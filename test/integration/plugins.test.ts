import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger, loadConfig } from '../../src/index.ts';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const TENANT_HEADER = fileURLToPath(new URL('../../plugins/tenant-header.ts', import.meta.url));
const AUDIT_LOG = fileURLToPath(new URL('../../plugins/audit-log.ts', import.meta.url));
const users = () =>
  writeHtpasswd([
    { user: 'alice', password: 'alice-pw', flag: '-B' },
    { user: 'bob', password: 'bob-pw', flag: '-B' },
  ]);

/** A plugin file in a fresh folder, as users write them: a plain ES module. */
function writePlugin(source: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'promgate-plugin-'));
  const file = join(dir, 'plugin.mjs');
  writeFileSync(file, source);
  return { dir, file };
}

describe('plugins from the config file', () => {
  it('loads a module by a path relative to the config file and runs it at its stage', async () => {
    const { dir } = writePlugin(`export default {
  name: 'stamp',
  create: (options, context) => (req, res, next) => {
    res.setHeader('x-stamp', options.value + ':' + context.route.basePath + ':' + (req.promgate?.user ?? 'none'));
    next();
  },
};
`);
    writeFileSync(
      join(dir, 'promgate.yml'),
      `plugins:\n  - module: ./plugin.mjs\n    stage: afterAuth\n    options: { value: hello }\n`,
    );
    const { config } = loadConfig({ configFile: join(dir, 'promgate.yml') });
    assert.equal(config.plugins[0]?.module, join(dir, 'plugin.mjs'), 'resolved against the config file');
    const upstream = await startUpstream();
    const gateway = await startTestGateway({
      upstream: upstream.url,
      auth: { htpasswdFile: users() },
      plugins: config.plugins,
    });
    try {
      const response = await gateway.request('/prometheus/x', {
        headers: { authorization: basicAuth('alice', 'alice-pw') },
      });
      assert.equal(response.status, 200);
      assert.equal(
        response.headers['x-stamp'],
        'hello:/prometheus:alice',
        'ran after auth, with the route in its context',
      );
      assert.equal(
        (await gateway.request('/prometheus/x')).headers['x-stamp'],
        undefined,
        'not before auth: a 401 never reaches it',
      );
      assert.deepEqual(
        gateway.handle.gateway.stages.filter((name) => name.startsWith('afterAuth')),
        ['afterAuth[0]'],
      );
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('refuses to start when a plugin cannot load, is not a plugin, or has bad options, naming the module', async () => {
    const missing = join(tmpdir(), 'promgate-no-such-plugin.mjs');
    await assert.rejects(startTestGateway({ plugins: [{ module: missing, stage: 'beforeProxy' }] }), {
      name: 'ConfigError',
      message: new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: plugins\\.0: cannot load the plugin: `),
    });
    const { file } = writePlugin('export default { hello: 1 };\n');
    await assert.rejects(startTestGateway({ plugins: [{ module: file, stage: 'beforeProxy' }] }), {
      message: /plugins\.0: not a plugin: its default export must be definePlugin/,
    });
    await assert.rejects(
      startTestGateway({
        plugins: [{ module: TENANT_HEADER, stage: 'beforeProxy', options: { users: { alice: 'not a tenant/' } } }],
      }),
      {
        message:
          /tenant-header\.ts: plugins\.0: plugin "tenant-header": options\.users\.alice: must be a Mimir tenant ID/,
      },
    );
  });
});

describe('tenant-header plugin', () => {
  it('sets X-Scope-OrgID from the user, always replacing what the client sent', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({
      upstream: upstream.url,
      auth: { htpasswdFile: users() },
      plugins: [{ module: TENANT_HEADER, stage: 'beforeProxy', options: { users: { alice: 'team-a' } } }],
    });
    try {
      assert.equal(
        (
          await gateway.request('/prometheus/api/v1/query', {
            headers: { authorization: basicAuth('alice', 'alice-pw'), 'x-scope-orgid': 'team-b' },
          })
        ).status,
        200,
      );
      assert.equal(upstream.requests.at(-1)?.headers['x-scope-orgid'], 'team-a');
      const refused = await gateway.request('/prometheus/api/v1/query', {
        headers: { authorization: basicAuth('bob', 'bob-pw'), 'x-scope-orgid': 'team-a' },
      });
      assert.equal(refused.status, 403, 'bob has no tenant and no default: refused, not passed with his own header');
      assert.equal(upstream.requests.length, 1);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('uses the default tenant for requests no mapping names', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({
      upstream: upstream.url,
      plugins: [{ module: TENANT_HEADER, stage: 'beforeProxy', options: { default: 'anonymous' } }],
    });
    try {
      await gateway.request('/prometheus/x', { headers: { 'x-scope-orgid': 'someone-else' } });
      assert.equal(upstream.requests.at(-1)?.headers['x-scope-orgid'], 'anonymous');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('audit-log plugin', () => {
  it('writes one line per changing request with who, what, the answer and the deciding rule; nothing for reads', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'promgate-audit-')), 'audit.jsonl');
    const log: string[] = [];
    const upstream = await startUpstream();
    const gateway = await startTestGateway({
      upstream: upstream.url,
      auth: { htpasswdFile: users() },
      accessControl: { users: { alice: 'admin' } },
      logger: createLogger({ format: 'json', destination: { write: (line: string) => log.push(line) } }),
      // beforeAuth: refused requests are audited too; the user is known by the time the answer ends.
      plugins: [
        { module: AUDIT_LOG, stage: 'beforeAuth', options: { file } },
        { module: AUDIT_LOG, stage: 'beforeAuth' },
      ],
    });
    try {
      await gateway.request('/prometheus/api/v1/admin/tsdb/snapshot', {
        method: 'POST',
        headers: { authorization: basicAuth('alice', 'alice-pw') },
      });
      await gateway.request('/prometheus/-/quit', {
        method: 'POST',
        headers: { authorization: basicAuth('bob', 'bob-pw') },
      });
      await gateway.request('/prometheus/api/v1/query?query=up', {
        headers: { authorization: basicAuth('bob', 'bob-pw') },
      });
      await gateway.request('/prometheus/api/v1/write', {
        method: 'POST',
        headers: { authorization: basicAuth('mallory', 'guess') },
      });
      // Audit lines are written once each answer has ended, after the client has it.
      const audited = () =>
        readFileSync(file, 'utf8').trim().split('\n').length >= 3 &&
        log.filter((line) => line.includes('"msg":"audit"')).length >= 3;
      await waitFor(audited, { message: 'three audit lines in the file and in the log' });
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(
        lines.map((line) => [line.method, line.path, line.status, line.user, line.rule]),
        [
          ['POST', '/prometheus/api/v1/admin/tsdb/snapshot', 200, 'alice', 'admin.allow.all'],
          ['POST', '/prometheus/-/quit', 403, 'bob', 'viewer.deny.lifecycle'],
          ['POST', '/prometheus/api/v1/write', 401, undefined, undefined],
        ],
      );
      assert.equal(
        log.filter((line) => line.includes('"msg":"audit"')).length,
        3,
        'the second instance writes to the log',
      );
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
