// bench/compare.ts's results: medians per scenario and variant, one table, ratios, the issue's
// targets checked against them, and every server's memory footprint.
import { describeErrors, median, type WrkResult } from './lib.ts';
import type { Scenario, Variant } from './scenarios.ts';

export interface RunRecord {
  scenario: string;
  variant: string;
  round: number;
  wrk: WrkResult;
  /** Downloaded MB/s (wrk's count), or uploaded MB/s for upload scenarios; MB = 2^20 bytes. */
  megabytesPerSecond: number;
  /** CPU the server's processes used during the run, in % of one core. */
  cpuPercent: number;
  /** Busy time of the server core beyond the server's own (softirqs, other processes), % of the run; NaN unpinned. */
  otherOnServerCorePercent: number;
  /** Busy time of the load core (wrk and the upstreams), % of the run; NaN unpinned. Near 100%, the load side queues too. */
  loadCorePercent: number;
  /** coreSpeed() of the server core just before the run, relative to the first probe of the bench run (1 = as fast). */
  machineSpeed: number;
  /** Peak RSS of the server's processes during the run (summed when there are several). */
  peakRssMb: number;
  /** Their RSS just before the run. */
  rssBeforeMb: number;
  /** False when the kernel would not reset the peak: then it is the peak since start. */
  peakReset: boolean;
}

export interface Row {
  scenario: string;
  variant: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  megabytesPerSecond: number;
  cpuPercent: number;
  otherOnServerCorePercent: number;
  loadCorePercent: number;
  /** The highest of the rounds. */
  peakRssMb: number;
  rssBeforeMb: number;
  /** Headline number per second of server CPU: what one core would do if the server were the bottleneck. */
  perCore: number;
  errors: number;
  errorDetails: string[];
  /** The headline number of each round, in order. */
  runs: number[];
}

export interface TargetCheck {
  name: string;
  value: string;
  target: string;
  /** undefined: could not be measured (variant missing). */
  met: boolean | undefined;
  /** Errors in the runs behind it make the number meaningless. */
  errors: boolean;
}

/** One server's memory: RSS right after start, and its peaks under two loads (MB; undefined: not run). */
export interface FootprintRow {
  variant: string;
  label: string;
  idleRssMb: number | undefined;
  /** The highest peak over the small-API rounds. */
  smallApiPeakMb: number | undefined;
  /** The peak of the memory scenario (promgate: its fresh processes). */
  largeDownloadsPeakMb: number | undefined;
}

/** Memory targets for promgate's full chain as a sidecar, in MB. */
export const FOOTPRINT_TARGETS = { idle: 80, smallApi: 110, largeDownloads: 130 };

export function summarize(scenarios: Scenario[], records: RunRecord[]): Row[] {
  return scenarios.flatMap((scenario) =>
    scenario.variants.map((variant) => {
      const runs = records.filter((record) => record.scenario === scenario.id && record.variant === variant);
      const of = (pick: (record: RunRecord) => number) => median(runs.map(pick));
      return {
        scenario: scenario.id,
        variant,
        requestsPerSecond: of((run) => run.wrk.requestsPerSecond),
        p50Ms: of((run) => run.wrk.p50Ms),
        p99Ms: of((run) => run.wrk.p99Ms),
        megabytesPerSecond: of((run) => run.megabytesPerSecond),
        cpuPercent: of((run) => run.cpuPercent),
        otherOnServerCorePercent: of((run) => run.otherOnServerCorePercent),
        loadCorePercent: of((run) => run.loadCorePercent),
        peakRssMb: Math.max(...runs.map((run) => run.peakRssMb)),
        rssBeforeMb: of((run) => run.rssBeforeMb),
        perCore: of(
          (run) =>
            ((scenario.headline === 'rps' ? run.wrk.requestsPerSecond : run.megabytesPerSecond) * 100) / run.cpuPercent,
        ),
        errors: runs.reduce((sum, run) => sum + run.wrk.errors, 0),
        errorDetails: runs
          .filter((run) => run.wrk.errors > 0)
          .map((run) => `round ${run.round + 1}: ${describeErrors(run.wrk)}`),
        runs: runs.map((run) => (scenario.headline === 'rps' ? run.wrk.requestsPerSecond : run.megabytesPerSecond)),
      };
    }),
  );
}

