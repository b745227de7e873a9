// The paths an upstream could take a request target to mean. The request is forwarded byte for
// byte, so the policy must hold for every reading an upstream might apply: Go's net/http
// decodes %XX once before routing (`admin%2Ftsdb` is `admin/tsdb` to Prometheus), other servers
// decode twice, treat `\` as `/`, or drop `;params`; most collapse `//`, resolve `.`/`..` and
// ignore a trailing slash. We return each distinct reading, normalized; the policy must allow all.
// A path where some reading has a `.`, `..` or empty segment is refused before any stage reads it
// (pathRefusal): resolving those could take the upstream outside the route the gateway chose.

/** Characters that make a path need more than one reading. */
const NEEDS_WORK = /[%\\;#A-Z]|\/\/|\/\.|\/$/;
/** Characters without which no reading can have a dot or empty segment. */
const MAY_HIDE_SEGMENTS = /[%\\;]|\/\/|\/\./;
const MAX_DECODE_ROUNDS = 4;

/**
 * The normalized readings of a raw request path (no query string): lowercase, percent-decoded,
 * no empty, `.` or `..` segments, no `;params`, no trailing slash ("/" for the root).
 * Undefined when the path cannot be read at all (bad percent-encoding, NUL), to be refused.
 */
export function pathReadings(rawPath: string): string[] | undefined {
  if (!NEEDS_WORK.test(rawPath)) return [rawPath === '/' ? '/' : rawPath];
  const texts = readableTexts(rawPath);
  if (!texts) return undefined;
  const readings = new Set<string>();
  for (const text of texts) {
    readings.add(normalize(text, false));
    readings.add(normalize(text, true));
  }
  return [...readings];
}

/**
 * Why a raw request path (no query string) is refused, or undefined when it is not: it does not
 * start with "/", cannot be read (bad percent-encoding, NUL), or one of its readings (decoded up to
 * MAX_DECODE_ROUNDS times, `\` as `/`, `;params` dropped, cut at `#`) has a `.`, `..` or empty
 * segment. What is left is forwarded as sent, and every reading of it names the same segments.
 */
export function pathRefusal(rawPath: string): string | undefined {
  if (rawPath[0] !== '/') return 'the request target must be a path starting with "/"';
  if (!MAY_HIDE_SEGMENTS.test(rawPath)) return undefined;
  const texts = readableTexts(rawPath);
  if (!texts) return 'the request path cannot be read';
  for (const text of texts) {
    for (const variant of [text, text.replace(/\\/g, '/')]) {
      const segments = variant.split('/');
      // segments[0] is what precedes the leading "/"; the last one may be empty (trailing slash).
      for (let index = 1; index < segments.length; index++) {
        const segment = segments[index]!;
        const semicolon = segment.indexOf(';');
        const name = semicolon < 0 ? segment : segment.slice(0, semicolon);
        if (name === '.' || name === '..')
          return 'the request path has a "." or ".." segment (also percent-encoded, or with ;params)';
        if (segment === '' && index < segments.length - 1) return 'the request path has an empty segment ("//")';
      }
    }
  }
  return undefined;
}

/** The path as decoded 0..MAX_DECODE_ROUNDS times, each also cut at "#"; undefined when unreadable. */
function readableTexts(rawPath: string): string[] | undefined {
  const decoded: string[] = [];
  let current = rawPath;
  for (let round = 0; round <= MAX_DECODE_ROUNDS; round++) {
    decoded.push(current);
    if (!current.includes('%')) break;
    try {
      const next = decodeURIComponent(current);
      if (next === current) break;
      current = next;
    } catch {
      // A later round may meet a literal "%" that a single decode made (%2525 -> %25 -> %): as
      // Go would see it after one decode, it is data. Only a bad first round is unreadable.
      if (round === 0) return undefined;
      break;
    }
  }
  const texts: string[] = [];
  for (const text of decoded) {
    if (text.includes('\0')) return undefined;
    texts.push(text);
    const fragment = text.indexOf('#');
    if (fragment >= 0) texts.push(text.slice(0, fragment));
  }
  return texts;
}

function normalize(path: string, backslashIsSlash: boolean): string {
  const segments: string[] = [];
  for (let segment of (backslashIsSlash ? path.replace(/\\/g, '/') : path).toLowerCase().split('/')) {
    const semicolon = segment.indexOf(';');
    if (semicolon >= 0) segment = segment.slice(0, semicolon);
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}
