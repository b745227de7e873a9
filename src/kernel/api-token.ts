// What marks promgate's own API tokens, for every stage that must recognise one without the
// token table: the authenticator, and the proxy, which never forwards one upstream.

/** Every API token starts with it, so secret scanners and the Bearer dispatch can tell ours apart. */
export const API_TOKEN_PREFIX = 'promgate_';

const PROMGATE_BEARER = /^[ \t]*bearer[ \t]+promgate_/i;

/** Whether an Authorization header value carries a promgate API token (any case of `Bearer`, any padding). */
export function carriesApiToken(authorization: string): boolean {
  return PROMGATE_BEARER.test(authorization);
}
