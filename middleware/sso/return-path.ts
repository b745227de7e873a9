// Where a browser goes back to after signing in: a path below the route's base path, never another
// site. The path is prefixed with the external base path, so it must not be able to leave it: no
// scheme or host, no `//` or `\` that a browser would read as a host, no dot segments (raw or
// encoded) that climb out, no encoded slashes, no whitespace or control characters.

/** Allowed characters of the path part (RFC 3986 pchar, `/` and percent-escapes). */
const PATH = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;
const ENCODED_SEPARATOR = /%2f|%5c/i;
/** The query may hold almost anything (PromQL), but nothing a header cannot carry. */
const QUERY = /^[\x21-\x7e]*$/;

/** `requested` (relative to the base path, from the request line) if it is safe to return to, else `/`. */
export function safeReturnPath(requested: string): string {
  const query = requested.indexOf('?');
  const path = query < 0 ? requested : requested.slice(0, query);
  const search = query < 0 ? '' : requested.slice(query + 1);
  if (
    !PATH.test(path) ||
    path.startsWith('//') ||
    DOT_SEGMENT.test(path) ||
    ENCODED_SEPARATOR.test(path) ||
    !QUERY.test(search)
  )
    return '/';
  return requested;
}
