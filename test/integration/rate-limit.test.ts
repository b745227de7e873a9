import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { scrape, sampleValue } from '../helpers/metrics.ts';
import { startUpstream } from '../helpers/upstream.ts';

const users = () =>
  writeHtpasswd([
    { user: 'alice', password: 'alice-pw', flag: '-B' },
    { user: 'bob', password: 'bob-pw', flag: '-B' },
  ]);

async function withGateway(
  options: Parameters<typeof startTestGateway>[0],
  run: (
    gateway: Awaited<ReturnType<typeof startTestGateway>>,
    upstream: Awaited<ReturnType<typeof startUpstream>>,
  ) => Promise<void>,
) {
  const upstream = await startUpstream();
  const gateway = await startTestGateway({
    upstream: upstream.url,
    metrics: { listenAddress: '127.0.0.1:0' },
    ...options,
  });
  try {
    await run(gateway, upstream);
  } finally {
    await gateway.close();
    await upstream.close();
  }
}

describe('rate limits', () => {
  it('limits requests per client address with 429 and Retry-After, before the upstream', async () => {
    await withGateway({ rateLimit: { perClient: { requests: 3, window: '1m' } } }, async (gateway, upstream) => {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await gateway.request('/prometheus/api/v1/query?query=up')).status);
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      assert.equal(upstream.requests.length, 3);
      const limited = await gateway.request('/prometheus/api/v1/query?query=up');
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${limited.headers['retry-after']}`);
      assert.deepEqual(JSON.parse(limited.text), {
        status: 'error',
        errorType: 'too_many_requests',
        error: 'too many requests',
      });
      assert.equal((await gateway.request('/-/promgate/healthy')).status, 200, 'probes are not limited');
      const samples = await scrape(gateway.handle.metricsAddress);
      assert.equal(
        sampleValue(samples, 'promgate_access_decisions_total{decision="limited",rule="rate-limit.per-client"}'),
        3,
      );
    });
  });

  it('takes the client address from X-Forwarded-For only behind a trusted proxy', async () => {
    const limit = { perClient: { requests: 1, window: '1m' } };
    await withGateway({ rateLimit: limit, trustProxy: ['127.0.0.1'] }, async (gateway) => {
      assert.equal(
        (await gateway.request('/prometheus/x', { headers: { 'x-forwarded-for': '203.0.113.1' } })).status,
        200,
      );
      assert.equal(
        (await gateway.request('/prometheus/x', { headers: { 'x-forwarded-for': '203.0.113.2' } })).status,
        200,
        'another client behind the proxy',
      );
      assert.equal(
        (await gateway.request('/prometheus/x', { headers: { 'x-forwarded-for': '203.0.113.1' } })).status,
        429,
      );
      assert.equal(
        (await gateway.request('/prometheus/x', { headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.1' } }))
          .status,
        429,
        'the hop the trusted proxy saw counts, not what the client wrote before it',
      );
    });
    await withGateway({ rateLimit: limit }, async (gateway) => {
      assert.equal(
        (await gateway.request('/prometheus/x', { headers: { 'x-forwarded-for': '203.0.113.1' } })).status,
        200,
      );
      assert.equal(
        (await gateway.request('/prometheus/x', { headers: { 'x-forwarded-for': '203.0.113.2' } })).status,
        429,
        'an untrusted peer cannot pick its address',
      );
    });
  });

  it('limits requests per authenticated user, whatever the address', async () => {
    await withGateway(
      { auth: { htpasswdFile: users() }, rateLimit: { perUser: { requests: 2, window: '1m' } } },
      async (gateway) => {
        const alice = { authorization: basicAuth('alice', 'alice-pw') };
        assert.deepEqual(
          [
            await gateway.request('/prometheus/x', { headers: alice }),
            await gateway.request('/prometheus/x', { headers: alice }),
            await gateway.request('/prometheus/x', { headers: alice }),
          ].map((r) => r.status),
          [200, 200, 429],
        );
        assert.equal(
          (await gateway.request('/prometheus/x', { headers: { authorization: basicAuth('bob', 'bob-pw') } })).status,
          200,
          'bob has his own budget',
        );
      },
    );
  });
});

describe('failed-login throttling', () => {
  it('stops checking passwords from an address after too many failures', async () => {
    await withGateway(
      {
        auth: { htpasswdFile: users() },
        rateLimit: { failedAuthPerClient: { requests: 3, window: '1m' }, failedAuthPerUser: { requests: 0 } },
      },
      async (gateway) => {
        const statuses = [];
        for (const user of ['alice', 'bob', 'carol', 'dave', 'erin'])
          statuses.push(
            (await gateway.request('/prometheus/x', { headers: { authorization: basicAuth(user, 'guess') } })).status,
          );
        assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
        const right = await gateway.request('/prometheus/x', {
          headers: { authorization: basicAuth('bob', 'bob-pw') },
        });
        assert.equal(right.status, 429, 'not even a right password is checked from that address now');
        assert.ok(Number(right.headers['retry-after']) > 0);
        assert.equal(
          (await gateway.request('/prometheus/x')).status,
          401,
          'no credentials: nothing guessed, not throttled',
        );
      },
    );
  });

  it('counts only failures: a user who logs in right is never throttled', async () => {
    await withGateway(
      { auth: { htpasswdFile: users() }, rateLimit: { failedAuthPerClient: { requests: 2, window: '1m' } } },
      async (gateway) => {
        for (let i = 0; i < 6; i++)
          assert.equal(
            (await gateway.request('/prometheus/x', { headers: { authorization: basicAuth('alice', 'alice-pw') } }))
              .status,
            200,
          );
      },
    );
  });

  it("lets a burst of one user's requests through while their first password check runs (found by the bench)", async () => {
    // A dashboard opening 30 panels right after a restart: nothing is known good yet, and each
    // request used to count as an attempt until its check ended, so the 11th got 429 for 5 minutes.
    await withGateway(
      {
        auth: { htpasswdFile: users() },
        rateLimit: {
          failedAuthPerClient: { requests: 5, window: '5m' },
          failedAuthPerUser: { requests: 3, window: '5m' },
        },
      },
      async (gateway) => {
        const statuses = await Promise.all(
          Array.from({ length: 30 }, () =>
            gateway
              .request('/prometheus/x', { headers: { authorization: basicAuth('alice', 'alice-pw') } })
              .then((response) => response.status),
          ),
        );
        assert.deepEqual(statuses, Array(30).fill(200));
        const guesses = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            gateway
              .request('/prometheus/x', { headers: { authorization: basicAuth('alice', `guess-${i}`) } })
              .then((response) => response.status),
          ),
        );
        assert.deepEqual(
          guesses.toSorted(),
          [401, 401, 401, 429, 429, 429, 429, 429],
          'different guesses still count, each',
        );
      },
    );
  });

  it('throttles guesses at one user name, but not that user where they are already logged in', async () => {
    await withGateway(
      {
        auth: { htpasswdFile: users() },
        rateLimit: { failedAuthPerClient: { requests: 0 }, failedAuthPerUser: { requests: 3, window: '1m' } },
      },
      async (gateway, upstream) => {
        // The real alice logs in first (her password is now known good).
        assert.equal(
          (await gateway.request('/prometheus/x', { headers: { authorization: basicAuth('alice', 'alice-pw') } }))
            .status,
          200,
        );
        const statuses = [];
        for (let i = 0; i < 5; i++)
          statuses.push(
            (await gateway.request('/prometheus/x', { headers: { authorization: basicAuth('alice', `guess-${i}`) } }))
              .status,
          );
        assert.deepEqual(statuses, [401, 401, 401, 429, 429], 'the attacker is throttled');
        assert.equal(
          (await gateway.request('/prometheus/x', { headers: { authorization: basicAuth('alice', 'alice-pw') } }))
            .status,
          200,
          'alice is not locked out',
        );
        assert.equal(
          (await gateway.request('/prometheus/x', { headers: { authorization: basicAuth('bob', 'guess') } })).status,
          401,
          'other users are not affected',
        );
        assert.equal(upstream.requests.length, 2);
      },
    );
  });

  it('lets the lock end with its window', async (t) => {
    await withGateway(
      { auth: { htpasswdFile: users() }, rateLimit: { failedAuthPerClient: { requests: 1, window: '1s' } } },
      async (gateway) => {
        // The memory store reads its windows from Date: the test moves that clock instead of waiting.
        t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
        assert.equal(
          (await gateway.request('/prometheus/x', { headers: { authorization: basicAuth('bob', 'guess') } })).status,
          401,
        );
        assert.equal(
          (await gateway.request('/prometheus/x', { headers: { authorization: basicAuth('bob', 'bob-pw') } })).status,
          429,
        );
        t.mock.timers.tick(1100);
        assert.equal(
          (await gateway.request('/prometheus/x', { headers: { authorization: basicAuth('bob', 'bob-pw') } })).status,
          200,
        );
      },
    );
  });
});
