// The contract between the security-headers stage, the proxy and the standalone server's
// responses: headers held until the head is written, and the CSP the proxy may rewrite.
import type { IncomingMessage, ServerResponse } from 'node:http';

export const CSP_HEADER = 'Content-Security-Policy';

/** [name, value, name, value, ...], the shape `writeHead` takes. */
export type FlatHeaderList = readonly string[];

export const HOLD_HEADERS = Symbol('promgate.holdHeaders');
export const TAKE_HELD_HEADERS = Symbol('promgate.takeHeldHeaders');

/**
 * A response that can hold the security headers until its head is written (the standalone
 * server's, src/gateway-response.ts), so that the proxy writes them with the upstream's in one
 * `writeHead` instead of a `setHeader` per header. Reading or removing any header first sets the
 * held ones, so middleware sees what it would have seen.
 */
export interface HoldsHeaders {
  /** Holds `headers` for this response; false (nothing held) when it already has headers. */
  [HOLD_HEADERS](headers: FlatHeaderList): boolean;
  /** The held headers, handed over (no longer held) when the response has no other header; else undefined. */
  [TAKE_HELD_HEADERS](): FlatHeaderList | undefined;
}

/** The held security headers of a response that holds some and has no other header, handed over. */
export function takeHeldHeaders(res: ServerResponse): FlatHeaderList | undefined {
  return (res as ServerResponse & Partial<HoldsHeaders>)[TAKE_HELD_HEADERS]?.();
}

/** What the proxy needs of the security headers (the security-headers stage provides it). */
export interface ResponseSecurityHeaders {
  /** Lower-case names the gateway owns: an upstream's copy of them is dropped. */
  readonly managed: ReadonlySet<string>;
  /** False when the user set their own CSP: HTML then passes through unread. */
  readonly hashesInlineScripts: boolean;
  /** CSP for an HTML page carrying these inline scripts; undefined when the user set the CSP. */
  htmlPolicy(inlineScripts: readonly Buffer[]): string | undefined;
  handle(req: IncomingMessage, res: ServerResponse, next: () => void): void;
}
