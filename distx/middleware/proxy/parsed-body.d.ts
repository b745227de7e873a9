import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
/** True when a body parser consumed the request and left its result in req.body. */
export declare function hasParsedBody(req: IncomingMessage): boolean;
/**
 * req.body in the form the outgoing Content-Type announces; fixes the outgoing headers to match
 * (length set, transfer and content encodings removed: parsers inflate, we send what they produced).
 */
export declare function parsedBody(req: IncomingMessage, headers: IncomingHttpHeaders): Buffer;
/**
 * Flat keys are written as they came (`match[]` from the simple parser stays `match[]`); arrays
 * under plain keys come from the qs parser, which strips the brackets, so they get them back.
 */
export declare function encodeForm(body: unknown, prefix?: string): string;
