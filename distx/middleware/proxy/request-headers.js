/**
 * RFC 9110 7.6.1 plus the de-facto ones; `transfer-encoding` stays here (the proxy stage reads it
 * to know there is a body; undici then frames the body itself). `expect` too: Node already
 * answered the client's 100-continue, and undici refuses to send it.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'expect'];
/**
 * Never removable by naming them in Connection: dropping the body's framing would let the body
 * reach Prometheus as a second, unauthenticated request (request smuggling).
 */
const NOT_CONNECTION_OPTIONS = new Set(['content-length', 'transfer-encoding', 'host']);
/** Client-supplied forwarding headers: only a trusted proxy may set these. */
const FORWARDING = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-prefix', 'x-forwarded-port', 'x-real-ip'];
export function createRequestHeaderRewriter(options) {
    const { trustProxy, forwardAuthorization } = options;
    const alwaysDropped = new Set([...HOP_BY_HOP, ...(forwardAuthorization ? [] : ['authorization'])]);
    const untrustedDropped = new Set([...alwaysDropped, ...FORWARDING]);
    // A fresh object rather than `delete`s: deleting turns req.headers into a slow dictionary-mode
    // object, which cost ~15% of throughput with Authorization.
    return function rewriteRequestHeaders(req, prefix) {
        const headers = req.headers;
        const peer = req.socket.remoteAddress ?? '';
        const trusted = trustProxy !== undefined && peer !== '' && trustProxy.check(peer, peer.includes(':') ? 'ipv6' : 'ipv4');
        const dropped = trusted ? alwaysDropped : untrustedDropped;
        const listed = headers.connection
            ? headers.connection
                .split(',')
                .map((token) => token.trim().toLowerCase())
                .filter((token) => !NOT_CONNECTION_OPTIONS.has(token))
            : undefined;
        const outgoing = {};
        for (const name in headers) {
            if (dropped.has(name) || listed?.includes(name))
                continue;
            outgoing[name] = headers[name];
        }
        if (trusted) {
            const chain = headers['x-forwarded-for'];
            outgoing['x-forwarded-for'] = chain ? `${chain}, ${peer}` : peer;
            outgoing['x-forwarded-proto'] ??= protocolOf(req);
            outgoing['x-forwarded-host'] ??= headers.host ?? '';
        }
        else {
            outgoing['x-forwarded-for'] = peer;
            outgoing['x-forwarded-proto'] = protocolOf(req);
            if (headers.host !== undefined)
                outgoing['x-forwarded-host'] = headers.host;
        }
        if (prefix !== '')
            outgoing['x-forwarded-prefix'] = prefix;
        else
            delete outgoing['x-forwarded-prefix'];
        req.headers = outgoing;
    };
}
function protocolOf(req) {
    return 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
}
//# sourceMappingURL=request-headers.js.map