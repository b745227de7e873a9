// Cookies promgate sets for itself (the sign-in session and its login state) carry one name prefix:
// the proxy drops them from every upstream request, on every route, whichever route set them.

/** Every cookie of promgate's own begins with this. */
export const GATEWAY_COOKIE_PREFIX = 'promgate_';

/** The cookie header's pairs by name (the first of a repeated name wins, as browsers order by path length). */
export function readCookies(header: string | undefined): Map<string, string[]> {
  const cookies = new Map<string, string[]>();
  if (!header) return cookies;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0) continue;
    const name = pair.slice(0, equals).trim();
    const value = pair.slice(equals + 1).trim();
    const values = cookies.get(name);
    if (values) values.push(value);
    else cookies.set(name, [value]);
  }
  return cookies;
}

/** The Cookie header without promgate's own cookies; undefined when nothing else is left. */
export function withoutGatewayCookies(header: string): string | undefined {
  if (!header.includes(GATEWAY_COOKIE_PREFIX)) return header;
  const kept = header
    .split(';')
    .filter((pair) => !pair.trimStart().startsWith(GATEWAY_COOKIE_PREFIX))
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '');
  return kept.length > 0 ? kept.join('; ') : undefined;
}
