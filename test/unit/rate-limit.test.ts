import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Request, Response } from 'express';
import { createRateLimitStage } from '../../middleware/rate-limit/index.ts';

function harness(burst: number, intervalMs: number) {
  let clock = 0;
  const stage = createRateLimitStage({ burst, intervalMs, now: () => clock });
  const attempt = () => {
    let status = 0;
    let retryAfter: string | undefined;
    const res = {
      writeHead: (code: number, headers: Record<string, string>) => (
        (status = code), (retryAfter = headers['retry-after'])
      ),
      end: () => undefined,
    } as unknown as Response;
    stage({} as Request, res, () => (status = 200));
    return { status, retryAfter };
  };
  return { attempt, advance: (ms: number) => (clock += ms) };
}

describe('rate_limit token bucket (Go rate.Limiter semantics)', () => {
  it('lets a burst through, then one request per interval', () => {
    const { attempt, advance } = harness(3, 1000);
    assert.deepEqual(
      [attempt(), attempt(), attempt()].map((r) => r.status),
      [200, 200, 200],
    );
    assert.deepEqual(attempt(), { status: 429, retryAfter: '1' });
    advance(999);
    assert.equal(attempt().status, 429);
    advance(1);
    assert.equal(attempt().status, 200);
    advance(10_000);
    assert.deepEqual(
      [attempt(), attempt(), attempt(), attempt()].map((r) => r.status),
      [200, 200, 200, 429],
      'the bucket holds at most burst',
    );
  });

  it('refuses everything with burst 0, as Go does', () => {
    const { attempt, advance } = harness(0, 10);
    advance(1000);
    assert.equal(attempt().status, 429);
  });
});
