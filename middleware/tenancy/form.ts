// The one canonical set of parameters of a Prometheus API request, read as Go's net/http reads a
// form (query string and urlencoded body, `+` as space, %XX escapes), but strictly: wherever Go
// would skip a pair silently (a `;`, a bad escape) or pick one of two values (the body's over the
// query string's), the request is refused, so what was enforced is what Prometheus evaluates.

/** A request whose parameters cannot be read one way only; answered 400 bad_data. */
export class FormError extends Error {}

/** Parameters in request order; only `match[]` may repeat. */
export type Parameters = Array<[name: string, value: string]>;

/** The one parameter that is a list in Prometheus's API. */
export const REPEATABLE = 'match[]';

/** Raw bytes Go would keep as they are but a re-encoding could change: they must be percent-encoded. */
const UNENCODED = /[^\x21-\x7e]/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** Reads `a=1&b=2` as Go's url.ParseQuery does, refusing what Go would skip or read another way. */
export function parseForm(text: string, where: string): Parameters {
  const parameters: Parameters = [];
  if (text === '') return parameters;
  if (UNENCODED.test(text)) throw new FormError(`the ${where} has characters that must be percent-encoded`);
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    if (pair.includes(';')) throw new FormError(`the ${where} separates parameters with ";": use "&"`);
    const equals = pair.indexOf('=');
    const name = queryUnescape(equals < 0 ? pair : pair.slice(0, equals), where);
    const value = equals < 0 ? '' : queryUnescape(pair.slice(equals + 1), where);
    parameters.push([name, value]);
  }
  return parameters;
}

function queryUnescape(text: string, where: string): string {
  // Most names and values (start, end, step, times) hold neither: nothing to decode.
  if (!text.includes('%') && !text.includes('+')) return text;
  if (BAD_ESCAPE.test(text)) throw new FormError(`the ${where} has an invalid %-escape`);
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    throw new FormError(`the ${where} is not UTF-8 once decoded`);
  }
}

/**
 * The query string's and the body's parameters as one list; a parameter other than `match[]`
 * given twice (in either place, or in both) is refused rather than guessed.
 */
export function mergeParameters(...sources: Parameters[]): Parameters {
  const merged: Parameters = [];
  const seen = new Set<string>();
  for (const source of sources) {
    for (const [name, value] of source) {
      if (name !== REPEATABLE) {
        if (seen.has(name)) throw new FormError(`parameter "${name}" is given more than once`);
        seen.add(name);
      }
      merged.push([name, value]);
    }
  }
  return merged;
}

/** The value of a parameter that appears at most once. */
export function single(parameters: Parameters, name: string): string | undefined {
  return parameters.find(([candidate]) => candidate === name)?.[1];
}

/** `a=1&b=2`, encoded as Go's url.Values.Encode reads it back (space as `+`). */
export function encodeForm(parameters: Parameters): string {
  let encoded = '';
  for (const [name, value] of parameters)
    encoded += `${encoded === '' ? '' : '&'}${formEscape(name)}=${formEscape(value)}`;
  return encoded;
}

/** As URLSearchParams writes a value (a third of its cost): everything but A-Z a-z 0-9 * - . _ escaped, space as +. */
function formEscape(text: string): string {
  return SAFE.test(text) ? text : encodeURIComponent(text).replace(ESCAPED_TOO, escapeMore);
}

const SAFE = /^[A-Za-z0-9*\-._]*$/;
const ESCAPED_TOO = /%20|[!'()~]/g;
const escapeMore = (match: string) => (match === '%20' ? '+' : `%${match.charCodeAt(0).toString(16).toUpperCase()}`);