export function printReport(
  scenarios: Scenario[],
  variants: Variant[],
  rows: Row[],
  parameters: Record<string, unknown>,
  notes: string[],
): { targets: TargetCheck[]; footprint: { rows: FootprintRow[]; targets: TargetCheck[] } } {
  const label = (id: string) => variants.find((variant) => variant.id === id)?.label ?? id;
  const row = (scenario: string, variant: string) =>
    rows.find((candidate) => candidate.scenario === scenario && candidate.variant === variant);
  const headline = (scenario: Scenario, of: Row | undefined) =>
    of ? (scenario.headline === 'rps' ? of.requestsPerSecond : of.megabytesPerSecond) : Number.NaN;
  const ratio = (scenario: Scenario, of: Row, to: string) => {
    const reference = row(scenario.id, to) ?? row(scenario.id, `${to}-fresh`);
    if (!reference || reference === of) return '';
    return headline(scenario, reference) > 0
      ? `${(headline(scenario, of) / headline(scenario, reference)).toFixed(2)}x`
      : 'n/a (0)';
  };

  console.log(
    `\nMedians of ${parameters.rounds} alternating rounds of ${parameters.seconds} s (small-response scenarios: ${parameters.smallRounds} rounds; auth: ${parameters.authSeconds} s; memory: ${parameters.memoryRounds} x ${parameters.memorySeconds} s), wrk keep-alive over TLS;`,
  );
  console.log(
    parameters.pinned
      ? `servers pinned to core ${parameters.serverCore}, wrk and the upstreams to core ${parameters.loadCore}.`
      : 'nothing pinned.',
  );
  console.log(
    'MB/s: response bytes (upload: request bodies), MB = 2^20 bytes. CPU: the server processes, % of one core; under ~90% the load side,',
  );
  console.log(
    'not the server, was the limit. per core: req/s (MB/s for MB/s scenarios) / CPU. RSS: before the run -> highest VmHWM over the rounds.',
  );
  console.log(
    'x columns: req/s (MB/s for MB/s scenarios) relative to that variant in the same scenario. runs: the same number, round by round.\n',
  );
  console.log(
    '| scenario | variant | req/s | p50 ms | p99 ms | MB/s | CPU | per core | RSS MB | x nginx recipe | x promgate no auth | errors | runs |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const scenario of scenarios) {
    for (const variant of scenario.variants) {
      const of = row(scenario.id, variant)!;
      const runs = of.runs
        .map((value) => (scenario.headline === 'rps' ? Math.round(value) : value.toFixed(0)))
        .join(', ');
      console.log(
        `| ${scenario.id} | ${label(variant)} | ${fixed(of.requestsPerSecond, 1)} | ${fixed(of.p50Ms, 2)} | ${fixed(of.p99Ms, 2)} | ${fixed(of.megabytesPerSecond, 1)} | ${Math.round(of.cpuPercent)}% | ${fixed(of.perCore, 0)} | ${of.rssBeforeMb.toFixed(0)} -> ${of.peakRssMb.toFixed(0)} | ${ratio(scenario, of, 'nginx')} | ${ratio(scenario, of, 'promgate')} | ${of.errors ? `**${of.errors}**` : '0'} | ${runs} |`,
      );
    }
  }
  const failing = rows.filter((candidate) => candidate.errors > 0);
  if (failing.length) {
    console.log('\nERRORS (those numbers do not count):');
    for (const bad of failing) console.log(`  ${bad.scenario}, ${label(bad.variant)}: ${bad.errorDetails.join('; ')}`);
  }

  const noisy = rows.filter((candidate) => candidate.otherOnServerCorePercent > 15);
  if (noisy.length) {
    console.log('\nThe server core was busy with other work too (softirqs or another process), median % of the run:');
    for (const busy of noisy)
      console.log(`  ${busy.scenario}, ${label(busy.variant)}: ${Math.round(busy.otherOnServerCorePercent)}%`);
  }

  const checks = targetChecks(row);
  console.log('\nIssue targets:');
  for (const check of checks) {
    const verdict = check.met === undefined ? 'not measured' : check.met ? 'met' : 'MISSED';
    console.log(
      `  ${check.name}: ${check.value} (target ${check.target}) ${verdict}${check.errors ? ' -- ERRORS in these runs' : ''}`,
    );
  }
  const footprint = printFootprint(variants, row);
  console.log('\nPer server core (the server-bound view, for when the load side capped a variant):');
  for (const scenario of scenarios) {
    const [gateway, nginx] = [row(scenario.id, 'promgate-auth'), row(scenario.id, 'nginx')];
    if (gateway && nginx) {
      console.log(
        `  ${scenario.id}: promgate full chain / nginx recipe ${(gateway.perCore / nginx.perCore).toFixed(2)}x (CPU used: ${Math.round(gateway.cpuPercent)}% vs ${Math.round(nginx.cpuPercent)}%)`,
      );
    }
  }
  if (notes.length) console.log(`\nNotes:\n${notes.map((note) => `  - ${note}`).join('\n')}`);
  return { targets: checks, footprint };
}

