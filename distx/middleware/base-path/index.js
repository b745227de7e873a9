export function createBasePathRedirect() {
    return function redirectToBasePath(req, res, next) {
        const mount = req.baseUrl;
        const original = req.originalUrl;
        if (mount === '' || !original.startsWith(mount))
            return next();
        const rest = original.slice(mount.length);
        if (rest !== '' && rest[0] !== '?')
            return next();
        // 308 keeps the method and body for anything but GET/HEAD.
        const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
        res.writeHead(status, { location: `${mount}/${rest}`, 'content-length': 0 });
        res.end();
    };
}
const ABSOLUTE_FORM_ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;
/**
 * `POST http://host/prometheus/x HTTP/1.1` (absolute form) reaches the gateway with req.url
 * `http://host/x`: rewritten to `/x` before any stage reads the path, so access control decides on
 * what the upstream gets (it saw `/http:/host/x` before; found in review).
 */
export function createOriginForm() {
    return function toOriginForm(req, _res, next) {
        if (req.url[0] !== '/')
            req.url = req.url.replace(ABSOLUTE_FORM_ORIGIN, '') || '/';
        next();
    };
}
//# sourceMappingURL=index.js.map