// What bench/compare.ts measures: the variants (servers, each reachable per upstream) and the
// scenarios (a request, a load shape, and how to tell a right answer from a wrong one).
import { ANY_CORE, LOAD_CORE, type Core } from './lib.ts';
import type { Answer } from './servers.ts';

export const API_PATH = '/api/v1/label/job/values';
export const LARGE_PATH = '/api/v1/query_range';
export const UPLOAD_PATH = '/api/v1/query';

export type Target = 'prometheus' | 'static';
export interface Endpoint {
  /** Up to the base path: https://127.0.0.1:<port>/prometheus, or http://127.0.0.1:<port> direct (https for Prometheus's own TLS). */
  base: string;
  pid: number;
}
export interface Variant {
  id: string;
  label: string;
  headers: Record<string, string>;
  /** Whether a request without credentials must get 401. */
  requiresAuth: boolean;
  endpoints: Partial<Record<Target, Endpoint>>;
  /** RSS right after start, once it answered its first health check (MB); the upstream has none. */
  idleRssMb?: number;
}
export interface Scenario {
  id: string;
  label: string;
  target: Target;
  path: string;
  method: 'GET' | 'POST';
  connections: number;
  threads: number;
  seconds: number;
  rounds: number;
  timeoutSeconds: number;
  /** A short unmeasured run per variant first (JIT, connection pools). */
  warmUp: boolean;
  /** Where wrk runs (the load core, or anywhere for the unpinned workers comparison). */
  wrkCore: Core;
  /** The number that decides: requests per second, or MB/s (downloaded, or uploaded when uploadBytes is set). */
  headline: 'rps' | 'mbps';
  uploadBytes?: number;
  variants: string[];
  /** Why the answer is wrong, or undefined when it is right. */
  check(answer: Answer): string | undefined;
}

/** What the scenarios are sized by; compare.ts reads them from the environment. */
export interface ScenarioParameters {
  rounds: number;
  /** Rounds of the small-response scenarios, whose p99 and ratios swing most from round to round. */
  smallRounds: number;
  seconds: number;
  /** Runs with nginx's auth_basic: it answers in bursts ~1.7 s apart. */
  authSeconds: number;
  memoryRounds: number;
  memorySeconds: number;
  smallConnections: number;
  largeConnections: number;
  memoryConnections: number;
  uploadBytes: number;
}

/** The scenarios in the order they run; the workers one only when its variants exist. */
export function defineScenarios(parameters: ScenarioParameters, largeBytes: number, variants: Variant[]): Scenario[] {
  const has = (id: string) => variants.some((variant) => variant.id === id);
  const json = (answer: Answer) => JSON.parse(answer.body.toString()) as { status?: string; data?: unknown };
  const base = {
    threads: 1,
    seconds: parameters.seconds,
    rounds: parameters.rounds,
    wrkCore: LOAD_CORE as Core,
    method: 'GET' as const,
    warmUp: true,
  };
  const jobValues = (answer: Answer) =>
    JSON.stringify(json(answer).data).includes('"prometheus"')
      ? undefined
      : `job values without "prometheus": ${answer.body.toString().slice(0, 200)}`;
  const largeBody = (answer: Answer) =>
    answer.body.length !== largeBytes
      ? `${answer.body.length} bytes instead of ${largeBytes}`
      : (json(answer).data as { resultType?: string }).resultType === 'matrix'
        ? undefined
        : 'not a matrix';
  const scenarios: Scenario[] = [
    {
      ...base,
      id: 'small-api',
      label: `small API: real Prometheus, GET ${API_PATH}, -c${parameters.smallConnections}`,
      target: 'prometheus',
      path: API_PATH,
      connections: parameters.smallConnections,
      rounds: parameters.smallRounds,
      timeoutSeconds: 10,
      headline: 'rps',
      variants: [
        'upstream',
        'nginx',
        'nginx-tuned',
        'haproxy',
        'prometheus-tls',
        'promgate-auth',
        'promgate-auth-nolog',
        'promgate',
      ],
      check: jobValues,
    },
    {
      ...base,
      id: 'auth-small',
      label: `authenticated small response (static upstream), bcrypt-10 htpasswd, -c${parameters.smallConnections}`,
      target: 'static',
      path: API_PATH,
      connections: parameters.smallConnections,
      // nginx and HAProxy run bcrypt (~50 ms) for every request in their one worker; nginx runs all
      // queued ones before it answers any: with 32 connections its first answers come after ~1.7 s,
      // so runs last longer.
      seconds: Math.max(parameters.seconds, parameters.authSeconds),
      rounds: parameters.smallRounds,
      timeoutSeconds: 30,
      headline: 'rps',
      variants: ['nginx', 'nginx-auth', 'haproxy-auth', 'promgate-auth', 'promgate'],
      check: jobValues,
    },
    {
      ...base,
      id: 'large-download',
      label: `large response: ${(largeBytes / 1048576).toFixed(0)} MiB JSON from the static upstream, -c${parameters.largeConnections}`,
      target: 'static',
      path: LARGE_PATH,
      connections: parameters.largeConnections,
      timeoutSeconds: 60,
      headline: 'mbps',
      variants: ['upstream', 'nginx', 'nginx-tuned', 'haproxy', 'promgate-auth', 'promgate'],
      check: largeBody,
    },
    {
      ...base,
      id: 'upload',
      label: `upload: POST ${UPLOAD_PATH} with a 1 MiB body to the static upstream, -c${parameters.largeConnections}`,
      target: 'static',
      path: UPLOAD_PATH,
      method: 'POST',
      connections: parameters.largeConnections,
      timeoutSeconds: 30,
      headline: 'mbps',
      uploadBytes: parameters.uploadBytes,
      variants: ['upstream', 'nginx', 'nginx-tuned', 'haproxy', 'promgate-auth', 'promgate'],
      check: (answer) =>
        (json(answer).data as { received?: number }).received === parameters.uploadBytes
          ? undefined
          : `upstream got ${answer.body.toString()}`,
    },
    {
      ...base,
      id: 'memory',
      label: `memory: ${parameters.memoryConnections} clients each downloading the ${(largeBytes / 1048576).toFixed(0)} MiB response`,
      target: 'static',
      path: LARGE_PATH,
      connections: parameters.memoryConnections,
      seconds: parameters.memorySeconds,
      rounds: parameters.memoryRounds,
      timeoutSeconds: 60,
      headline: 'mbps',
      // Fresh processes and no warm-up: the peak is this load's alone.
      warmUp: false,
      variants: ['nginx', 'haproxy', 'promgate-auth-fresh', 'promgate-fresh'],
      check: largeBody,
    },
  ];
  if (has('promgate-2w-unpinned')) {
    scenarios.push({
      ...base,
      id: 'workers',
      label: `--workers=2 vs 1, everything unpinned (wrk -t2), static small response, -c${parameters.smallConnections}`,
      target: 'static',
      path: API_PATH,
      connections: parameters.smallConnections,
      threads: 2,
      timeoutSeconds: 10,
      wrkCore: ANY_CORE,
      headline: 'rps',
      variants: ['promgate-1w-unpinned', 'promgate-2w-unpinned'],
      check: jobValues,
    });
  }
  return scenarios;
}
