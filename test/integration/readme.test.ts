import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { renderConfigReference, REFERENCE_END, REFERENCE_START } from '../../src/config/reference.ts';
import { freePort } from '../helpers/ports.ts';
import { startUpstream } from '../helpers/upstream.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const exec = promisify(execFile);

function exampleBlock(name: string): string {
  const marker = `<!-- example:${name} -->`;
  const start = readme.indexOf(marker);
  assert.ok(start >= 0, `README has ${marker}`);
  const code = /```ts\n([\s\S]*?)```/.exec(readme.slice(start))?.[1];
  assert.ok(code, `a ts block follows ${marker}`);
  return code;
}

describe('README', () => {
  it('carries the config reference generated from the schema (run npm run docs)', () => {
    const start = readme.indexOf(REFERENCE_START);
    const end = readme.indexOf(REFERENCE_END) + REFERENCE_END.length;
    assert.equal(readme.slice(start, end), renderConfigReference());
  });

  it('library example typechecks and runs: hooks answer, tag and forward parsed bodies', async () => {
    const dir = `${root}.generated`;
    mkdirSync(dir, { recursive: true });
    const file = `${dir}/readme-library.ts`;
    writeFileSync(file, exampleBlock('library').replace("from 'promgate'", "from '../src/index.ts'"));
    writeFileSync(`${dir}/tsconfig.json`, JSON.stringify({ extends: '../tsconfig.json', include: ['readme-library.ts'] }));
    await exec(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${dir}/tsconfig.json`, '--noEmit']);

    const upstream = await startUpstream();
    const port = await freePort();
    const child = spawn(process.execPath, [file], { env: { ...process.env, PORT: String(port), PROMETHEUS_URL: upstream.url }, stdio: 'inherit' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const base = `http://127.0.0.1:${port}/prometheus`;
      let ready = false;
      for (let attempt = 0; attempt < 100 && !ready; attempt++) {
        ready = await fetch(`${base}/api/v1/query?query=up`).then((r) => r.ok, () => false);
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(ready, 'the example serves');
      assert.equal(upstream.requests.at(-1)?.headers['x-requested-by'], 'ops-portal');
      const denied = await fetch(`${base}/api/v1/admin/tsdb/delete_series`, { method: 'DELETE' });
      assert.equal(denied.status, 403);
      assert.deepEqual(await denied.json(), { status: 'error', error: 'read-only' });
      const form = await fetch(`${base}/api/v1/series`, { method: 'POST', body: new URLSearchParams([['match[]', 'up']]) });
      assert.equal(form.status, 200);
      assert.equal(new URLSearchParams(upstream.requests.at(-1)?.body.toString()).get('match[]'), 'up');
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      await upstream.close();
    }
  });
});
