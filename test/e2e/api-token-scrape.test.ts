// API tokens as scrapers use them: a real Prometheus scrapes through the gateway with
// `authorization: { type: Bearer, credentials_file }`; a token that is not in the tokens file is
// refused, and deleting a token's line stops the scrapes that use it without a restart.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateToken, tokenDigest } from '../../middleware/api-tokens/token.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { PROMETHEUS_BINARY, startPrometheusWithConfig, type ConfiguredPrometheus } from '../helpers/prometheus.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

const KEPT_JOB = 'kept-token';
const REVOKED_JOB = 'revoked-token';
const UNKNOWN_JOB = 'unknown-token';

describe('a real Prometheus scrapes through the gateway with an API token', {
  skip: requireCommands(PROMETHEUS_BINARY),
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'promgate-token-scrape-'));
  const tokensFile = join(dir, 'tokens');
  const tokens = { kept: generateToken(), revoked: generateToken(), unknown: generateToken() };
  const line = (name: string, token: string) => `${name} sha256:${tokenDigest(token)} groups=scrapers\n`;
  let upstream: RecordingUpstream | undefined;
  let gateway: TestGateway | undefined;
  let scraper: ConfiguredPrometheus | undefined;

  before(async () => {
    writeFileSync(tokensFile, line('kept', tokens.kept) + line('revoked', tokens.revoked));
    upstream = await startUpstream((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('demo_value 42\n'),
    );
    gateway = await startTestGateway({ upstream: upstream.url, auth: { tokensFile } });
    const job = (name: string, token: string) => {
      const credentials = join(dir, `${name}.token`);
      writeFileSync(credentials, `${token}\n`); // Prometheus trims the trailing newline
      return [
        `  - job_name: ${name}`,
        '    scheme: https',
        '    metrics_path: /prometheus/metrics',
        '    tls_config:',
        `      ca_file: ${gateway!.cert.certFile}`,
        '      server_name: localhost',
        '    authorization:',
        '      type: Bearer',
        `      credentials_file: ${credentials}`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${gateway!.handle.address.port}']`,
      ];
    };
    scraper = await startPrometheusWithConfig(
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        ...job(KEPT_JOB, tokens.kept),
        ...job(REVOKED_JOB, tokens.revoked),
        ...job(UNKNOWN_JOB, tokens.unknown),
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await Promise.allSettled([scraper?.stop(), gateway?.close(), upstream?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const health = async (job: string) => (await scraper!.targets()).find((target) => target.job === job);

  test('scrapes with a known token; the upstream never sees it', async () => {
    await scraper!.waitFor('scraped with the kept token', async () => (await health(KEPT_JOB))?.health === 'up');
    const samples = await scraper!.query(`demo_value{job="${KEPT_JOB}"}`);
    assert.equal(samples?.[0]?.value[1], '42');
    assert.ok(upstream!.requests.length > 0);
    for (const request of upstream!.requests) {
      assert.equal(request.headers.authorization, undefined);
      for (const token of Object.values(tokens)) assert.ok(!request.rawHeaders.join('\n').includes(token));
    }
  });

  test('a token the file does not hold gets 401', async () => {
    await scraper!.waitFor('refused the unknown token', async () =>
      /401/.test((await health(UNKNOWN_JOB))?.lastError ?? ''),
    );
    assert.equal((await health(UNKNOWN_JOB))?.health, 'down');
  });

  test('deleting a token line stops its scrapes without a restart, and only those', async () => {
    await scraper!.waitFor(
      'scraped with the token about to be revoked',
      async () => (await health(REVOKED_JOB))?.health === 'up',
    );
    writeFileSync(`${tokensFile}.new`, line('kept', tokens.kept));
    renameSync(`${tokensFile}.new`, tokensFile);
    await scraper!.waitFor('refused the revoked token', async () =>
      /401/.test((await health(REVOKED_JOB))?.lastError ?? ''),
    );
    await scraper!.waitFor('still scraping with the kept token', async () => {
      const kept = await health(KEPT_JOB);
      return kept?.health === 'up' && kept.lastError === '';
    });
  });
});
