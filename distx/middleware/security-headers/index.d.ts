import type { IncomingMessage, ServerResponse } from 'node:http';
import { type HelmetOptions } from 'helmet';
export declare const CSP_HEADER = "Content-Security-Policy";
/**
 * As strict as the Prometheus UIs allow. Each UI ships one inline bootstrap <script> (PATH_PREFIX
 * and friends); instead of 'unsafe-inline' the proxy adds that script's sha256 hash to script-src
 * on HTML responses (see htmlPolicy). Styles stay 'unsafe-inline': the UIs set style attributes.
 */
export declare const DEFAULT_CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>>;
/** helmet's defaults, minus the CSP, which is ours (see above). HSTS stays on. */
export declare const DEFAULT_HELMET_OPTIONS: HelmetOptions;
export interface SecurityHeadersOptions {
    /** Header name -> value that replace the preset; "" removes a header. */
    overrides?: Record<string, string>;
    /** helmet options replacing the preset's; the CSP stays ours (override it through `overrides`). */
    helmet?: HelmetOptions;
}
export interface SecurityHeaders {
    /** [name, value] pairs set on every response. */
    readonly headers: ReadonlyArray<readonly [string, string]>;
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
export declare function createSecurityHeaders(options?: SecurityHeadersOptions): SecurityHeaders;
export declare function serializeCsp(directives: Readonly<Record<string, readonly string[]>>): string;
