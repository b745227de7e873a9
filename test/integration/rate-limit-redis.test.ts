// Per-client limits shared through a real redis-server by several gateway processes (replicas),
// and what happens while Redis is away: fail open (the default) or fail closed.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { cleanEnv, startCli, type RunningCli } from '../helpers/cli.ts';
import { httpsRequest, type ClientResponse } from '../helpers/client.ts';
import { scrape, sampleValue } from '../helpers/metrics.ts';
import { freePort } from '../helpers/ports.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

const QUERY = '/prometheus/api/v1/query?query=up';
const LIMITED = 'promgate_access_decisions_total{decision="limited",rule="rate-limit.per-client"}';
const STORE_ERRORS = 'promgate_rate_limit_store_errors_total';
/** Start-up of a CLI process (type stripping included), and a reconnect (backoff up to 2 s). */
const WAIT_MS = 15_000;

interface CliGateway {
  cli: RunningCli;
  metrics: AddressInfo;
  request(path?: string): Promise<ClientResponse>;
  /** The JSON log lines so far. */
  logLines(): LogLine[];
  /** Resolves once the log has `count` lines with this message; fails after WAIT_MS with the log. */
  logged(msg: string, count?: number): Promise<void>;
}

interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A promgate process as users run it: its own certificate and ports, settings from the environment. */
async function startGateway(
  t: TestContext,
  upstream: RecordingUpstream,
  settings: Record<string, string>,
): Promise<CliGateway> {
  const cert = await makeTestCertificate();
  t.after(() => rmSync(cert.dir, { recursive: true, force: true }));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const cli = startCli([`--web.listen-address=127.0.0.1:${port}`, `--upstream.url=${upstream.url}`], {
    env: cleanEnv({
      PROMGATE_TLS_CERT_FILE: cert.certFile,
      PROMGATE_TLS_KEY_FILE: cert.keyFile,
      PROMGATE_METRICS_LISTEN_ADDRESS: `127.0.0.1:${metricsPort}`,
      PROMGATE_LOG_FORMAT: 'json',
      PROMGATE_RATE_LIMIT_PER_CLIENT_WINDOW: '1m',
      ...settings,
    }),
  });
  t.after(() => cli.stop());
  await within(cli.listening, `the gateway on port ${port} to listen`, cli);

  const logLines = () =>
    cli
      .logs()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  const count = (msg: string) => logLines().filter((line) => line.msg === msg).length;
  return {
    cli,
    metrics: { address: '127.0.0.1', family: 'IPv4', port: metricsPort },
    request: (path = QUERY) => httpsRequest(`https://127.0.0.1:${port}`, path, { ca: cert.cert }),
    logLines,
    logged(msg, times = 1) {
      const seen = new Promise<void>((resolve) => {
        const check = () => {
          if (count(msg) < times) return;
          cli.child.stderr?.off('data', check);
          resolve();
        };
        cli.child.stderr?.on('data', check);
        check();
      });
      return within(seen, `${times} log line(s) "${msg}"`, cli);
    },
  };
}

async function within<T>(promise: Promise<T>, what: string, cli: RunningCli): Promise<T> {
  const timeout = delay(WAIT_MS, 'timeout' as const, { ref: false });
  const result = await Promise.race([promise, timeout]);
  if (result === 'timeout') throw new Error(`no ${what} within ${WAIT_MS} ms; log:\n${cli.logs()}`);
  return result as T;
}

/** One request after another, taking turns between the gateways; their statuses in order. */
async function alternate(gateways: CliGateway[], requests: number): Promise<ClientResponse[]> {
  const answers: ClientResponse[] = [];
  for (let i = 0; i < requests; i++) answers.push(await gateways[i % gateways.length]!.request());
  return answers;
}

const statuses = (answers: ClientResponse[]) => answers.map((answer) => answer.status);

