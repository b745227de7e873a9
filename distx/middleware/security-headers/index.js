// Security headers: helmet's preset plus a Content-Security-Policy that keeps the Prometheus UIs
// working. Every value is computed once here; the request handler only calls setHeader.
import { createHash } from 'node:crypto';
import helmet, {} from 'helmet';
export const CSP_HEADER = 'Content-Security-Policy';
/**
 * As strict as the Prometheus UIs allow. Each UI ships one inline bootstrap <script> (PATH_PREFIX
 * and friends); instead of 'unsafe-inline' the proxy adds that script's sha256 hash to script-src
 * on HTML responses (see htmlPolicy). Styles stay 'unsafe-inline': the UIs set style attributes.
 */
export const DEFAULT_CSP_DIRECTIVES = {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    'connect-src': ["'self'"],
    'font-src': ["'self'", 'data:'],
    'form-action': ["'self'"],
    'frame-ancestors': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
};
/** helmet's defaults, minus the CSP, which is ours (see above). HSTS stays on. */
export const DEFAULT_HELMET_OPTIONS = {
    contentSecurityPolicy: false,
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
};
export function createSecurityHeaders(options = {}) {
    const helmetOptions = options.helmet ? { ...options.helmet, contentSecurityPolicy: false } : DEFAULT_HELMET_OPTIONS;
    const base = new Map();
    for (const [name, value] of captureHelmetHeaders(helmetOptions))
        base.set(name.toLowerCase(), [name, value]);
    base.set(CSP_HEADER.toLowerCase(), [CSP_HEADER, serializeCsp(DEFAULT_CSP_DIRECTIVES)]);
    // One value, swapped whole by update(): the handler never sees half of an update.
    let state = compile(base, options.overrides ?? {});
    return {
        get headers() {
            return state.headers;
        },
        get managed() {
            return state.managed;
        },
        get hashesInlineScripts() {
            return state.cspIsOurs;
        },
        update(overrides) {
            state = compile(base, overrides);
        },
        htmlPolicy(inlineScripts) {
            if (!state.cspIsOurs)
                return undefined;
            const hashes = inlineScripts.map((script) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`);
            const scriptSrc = [...(DEFAULT_CSP_DIRECTIVES['script-src'] ?? []), ...new Set(hashes)];
            return serializeCsp({ ...DEFAULT_CSP_DIRECTIVES, 'script-src': scriptSrc });
        },
        handle(_req, res, next) {
            for (const [name, value] of state.headers)
                res.setHeader(name, value);
            res.removeHeader('X-Powered-By'); // a host Express app may have set it
            next();
        },
    };
}
function compile(base, overrides) {
    const preset = new Map(base);
    const managed = new Set(preset.keys());
    for (const [name, value] of Object.entries(overrides)) {
        managed.add(name.toLowerCase());
        if (value === '')
            preset.delete(name.toLowerCase());
        else
            preset.set(name.toLowerCase(), [name, value]);
    }
    const cspIsOurs = !Object.keys(overrides).some((name) => name.toLowerCase() === CSP_HEADER.toLowerCase());
    return { headers: [...preset.values()], managed: managed, cspIsOurs };
}
export function serializeCsp(directives) {
    return Object.entries(directives)
        .map(([name, values]) => [name, ...values].join(' '))
        .join('; ');
}
/** Runs helmet once against a recording response to learn the headers it sets. */
function captureHelmetHeaders(options) {
    const recorded = [];
    const recorder = {
        setHeader(name, value) {
            recorded.push([name, String(value)]);
        },
        removeHeader() { },
    };
    helmet(options)({}, recorder, () => { });
    return recorded;
}
//# sourceMappingURL=index.js.map