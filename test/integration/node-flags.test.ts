// The image starts Node with a capped young generation and --expose-gc together; the cap alone let
// 64 large downloads run a 128 MiB container out of memory, so the CLI says so when it sees it.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { cleanEnv, startCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTestCertificate } from '../helpers/tls.ts';

const WARNING = /"level":"warn".*"msg":"Node runs with --max-semi-space-size but without --expose-gc/;

async function startupLogs(t: TestContext, nodeOptions: string): Promise<string> {
  const cert = await makeTestCertificate();
  t.after(() => rmSync(cert.dir, { recursive: true, force: true }));
  const port = await freePort();
  const cli = startCli([`--web.listen-address=127.0.0.1:${port}`, '--upstream.url=http://127.0.0.1:9'], {
    env: cleanEnv({
      NODE_OPTIONS: nodeOptions,
      PROMGATE_TLS_CERT_FILE: cert.certFile,
      PROMGATE_TLS_KEY_FILE: cert.keyFile,
      PROMGATE_LOG_FORMAT: 'json',
    }),
  });
  t.after(() => cli.stop());
  await cli.listening;
  return cli.logs();
}

describe('Node flags the CLI starts under', () => {
  it('warns when the young generation is capped without --expose-gc', async (t) => {
    assert.match(await startupLogs(t, '--max-semi-space-size=4'), WARNING);
  });

  it("says nothing with the image's two flags together", async (t) => {
    assert.doesNotMatch(await startupLogs(t, '--max-semi-space-size=4 --expose-gc'), WARNING);
  });

  it("says nothing with Node's defaults", async (t) => {
    assert.doesNotMatch(await startupLogs(t, ''), WARNING);
  });
});