/** Every server's RSS idle, under the small-API load and under 64 large downloads, and promgate's memory targets. */
function printFootprint(
  variants: Variant[],
  row: (scenario: string, variant: string) => Row | undefined,
): { rows: FootprintRow[]; targets: TargetCheck[] } {
  // The fresh processes are their variant's memory-scenario stand-ins; the unpinned ones measure scaling.
  const servers = variants.filter(
    (variant) => variant.idleRssMb !== undefined && !variant.id.endsWith('-fresh') && !variant.id.endsWith('-unpinned'),
  );
  const rows = servers.map((variant) => ({
    variant: variant.id,
    label: variant.label,
    idleRssMb: variant.idleRssMb,
    smallApiPeakMb: row('small-api', variant.id)?.peakRssMb,
    largeDownloadsPeakMb: (row('memory', variant.id) ?? row('memory', `${variant.id}-fresh`))?.peakRssMb,
  }));
  const mb = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(0));
  console.log(
    '\nMemory footprint, RSS in MB (processes summed): idle = right after start, once it answered its first health check;',
  );
  console.log(
    'small-API load = highest peak over the small-API rounds; 64 x 10 MiB = peak of the memory scenario (promgate: fresh processes). -: not in that scenario.\n',
  );
  console.log('| server | idle | small-API load peak | 64 x 10 MiB downloads peak |');
  console.log('|---|---|---|---|');
  for (const of of rows)
    console.log(`| ${of.label} | ${mb(of.idleRssMb)} | ${mb(of.smallApiPeakMb)} | ${mb(of.largeDownloadsPeakMb)} |`);
  const upstream = row('small-api', 'upstream');
  if (upstream && rows.some((of) => of.variant === 'prometheus-tls')) {
    console.log(
      `Prometheus's own TLS is a whole Prometheus (TSDB, scrapes): the upstream Prometheus held ${upstream.peakRssMb.toFixed(0)} MB under the same load without TLS.`,
    );
  }

  const full = rows.find((of) => of.variant === 'promgate-auth');
  const errors = (scenario: string, variant: string) => (row(scenario, variant)?.errors ?? 0) > 0;
  const check = (name: string, value: number | undefined, target: number, hadErrors: boolean): TargetCheck => ({
    name,
    value: value === undefined ? 'n/a' : `${value.toFixed(0)} MB`,
    target: `<= ${target} MB`,
    met: value === undefined ? undefined : value <= target,
    errors: hadErrors,
  });
  const targets = [
    check('idle RSS, promgate full chain', full?.idleRssMb, FOOTPRINT_TARGETS.idle, false),
    check(
      'small-API load peak RSS, promgate full chain',
      full?.smallApiPeakMb,
      FOOTPRINT_TARGETS.smallApi,
      errors('small-api', 'promgate-auth'),
    ),
    check(
      '64 x 10 MiB downloads peak RSS, promgate full chain (fresh process)',
      full?.largeDownloadsPeakMb,
      FOOTPRINT_TARGETS.largeDownloads,
      errors('memory', 'promgate-auth-fresh'),
    ),
  ];
  console.log('\nMemory targets for promgate as a sidecar:');
  for (const target of targets) {
    const verdict = target.met === undefined ? 'not measured' : target.met ? 'met' : 'not met';
    console.log(
      `  ${target.name}: ${target.value} (target ${target.target}) ${verdict}${target.errors ? ' -- ERRORS in these runs' : ''}`,
    );
  }
  return { rows, targets };
}

