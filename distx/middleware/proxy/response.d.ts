import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { SecurityHeaders } from '../security-headers/index.ts';
/** Larger HTML is streamed unhashed: the UI pages are a few KiB. */
export declare const MAX_HASHED_HTML_BYTES: number;
/** A compressed page may not inflate beyond this while we look for its scripts (zip bombs). */
export declare const MAX_INFLATED_HTML_BYTES: number;
export interface ResponseWriterOptions {
    upstream: URL;
    securityHeaders: SecurityHeaders;
}
/** Where the upstream's body goes once the status and headers are written. */
export interface ResponseBody {
    /** One chunk of the upstream's body; false when the client is slow (wait for `res`'s drain). */
    data(chunk: Buffer): boolean;
    end(): void;
}
export interface UpstreamResponseHead {
    statusCode: number;
    statusMessage?: string | undefined;
    headers: IncomingHttpHeaders;
}
/** `clientHost` is the Host the client asked for (req.headers already carries the upstream's). */
export type ResponseWriter = (head: UpstreamResponseHead, req: IncomingMessage & {
    baseUrl?: string;
}, res: ServerResponse, clientHost: string | undefined) => ResponseBody;
export declare function createResponseWriter(options: ResponseWriterOptions): ResponseWriter;
/**
 * The bytes of each executable inline <script> (no src) in the page's <head>, exactly as the
 * browser hashes them. The Prometheus UIs keep their bootstrap script there; a script that ended
 * up in the body (say, injected through a reflected value) gets no hash and stays blocked.
 */
export declare function inlineScripts(html: Buffer | undefined): Buffer[];
