// What the upstream sees of the client's headers: hop-by-hop headers removed, X-Forwarded-* set
// by the gateway (kept from the client only when it is a trusted proxy), Authorization dropped.
import type { BlockList } from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * RFC 9110 7.6.1 plus the de-facto ones; `transfer-encoding` stays, the body framing needs it.
 * `expect` too: Node already answered the client's 100-continue, and httpxy skips its proxyReq
 * event (where the upstream timeout is armed) for requests that carry one.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'expect'];
/** Client-supplied forwarding headers: only a trusted proxy may set these. */
const FORWARDING = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-prefix', 'x-forwarded-port', 'x-real-ip'];

export interface RequestHeaderOptions {
  /** Peers whose forwarding headers are kept and extended; undefined trusts no one. */
  trustProxy: BlockList | undefined;
  forwardAuthorization: boolean;
}

export function createRequestHeaderRewriter(options: RequestHeaderOptions): (req: IncomingMessage, prefix: string) => void {
  const { trustProxy, forwardAuthorization } = options;
  return function rewriteRequestHeaders(req, prefix) {
    const headers = req.headers;
    const connection = headers.connection;
    if (connection) for (const token of connection.split(',')) delete headers[token.trim().toLowerCase()];
    for (const name of HOP_BY_HOP) delete headers[name];
    if (!forwardAuthorization) delete headers.authorization;

    const socket = req.socket;
    const peer = socket.remoteAddress ?? '';
    const trusted = trustProxy !== undefined && peer !== '' && trustProxy.check(peer, peer.includes(':') ? 'ipv6' : 'ipv4');
    if (trusted) {
      const chain = headers['x-forwarded-for'];
      headers['x-forwarded-for'] = chain ? `${chain}, ${peer}` : peer;
      headers['x-forwarded-proto'] ??= protocolOf(req);
      headers['x-forwarded-host'] ??= headers.host ?? '';
    } else {
      for (const name of FORWARDING) delete headers[name];
      headers['x-forwarded-for'] = peer;
      headers['x-forwarded-proto'] = protocolOf(req);
      if (headers.host !== undefined) headers['x-forwarded-host'] = headers.host;
    }
    if (prefix !== '') headers['x-forwarded-prefix'] = prefix;
    else delete headers['x-forwarded-prefix'];
  };
}

function protocolOf(req: IncomingMessage): string {
  return 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
}