function assertLimited(answer: ClientResponse): void {
  assert.equal(answer.status, 429);
  const retryAfter = Number(answer.headers['retry-after']);
  assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After: ${answer.headers['retry-after']}`);
  assert.deepEqual(JSON.parse(answer.text), {
    status: 'error',
    errorType: 'too_many_requests',
    error: 'too many requests',
  });
}

async function useRedis(t: TestContext): Promise<TestRedis> {
  const redis = await startRedis();
  t.after(() => redis.close());
  return redis;
}

async function useUpstream(t: TestContext): Promise<RecordingUpstream> {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  return upstream;
}

const CONNECTED = 'connected to Redis for rate limits';

describe('per-client limits shared through Redis', { skip: requireCommands('redis-server'), concurrency: true }, () => {
  it('makes two gateway processes share one limit: the 7th request is refused by either', async (t) => {
    const [redis, upstream] = await Promise.all([useRedis(t), useUpstream(t)]);
    const settings = { PROMGATE_RATE_LIMIT_REDIS_URL: redis.url, PROMGATE_RATE_LIMIT_PER_CLIENT_REQUESTS: '6' };
    const gateways = await Promise.all([startGateway(t, upstream, settings), startGateway(t, upstream, settings)]);
    await Promise.all(gateways.map((gateway) => gateway.logged(CONNECTED)));

    const answers = await alternate(gateways, 8);
    assert.deepEqual(statuses(answers), [200, 200, 200, 200, 200, 200, 429, 429]);
    assertLimited(answers[6]!); // from the first gateway
    assertLimited(answers[7]!); // from the second
    assert.equal(upstream.requests.length, 6, 'refused requests never reach the upstream');
    assert.deepEqual(
      await redis.command(['KEYS', '*']),
      ['promgate:per-client:127.0.0.1'],
      '<prefix><limit>:<client address>',
    );
    assert.equal(
      await redis.command(['GET', 'promgate:per-client:127.0.0.1']),
      '8',
      'both processes count in the one key',
    );
    for (const gateway of gateways) assert.equal(sampleValue(await scrape(gateway.metrics), LIMITED), 1);
  });

  it('counts per process without Redis (so the test above measures sharing)', async (t) => {
    const upstream = await useUpstream(t);
    const settings = { PROMGATE_RATE_LIMIT_PER_CLIENT_REQUESTS: '6' };
    const gateways = await Promise.all([startGateway(t, upstream, settings), startGateway(t, upstream, settings)]);

    assert.deepEqual(statuses(await alternate(gateways, 12)), Array(12).fill(200), 'each process allows 6');
    assert.deepEqual(statuses(await alternate(gateways, 2)), [429, 429]);
    assert.equal(upstream.requests.length, 12);
  });

  it('lets requests through while Redis is down (fail open), logs and counts it, and limits again once Redis is back', async (t) => {
    const [redis, upstream] = await Promise.all([useRedis(t), useUpstream(t)]);
    const gateway = await startGateway(t, upstream, {
      PROMGATE_RATE_LIMIT_REDIS_URL: redis.url,
      PROMGATE_RATE_LIMIT_PER_CLIENT_REQUESTS: '3',
    });
    await gateway.logged(CONNECTED);
    assert.equal((await gateway.request()).status, 200);

    await redis.stop();
    assert.deepEqual(
      statuses(await alternate([gateway], 5)),
      [200, 200, 200, 200, 200],
      'more than the limit, as nothing counts',
    );
    assert.equal(upstream.requests.length, 6);
    assert.equal(sampleValue(await scrape(gateway.metrics), STORE_ERRORS), 5, 'one store error per uncounted request');
    const errors = gateway.logLines().filter((line) => line.level === 'error');
    assert.ok(
      errors.some((line) => line.limit === 'rate-limit.per-client' && /store/.test(line.msg)),
      `an error line from the per-client limit's store; errors logged: ${JSON.stringify(errors)}`,
    );
    assert.ok(
      errors.some((line) => /Redis/.test(line.msg)),
      `an error line about Redis; errors logged: ${JSON.stringify(errors)}`,
    );

    await redis.start(); // empty: no persistence
    await gateway.logged(CONNECTED, 2);
    assert.deepEqual(
      statuses(await alternate([gateway], 4)),
      [200, 200, 200, 429],
      'counted from scratch in the new Redis',
    );
  });

  it('refuses requests with 503 while Redis is down when fail-open is off, and serves again once it is back', async (t) => {
    const [redis, upstream] = await Promise.all([useRedis(t), useUpstream(t)]);
    const gateway = await startGateway(t, upstream, {
      PROMGATE_RATE_LIMIT_REDIS_URL: redis.url,
      PROMGATE_RATE_LIMIT_REDIS_FAIL_OPEN: 'false',
      PROMGATE_RATE_LIMIT_PER_CLIENT_REQUESTS: '100',
    });
    await gateway.logged(CONNECTED);
    assert.equal((await gateway.request()).status, 200);

    await redis.stop();
    const refused = await alternate([gateway], 3);
    assert.deepEqual(statuses(refused), [503, 503, 503]);
    assert.deepEqual(JSON.parse(refused[0]!.text), {
      status: 'error',
      errorType: 'unavailable',
      error: 'rate limit store unavailable',
    });
    assert.equal((await gateway.request('/prometheus/graph')).status, 503, 'outside the API too');
    assert.equal(upstream.requests.length, 1, 'nothing reached the upstream while Redis was down');
    // The metric's help: "the request passed or got 503 as rateLimit.redis.failOpen says".
    assert.equal(
      sampleValue(await scrape(gateway.metrics), STORE_ERRORS),
      4,
      'each refused request counts as a store error',
    );

    await redis.start();
    await gateway.logged(CONNECTED, 2);
    assert.deepEqual(statuses(await alternate([gateway], 2)), [200, 200]);
    assert.equal(upstream.requests.length, 3);
  });

  it('serves gateways started while Redis is down, and shares their limit once Redis is up', async (t) => {
    const [redis, upstream] = await Promise.all([useRedis(t), useUpstream(t)]);
    await redis.stop();
    const settings = { PROMGATE_RATE_LIMIT_REDIS_URL: redis.url, PROMGATE_RATE_LIMIT_PER_CLIENT_REQUESTS: '3' };
    const gateways = await Promise.all([startGateway(t, upstream, settings), startGateway(t, upstream, settings)]);
    assert.deepEqual(statuses(await alternate(gateways, 4)), [200, 200, 200, 200], 'fail open: nothing counts yet');

    await redis.start();
    await Promise.all(gateways.map((gateway) => gateway.logged(CONNECTED)));
    const answers = await alternate(gateways, 5);
    assert.deepEqual(statuses(answers), [200, 200, 200, 429, 429], 'the scripts were loaded once Redis came up');
    assert.equal(upstream.requests.length, 7);
  });
});
