import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { httpsRequest } from '../helpers/client.ts';
import { cleanEnv, runCli, startCli } from '../helpers/cli.ts';
import { parseMetrics, sampleValue } from '../helpers/metrics.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

describe('--workers (node:cluster)', () => {
  it('serves from every worker, adds their metrics up in the primary, and stops them all on SIGTERM', async () => {
    const cert = await makeTestCertificate();
    const upstream = await startUpstream();
    const [port, metricsPort] = [await freePort(), await freePort()];
    const cli = startCli(
      [
        '--workers=2',
        `--web.listen-address=127.0.0.1:${port}`,
        `--metrics.listen-address=127.0.0.1:${metricsPort}`,
        `--upstream.url=${upstream.url}`,
      ],
      {
        env: cleanEnv({ PROMGATE_TLS_CERT_FILE: cert.certFile, PROMGATE_TLS_KEY_FILE: cert.keyFile }),
      },
    );
    try {
      const listening = () => (cli.logs().match(/"msg":"promgate listening"/g) ?? []).length;
      await waitFor(() => listening() >= 2, {
        timeoutMs: 10_000,
        message: () => `both workers listening; logs:\n${cli.logs()}`,
      });
      assert.equal((cli.logs().match(/"msg":"promgate listening"/g) ?? []).length, 2, cli.logs());
      // A new connection per request: the kernel hands connections to either worker.
      const workersSeen = new Set<number>();
      let sent = 0;
      while (workersSeen.size < 2 && sent < 200) {
        const response = await httpsRequest(`https://127.0.0.1:${port}`, '/prometheus/api/v1/query?query=up', {
          ca: cert.cert,
        });
        assert.equal(response.status, 200);
        sent++;
        // Access lines are written a buffer at a time: which worker answered is known once the line is in.
        await waitFor(() => (cli.logs().match(/"msg":"request"/g) ?? []).length >= sent, {
          message: `the access line of request ${sent}`,
        });
        for (const line of cli.logs().split('\n')) {
          if (line.includes('"msg":"request"')) workersSeen.add((JSON.parse(line) as { worker: number }).worker);
        }
      }
      assert.deepEqual([...workersSeen].sort(), [1, 2], `both workers answered within ${sent} requests`);
      const samples = parseMetrics(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
      assert.equal(
        sampleValue(samples, 'promgate_http_requests_total{code="200",method="GET",route="/prometheus"}'),
        sent,
        'the primary adds up both workers',
      );
      assert.equal(
        sampleValue(samples, 'promgate_tls_certificate_expiry_timestamp_seconds'),
        Date.parse(new X509Certificate(cert.cert).validTo) / 1000,
        'a state, not a sum',
      );
      assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/-/promgate/ready`)).status, 200);
      assert.equal(await cli.stop('SIGTERM'), 0);
      assert.equal((cli.logs().match(/"msg":"shutting down"/g) ?? []).length, 3, 'the primary and both workers');
    } finally {
      await cli.stop('SIGKILL');
      await upstream.close();
    }
  });

  it('stops at once on a setup error a worker would hit, instead of restarting workers in a loop', async () => {
    const cert = await makeTestCertificate();
    const started = Date.now();
    const result = await runCli(
      ['--workers=2', `--web.listen-address=127.0.0.1:${await freePort()}`, '--upstream.url=http://127.0.0.1:9'],
      {
        env: cleanEnv({
          PROMGATE_TLS_CERT_FILE: cert.certFile,
          PROMGATE_TLS_KEY_FILE: cert.keyFile,
          PROMGATE_ACCESS_CONTROL_DEFAULT_ROLE: 'nobody',
        }),
      },
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /accessControl\.defaultRole: unknown role "nobody"/);
    assert.ok(Date.now() - started < 10_000);
  });
});