function targetChecks(row: (scenario: string, variant: string) => Row | undefined): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const compare = (
    name: string,
    scenario: string,
    a: string,
    b: string,
    pick: (of: Row) => number,
    target: number,
    higherIsBetter = true,
  ) => {
    const [left, right] = [row(scenario, a), row(scenario, b)];
    if (!left || !right)
      return checks.push({
        name,
        value: 'n/a',
        target: `${higherIsBetter ? '>=' : '<='} ${target}x`,
        met: undefined,
        errors: false,
      });
    const value = pick(left) / pick(right);
    checks.push({
      name,
      value: Number.isFinite(value)
        ? `${value.toFixed(2)}x`
        : `n/a (${pick(left).toFixed(1)} / ${pick(right).toFixed(1)})`,
      target: `${higherIsBetter ? '>=' : '<='} ${target}x`,
      met: Number.isFinite(value) ? (higherIsBetter ? value >= target : value <= target) : undefined,
      errors: left.errors + right.errors > 0,
    });
  };
  const rps = (of: Row) => of.requestsPerSecond;
  compare('small API req/s, promgate full chain / nginx recipe', 'small-api', 'promgate-auth', 'nginx', rps, 1);
  compare(
    'small API p99, promgate full chain / nginx recipe',
    'small-api',
    'promgate-auth',
    'nginx',
    (of) => of.p99Ms,
    1,
    false,
  );
  compare(
    'bcrypt-10 auth req/s, promgate full chain / nginx + auth_basic',
    'auth-small',
    'promgate-auth',
    'nginx-auth',
    rps,
    100,
  );
  compare(
    'bcrypt-10 auth req/s, promgate full chain / promgate without auth',
    'auth-small',
    'promgate-auth',
    'promgate',
    rps,
    0.9,
  );
  compare(
    'large response MB/s, promgate full chain / nginx recipe',
    'large-download',
    'promgate-auth',
    'nginx',
    (of) => of.megabytesPerSecond,
    1,
  );
  const memory = row('memory', 'promgate-auth-fresh');
  checks.push({
    name: 'peak RSS of promgate (full chain, fresh process), 64 clients downloading 10 MiB',
    value: memory ? `${memory.peakRssMb.toFixed(0)} MB` : 'n/a',
    target: '<= 200 MB',
    met: memory ? memory.peakRssMb <= 200 : undefined,
    errors: (memory?.errors ?? 0) > 0,
  });
  compare(
    '--workers=2 / 1 worker req/s (unpinned, 2 cores shared with wrk and the upstream)',
    'workers',
    'promgate-2w-unpinned',
    'promgate-1w-unpinned',
    rps,
    1.6,
  );
  return checks;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}
