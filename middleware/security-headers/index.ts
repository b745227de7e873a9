// Security headers: helmet's preset plus a Content-Security-Policy that keeps the Prometheus UIs
// working. Every value is computed once here; the request handler only calls setHeader.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import {
  CSP_HEADER,
  HOLD_HEADERS,
  type FlatHeaderList,
  type HoldsHeaders,
  type ResponseSecurityHeaders,
} from '../../src/kernel/response-headers.ts';

export { CSP_HEADER };

/**
 * As strict as the Prometheus UIs allow. Each UI ships one inline bootstrap <script> (PATH_PREFIX
 * and friends); instead of 'unsafe-inline' the proxy adds that script's sha256 hash to script-src
 * on HTML responses (see htmlPolicy). Styles stay 'unsafe-inline': the UIs set style attributes.
 */
export const DEFAULT_CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
};

/** helmet's defaults, minus the CSP, which is ours (see above). HSTS stays on. */
export const DEFAULT_HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: false,
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
};

export interface SecurityHeadersOptions {
  /** Header name -> value that replace the preset; "" removes a header. */
  overrides?: Record<string, string>;
  /** helmet options replacing the preset's; the CSP stays ours (override it through `overrides`). */
  helmet?: HelmetOptions;
}

/** [name, value] pairs, in the order they go out. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

export interface SecurityHeaders extends ResponseSecurityHeaders {
  /** [name, value] pairs set on every response. */
  readonly headers: HeaderList;
  /** Lower-case names the gateway owns: an upstream's copy of them is dropped. */
  readonly managed: ReadonlySet<string>;
  /** False when the user set their own CSP: HTML then passes through unread. */
  readonly hashesInlineScripts: boolean;
  /** Replaces the overrides (e.g. a reloaded web config's headers). */
  update(overrides: Record<string, string>): void;
  /** CSP for an HTML page carrying these inline scripts; undefined when the user set the CSP. */
  htmlPolicy(inlineScripts: readonly Buffer[]): string | undefined;
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void;
}

export function createSecurityHeaders(options: SecurityHeadersOptions = {}): SecurityHeaders {
  const helmetOptions = options.helmet
    ? ({ ...options.helmet, contentSecurityPolicy: false } as HelmetOptions)
    : DEFAULT_HELMET_OPTIONS;
  const base = new Map<string, readonly [string, string]>();
  for (const [name, value] of captureHelmetHeaders(helmetOptions)) base.set(name.toLowerCase(), [name, value]);
  base.set(CSP_HEADER.toLowerCase(), [CSP_HEADER, serializeCsp(DEFAULT_CSP_DIRECTIVES)]);

  // One value, swapped whole by update(): the handler never sees half of an update.
  let state = compile(base, options.overrides ?? {});
  return {
    get headers() {
      return state.headers;
    },
    get managed() {
      return state.managed;
    },
    get hashesInlineScripts() {
      return state.cspIsOurs;
    },
    update(overrides) {
      state = compile(base, overrides);
    },
    htmlPolicy(inlineScripts) {
      if (!state.cspIsOurs) return undefined;
      const hashes = inlineScripts.map((script) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`);
      const scriptSrc = [...(DEFAULT_CSP_DIRECTIVES['script-src'] ?? []), ...new Set(hashes)];
      return serializeCsp({ ...DEFAULT_CSP_DIRECTIVES, 'script-src': scriptSrc });
    },
    handle(_req, res, next) {
      // Held by the standalone server's responses (no host app there to set X-Powered-By).
      if ((res as ServerResponse & Partial<HoldsHeaders>)[HOLD_HEADERS]?.(state.flat)) return next();
      for (const [name, value] of state.headers) res.setHeader(name, value);
      res.removeHeader('X-Powered-By'); // a host Express app may have set it
      next();
    },
  };
}

function compile(base: ReadonlyMap<string, readonly [string, string]>, overrides: Record<string, string>) {
  const preset = new Map(base);
  const managed = new Set(preset.keys());
  for (const [name, value] of Object.entries(overrides)) {
    managed.add(name.toLowerCase());
    if (value === '') preset.delete(name.toLowerCase());
    else preset.set(name.toLowerCase(), [name, value]);
  }
  const cspIsOurs = !Object.keys(overrides).some((name) => name.toLowerCase() === CSP_HEADER.toLowerCase());
  const headers = [...preset.values()];
  return { headers, flat: headers.flat() as FlatHeaderList, managed: managed as ReadonlySet<string>, cspIsOurs };
}

export function serializeCsp(directives: Readonly<Record<string, readonly string[]>>): string {
  return Object.entries(directives)
    .map(([name, values]) => [name, ...values].join(' '))
    .join('; ');
}

/** Runs helmet once against a recording response to learn the headers it sets. */
function captureHelmetHeaders(options: HelmetOptions): Array<[string, string]> {
  const recorded: Array<[string, string]> = [];
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      recorded.push([name, String(value)]);
    },
    removeHeader() {},
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {});
  return recorded;
}
