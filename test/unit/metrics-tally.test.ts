import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import { createDecisionTally, createRequestTally } from '../../middleware/metrics/tally.ts';

const BUCKETS = [0.005, 0.01, 0.5, 5];
const KNOWN_METHODS = new Set(['GET', 'POST']);
const TEXT = {
  requests: { name: 'test_requests_total', help: 'Requests.' },
  duration: { name: 'test_request_duration_seconds', help: 'Durations.' },
  inFlight: { name: 'test_requests_in_flight', help: 'In flight.' },
};
const DECISIONS = { name: 'test_decisions_total', help: 'Decisions.' };

/** Requests as [route, method, status, seconds]; no seconds: refused by the parser, counted only. */
type Answered = [route: string, method: string, status: number, seconds?: number];
const ANSWERED: Answered[] = [
  ['/prometheus', 'GET', 200, 0.002],
  ['/prometheus', 'GET', 200, 0.005], // on a bound: counts in that bucket, as Prometheus's le says
  ['/prometheus', 'POST', 200, 0.3],
  ['/prometheus', 'GET', 401, 0.0001],
  ['', 'GET', 404, 7], // above the highest bound: only in +Inf
  ['/prometheus', 'PROPFIND', 405, 0.01],
  ['', 'BREW', 400], // an unknown method, refused by the parser
];
const DECIDED: [decision: string, rule: string][] = [
  ['allowed', 'preset.read'],
  ['allowed', 'preset.read'],
  ['denied', 'preset.admin'],
  ['limited', 'rate-limit.per-user'],
];

/** The tally, fed the requests above. */
function tallied(registry = new Registry()): Registry {
  const requests = createRequestTally(registry, { ...TEXT, buckets: BUCKETS, knownMethods: KNOWN_METHODS });
  for (const [route, method, status, seconds] of ANSWERED) requests.route(route).answered(method, status, seconds);
  const decide = createDecisionTally(registry, DECISIONS);
  for (const [decision, rule] of DECIDED) decide(decision, rule);
  return registry;
}

/** prom-client's own counter, histogram and gauge, fed the same. */
function promClient(registry = new Registry()): Registry {
  const requests = new Counter({ ...TEXT.requests, labelNames: ['code', 'method', 'route'], registers: [registry] });
  const duration = new Histogram({
    ...TEXT.duration,
    labelNames: ['method', 'route'],
    buckets: BUCKETS,
    registers: [registry],
  });
  new Gauge({ ...TEXT.inFlight, registers: [registry] });
  for (const [route, given, code, seconds] of ANSWERED) {
    const method = KNOWN_METHODS.has(given) ? given : 'other';
    requests.inc({ code, method, route });
    if (seconds !== undefined) duration.observe({ method, route }, seconds);
  }
  const decisions = new Counter({ ...DECISIONS, labelNames: ['decision', 'rule'], registers: [registry] });
  for (const [decision, rule] of DECIDED) decisions.inc({ decision, rule });
  return registry;
}

/** The exposition's lines, HELP and TYPE in place, samples sorted within each metric. */
const blocks = (text: string) =>
  text
    .trim()
    .split('\n\n')
    .map((block) => block.split('\n').sort());

describe('metrics tally', () => {
  it('exposes the same series as prom-client counting the same requests, in both text formats', async () => {
    assert.deepEqual(blocks(await tallied().metrics()), blocks(await promClient().metrics()));
    const [ours, theirs] = [tallied(), promClient()];
    for (const registry of [ours, theirs])
      (registry as unknown as Registry<OpenMetricsContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    assert.deepEqual(
      blocks((await ours.metrics()).replace('# EOF', '')),
      blocks((await theirs.metrics()).replace('# EOF', '')),
    );
  });

  it('adds up across --workers as prom-client does', async () => {
    const aggregate = async (registries: Registry[]) =>
      blocks(
        await AggregatorRegistry.aggregate(
          await Promise.all(registries.map((registry) => registry.getMetricsAsJSON())),
        ).metrics(),
      );
    const summed = await aggregate([tallied(), tallied()]);
    assert.deepEqual(summed, await aggregate([promClient(), promClient()]));
    assert.ok(
      summed.flat().includes('test_requests_total{code="200",method="GET",route="/prometheus"} 4'),
      summed.flat().join('\n'),
    );
  });

  it('counts requests in flight', async () => {
    const registry = new Registry();
    const requests = createRequestTally(registry, { ...TEXT, buckets: BUCKETS, knownMethods: KNOWN_METHODS });
    requests.inFlight += 2;
    assert.match(await registry.metrics(), /^test_requests_in_flight 2$/m);
  });

  it('forgets the counts on reset, as prom-client does', async () => {
    const [ours, theirs] = [tallied(), promClient()];
    ours.resetMetrics();
    theirs.resetMetrics();
    assert.deepEqual(blocks(await ours.metrics()), blocks(await theirs.metrics()));
  });

  it('shares the counts of gateways on one registry', async () => {
    const registry = tallied();
    tallied(registry);
    assert.match(await registry.metrics(), /^test_requests_total\{code="200",method="GET",route="\/prometheus"\} 4$/m);
    assert.match(await registry.metrics(), /^test_decisions_total\{decision="allowed",rule="preset.read"\} 4$/m);
  });

  it('refuses a registry where another owner took a name', () => {
    const registry = new Registry();
    new Counter({ ...TEXT.requests, registers: [registry] });
    assert.throws(() => tallied(registry), /metric test_requests_total is already in the registry, not as promgate's/);
  });
});
