// Where a .cpuprofile (node --cpu-prof) spends its time: self time by function and by module
// (npm package, node: internal module, promgate file), as % of all samples and of busy ones.
// Run: node bench/cpuprofile-summary.ts FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Entry {
  name: string;
  ms: number;
  /** % of all sampled time. */
  percent: number;
  /** % of the time not idle. */
  busyPercent: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  functions: Entry[];
  modules: Entry[];
  /** Modules grouped by the part of the request path they serve (see CATEGORIES). */
  categories: Entry[];
}

/** First match wins; tested against the module name (see moduleOf) and, for native code, the function. */
const CATEGORIES: [string, RegExp][] = [
  // Socket writes from JS: to the client they include TLS encryption; to the upstream, plain TCP.
  [
    'socket writes (native; TLS encryption to the client happens inside)',
    /^\(native\) (writeLatin1String|writeUtf8String|writeAsciiString|writeUcs2String|writeBuffer|writev)$/,
  ],
  ['node TLS/net', /^node:(_tls|tls|net|internal\/(tls|net|stream_base_commons))/],
  [
    'node HTTP server (incoming, outgoing, parser)',
    /^node:(_http_server|_http_outgoing|_http_incoming|_http_common|internal\/http)/,
  ],
  ['HTTP client to the upstream (undici)', /^(undici|node:_http_client|node:_http_agent)$/],
  ['node events and streams', /^node:(events|internal\/streams|stream|internal\/event_target)/],
  ['node timers, microtasks, process', /^node:internal\/(timers|process|async_hooks)|^node:timers/],
  ['node module loading (startup)', /^node:internal\/modules/],
  [
    'Express and its router',
    /^(express|router|path-to-regexp|parseurl|finalhandler|send|serve-static|content-type|type-is|mime-types|accepts|negotiator|on-finished|ee-first|encodeurl|escape-html|statuses|http-errors|depd|debug|ms|qs|proxy-addr|forwarded|fresh|range-parser|etag|vary|cookie|setprototypeof|merge-descriptors|utils-merge)$/,
  ],
  ['helmet', /^helmet$/],
  [
    'access log (pino-http, pino)',
    /^(pino|pino-http|pino-std-serializers|sonic-boom|fast-redact|@pinojs\/redact|quick-format-unescaped|thread-stream|atomic-sleep|on-exit-leak-free|safe-stable-stringify|fast-safe-stringify|get-caller-file)$/,
  ],
  ['metrics (prom-client)', /^(prom-client|tdigest|bintrees)$/],
  [
    'rate limit, CORS, auth libraries',
    /^(express-rate-limit|rate-limit-redis|cors|lru-cache|bcrypt|express-basic-auth)$/,
  ],
  ['promgate middleware/', /^(dist\/)?middleware\//],
  ['promgate src/', /^(dist\/)?src\//],
  ['garbage collector', /^\(garbage collector\)$/],
  ['(program): V8 and native code outside JS frames', /^\(program\)$/],
  ['idle', /^\(idle\)$/],
  ['other native', /^\(native\)/],
];

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const parents = new Map(
    profile.nodes.flatMap((node) => (node.children ?? []).map((child) => [child, node.id] as const)),
  );
  /**
   * Native functions and node:fs count for the first package or promgate file up the stack: the
   * fs writes are sonic-boom's (the access log), URL parsing is http-proxy-middleware's.
   */
  const callerModule = (id: number): string | undefined => {
    for (let parent = parents.get(id); parent !== undefined; parent = parents.get(parent)) {
      const frame = frames.get(parent)!;
      if (frame.url && !frame.url.startsWith('node:')) return moduleOf(frame.url, frame.functionName);
    }
    return undefined;
  };
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  const byCategory = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, index) => {
    // A sample stands for the time until the next one (the last: the previous interval).
    const ms = (profile.timeDeltas[index + 1] ?? profile.timeDeltas[index] ?? 0) / 1000;
    const frame = frames.get(id)!;
    totalMs += ms;
    if (frame.functionName === '(idle)') idleMs += ms;
    const where = moduleOf(frame.url, frame.functionName);
    const name = `${frame.functionName || '(anonymous)'}${frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byModule.set(where, (byModule.get(where) ?? 0) + ms);
    let key = where === '(native)' ? `(native) ${frame.functionName}` : where;
    if ((where === '(native)' && !CATEGORIES[0]![1].test(key)) || where === 'node:fs') key = callerModule(id) ?? key;
    const category = CATEGORIES.find(([, pattern]) => pattern.test(key))?.[0] ?? `other: ${key}`;
    byCategory.set(category, (byCategory.get(category) ?? 0) + ms);
  });
  const rank = (map: Map<string, number>, count = top) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, ms]) => ({
        name,
        ms,
        percent: (ms / totalMs) * 100,
        busyPercent: name === '(idle)' || name === 'idle' ? 0 : (ms / (totalMs - idleMs)) * 100,
      }));
  return {
    totalMs,
    idleMs,
    functions: rank(byFunction),
    modules: rank(byModule),
    categories: rank(byCategory, 100).filter((entry) => entry.percent >= 0.5),
  };
}

/** npm package (scoped too), node:<module>, a promgate file, or V8's own buckets (GC, program, idle). */
function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const packaged = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packaged) return packaged[1]!;
  if (url.startsWith('node:')) return url;
  return shortUrl(url);
}

/** `package/file` inside node_modules, else the path from promgate's dist/, src/ or middleware/. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  return path.includes('/node_modules/')
    ? path.replace(/^.*\/node_modules\//, '')
    : path.replace(/^.*?\/(dist\/|src\/|middleware\/)/, '$1');
}

export function printProfileSummary(summary: ProfileSummary): void {
  const table = (title: string, entries: Entry[]) => {
    console.log(
      `\n${title}\n| # | self ms | % of samples | % of busy | ${title.split(' by ')[0]!.replace(/^Top /, '')} |\n|---|---|---|---|---|`,
    );
    for (const [index, entry] of entries.entries()) {
      console.log(
        `| ${index + 1} | ${entry.ms.toFixed(0)} | ${entry.percent.toFixed(1)} | ${entry.busyPercent.toFixed(1)} | ${entry.name} |`,
      );
    }
  };
  console.log(
    `profile: ${(summary.totalMs / 1000).toFixed(1)} s sampled, ${((summary.idleMs / summary.totalMs) * 100).toFixed(1)}% idle`,
  );
  table(`Top functions by self time`, summary.functions);
  table(`Top modules by self time`, summary.modules);
  table(`Parts of the request path by self time`, summary.categories);
}

if (import.meta.main) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/cpuprofile-summary.ts FILE.cpuprofile [TOP]');
    process.exit(2);
  }
  printProfileSummary(summarizeProfile(file, Number(top ?? 15)));
}
