// The paths an upstream could take a request target to mean. The request is forwarded byte for
// byte (F1), so the policy must hold for every reading an upstream might apply: Go's net/http
// decodes %XX once before routing (`admin%2Ftsdb` is `admin/tsdb` to Prometheus), other servers
// decode twice, treat `\` as `/`, or drop `;params`; most collapse `//`, resolve `.`/`..` and
// ignore a trailing slash. We return each distinct reading, normalized; the policy must allow all.
/** Characters that make a path need more than one reading. */
const NEEDS_WORK = /[%\\;#A-Z]|\/\/|\/\.|\/$/;
const MAX_DECODE_ROUNDS = 4;
/**
 * The normalized readings of a raw request path (no query string): lowercase, percent-decoded,
 * no empty, `.` or `..` segments, no `;params`, no trailing slash ("/" for the root).
 * Undefined when the path cannot be read at all (bad percent-encoding, NUL), to be refused.
 */
export function pathReadings(rawPath) {
    if (!NEEDS_WORK.test(rawPath))
        return [rawPath === '/' ? '/' : rawPath];
    const decoded = [];
    let current = rawPath;
    for (let round = 0; round <= MAX_DECODE_ROUNDS; round++) {
        decoded.push(current);
        if (!current.includes('%'))
            break;
        try {
            const next = decodeURIComponent(current);
            if (next === current)
                break;
            current = next;
        }
        catch {
            // A later round may meet a literal "%" that a single decode made (%2525 -> %25 -> %): as
            // Go would see it after one decode, it is data. Only a bad first round is unreadable.
            if (round === 0)
                return undefined;
            break;
        }
    }
    const readings = new Set();
    for (const text of decoded) {
        if (text.includes('\0'))
            return undefined;
        const untilFragment = text.split('#', 1)[0] ?? '';
        for (const variant of [text, untilFragment]) {
            readings.add(normalize(variant, false));
            readings.add(normalize(variant, true));
        }
    }
    return [...readings];
}
function normalize(path, backslashIsSlash) {
    const segments = [];
    for (let segment of (backslashIsSlash ? path.replace(/\\/g, '/') : path).toLowerCase().split('/')) {
        const semicolon = segment.indexOf(';');
        if (semicolon >= 0)
            segment = segment.slice(0, semicolon);
        if (segment === '' || segment === '.')
            continue;
        if (segment === '..')
            segments.pop();
        else
            segments.push(segment);
    }
    return `/${segments.join('/')}`;
}
//# sourceMappingURL=normalize.js.map