/**
 * The normalized readings of a raw request path (no query string): lowercase, percent-decoded,
 * no empty, `.` or `..` segments, no `;params`, no trailing slash ("/" for the root).
 * Undefined when the path cannot be read at all (bad percent-encoding, NUL), to be refused.
 */
export declare function pathReadings(rawPath: string): string[] | undefined;
