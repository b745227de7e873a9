// Runs the README's library example as a process (from source or as a consumer compiled it) in
// front of a recording upstream, and checks what the README says it does.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freePort } from './ports.ts';
import { startUpstream } from './upstream.ts';
import { waitFor } from './wait.ts';

export async function checkLibraryExample(file: string, cwd?: string): Promise<void> {
  const upstream = await startUpstream();
  const port = await freePort();
  const child = spawn(process.execPath, [file], {
    cwd,
    env: { ...process.env, PORT: String(port), PROMETHEUS_URL: upstream.url },
    stdio: 'inherit',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const base = `http://127.0.0.1:${port}/prometheus`;
    const serves = () =>
      fetch(`${base}/api/v1/query?query=up`).then(
        (response) => response.ok,
        () => false,
      );
    const died = exited.then((code) => Promise.reject(new Error(`the example exited with ${code}`)));
    await waitFor(serves, { timeoutMs: 10_000, message: 'the example to serve', failOn: died });
    assert.equal(upstream.requests.at(-1)?.headers['x-requested-by'], 'ops-portal', 'beforeProxy tagged the request');
    const denied = await fetch(`${base}/api/v1/admin/tsdb/delete_series`, { method: 'DELETE' });
    assert.equal(denied.status, 403);
    assert.deepEqual(await denied.json(), { status: 'error', error: 'read-only' }, 'beforeAuth answered');
    const form = await fetch(`${base}/api/v1/series`, {
      method: 'POST',
      body: new URLSearchParams([['match[]', 'up']]),
    });
    assert.equal(form.status, 200);
    const forwarded = new URLSearchParams(upstream.requests.at(-1)?.body.toString());
    assert.equal(forwarded.get('match[]'), 'up', 'the parsed form body was forwarded');
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    await upstream.close();
  }
}
