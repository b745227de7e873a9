// Keeps upstream redirects under the gateway's base path, as nginx's proxy_redirect default does.
/**
 * Rewrites a Location header from the upstream. `prefix` is where the gateway is mounted ("" for /).
 * - root-relative (`/graph`) not already under the prefix -> `${prefix}/graph`;
 * - absolute on the upstream's origin -> same, on the gateway's origin (`https://${host}`);
 * - anything else (already prefixed, relative, other origins) is returned unchanged.
 */
export function rewriteLocation(location, prefix, upstream, gatewayOrigin) {
    if (location.startsWith('/') && !location.startsWith('//'))
        return addPrefix(location, prefix, upstream.pathname);
    if (!URL.canParse(location))
        return location;
    const target = new URL(location);
    if (target.origin !== upstream.origin)
        return location;
    return gatewayOrigin + addPrefix(target.pathname + target.search + target.hash, prefix, upstream.pathname);
}
function addPrefix(path, prefix, upstreamPath) {
    const stripped = stripUpstreamPath(path, upstreamPath);
    if (prefix === '' || isUnder(stripped, prefix))
        return stripped;
    return prefix + stripped;
}
/** An upstream mounted at /sub redirects to /sub/x; the client knows it as <prefix>/x. */
function stripUpstreamPath(path, upstreamPath) {
    const base = upstreamPath.replace(/\/+$/, '');
    if (base === '' || !isUnder(path, base))
        return path;
    const rest = path.slice(base.length);
    return rest.startsWith('/') ? rest : `/${rest}`;
}
function isUnder(path, prefix) {
    if (!path.startsWith(prefix))
        return false;
    const next = path[prefix.length];
    return next === undefined || next === '/' || next === '?' || next === '#';
}
//# sourceMappingURL=redirect.js.map