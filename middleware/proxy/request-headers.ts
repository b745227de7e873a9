// What the upstream sees of the client's headers, in two steps. Before any stage: the headers the
// client names in Connection (meant for this hop only) and, from an untrusted peer, its forwarding
// headers are removed, so every stage, hook and plugin sees what may go upstream. At the proxy:
// the hop-by-hop headers and the client's own Authorization are dropped and X-Forwarded-* (and
// the identity headers, when configured) set.
// Nothing a stage, hook or plugin set in between is removed.
import type { BlockList } from 'node:net';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { carriesApiToken } from '../../src/kernel/api-token.ts';
import type { PromgateRequestState } from '../../src/kernel/request-state.ts';
import { withoutGatewayCookies } from '../../src/kernel/gateway-cookies.ts';

/**
 * RFC 9110 7.6.1 plus the de-facto ones; `transfer-encoding` stays here (the proxy stage reads it
 * to know there is a body; undici then frames the body itself). `expect` too: Node already
 * answered the client's 100-continue, and undici refuses to send it.
 */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'expect',
];
/**
 * Never removable by naming them in Connection: dropping the body's framing would let the body
 * reach Prometheus as a second, unauthenticated request (request smuggling).
 */
const NOT_CONNECTION_OPTIONS = new Set(['content-length', 'transfer-encoding', 'host']);
/** Client-supplied forwarding headers: only a trusted proxy may set these. */
const FORWARDING = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-prefix',
  'x-forwarded-port',
  'x-real-ip',
];

export interface RequestHeaderOptions {
  /** Peers whose forwarding headers are kept and extended; undefined trusts no one. */
  trustProxy: BlockList | undefined;
  forwardAuthorization: boolean;
  /** Headers that tell the upstream who is asking: set from the identity, never taken from the client. */
  identityHeaders?: { user: string; groups: string } | undefined;
}

export interface RequestHeaderHygiene {
  /** The first stage that reads headers: removes what the client may not send upstream. */
  stripClientHeaders(req: IncomingMessage, res: ServerResponse, next: () => void): void;
  /** At the proxy: the headers the upstream gets, with X-Forwarded-Prefix `prefix` ('' for none). */
  rewriteRequestHeaders(req: IncomingMessage, prefix: string): void;
}

export function createRequestHeaderHygiene(options: RequestHeaderOptions): RequestHeaderHygiene {
  const { trustProxy, forwardAuthorization } = options;
  const dropped = new Set(HOP_BY_HOP);
  const userHeader = options.identityHeaders?.user.toLowerCase();
  const groupsHeader = options.identityHeaders?.groups.toLowerCase();
  const identityNames = [userHeader, groupsHeader].filter((name) => name !== undefined);
  const isTrusted = (req: IncomingMessage) => {
    const peer = req.socket.remoteAddress ?? '';
    return trustProxy !== undefined && peer !== '' && trustProxy.check(peer, peer.includes(':') ? 'ipv6' : 'ipv4');
  };
  return {
    stripClientHeaders(req, _res, next) {
      const headers = req.headers;
      let removed: Set<string> | undefined;
      const connection = headers.connection;
      // The usual values name no header that the proxy would not drop anyway: no work per request.
      if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') {
        // Node joins repeated Connection headers with ", "; names are case-insensitive, padded with spaces or tabs.
        for (const token of connection.split(',')) {
          const name = token.trim().toLowerCase();
          if (Object.hasOwn(headers, name) && !NOT_CONNECTION_OPTIONS.has(name)) (removed ??= new Set()).add(name);
        }
      }
      if (trustProxy === undefined || !isTrusted(req)) {
        for (const name of FORWARDING) if (headers[name] !== undefined) (removed ??= new Set()).add(name);
      }
      // Not even from a trusted proxy: only the identity this gateway established goes in them.
      for (const name of identityNames) if (headers[name] !== undefined) (removed ??= new Set()).add(name);
      if (removed) req.headers = copyWithout(headers, removed);
      next();
    },

    rewriteRequestHeaders(req, prefix) {
      const headers = req.headers;
      const dropAuthorization =
        headers.authorization !== undefined &&
        // A promgate API token is ours alone: never forwarded, even with forwardAuthorization.
        (!forwardAuthorization || carriesApiToken(headers.authorization)) &&
        sentByClient(req, 'authorization', headers.authorization);
      // A fresh object rather than `delete`s: deleting turns req.headers into a slow dictionary-mode
      // object, which cost ~15% of throughput with Authorization.
      const outgoing: IncomingHttpHeaders = {};
      for (const name in headers) {
        if (dropped.has(name) || (dropAuthorization && name === 'authorization')) continue;
        // promgate's own cookies (the sign-in session) are for promgate only.
        if (name === 'cookie') {
          const cookie = headers.cookie && withoutGatewayCookies(headers.cookie);
          if (cookie) outgoing.cookie = cookie;
          continue;
        }
        outgoing[name] = headers[name];
      }
      // What is left of X-Forwarded-* came from a trusted proxy or a stage: kept and extended.
      const peer = req.socket.remoteAddress ?? '';
      const chain = headers['x-forwarded-for'];
      outgoing['x-forwarded-for'] = chain ? `${chain}, ${peer}` : peer;
      outgoing['x-forwarded-proto'] ??= protocolOf(req);
      if (outgoing['x-forwarded-host'] === undefined && headers.host !== undefined)
        outgoing['x-forwarded-host'] = headers.host;
      if (prefix !== '') outgoing['x-forwarded-prefix'] = prefix;
      const identity = userHeader && (req as { promgate?: PromgateRequestState }).promgate?.identity;
      if (identity) {
        outgoing[userHeader] = headerValue(identity.user);
        if (identity.groups.length > 0) outgoing[groupsHeader!] = identity.groups.map(headerValue).join(',');
      }
      req.headers = outgoing;
    },
  };
}

function copyWithout(headers: IncomingHttpHeaders, removed: ReadonlySet<string>): IncomingHttpHeaders {
  const copy: IncomingHttpHeaders = {};
  for (const name in headers) if (!removed.has(name)) copy[name] = headers[name];
  return copy;
}

/** Whether the client itself sent `name: value` (a stage may have set the same header since). */
function sentByClient(req: IncomingMessage, name: string, value: string): boolean {
  const raw = req.rawHeaders;
  for (let index = 0; index < raw.length; index += 2) {
    if (raw[index + 1] === value && raw[index]!.length === name.length && raw[index]!.toLowerCase() === name)
      return true;
  }
  return false;
}

/** A name as a header value: percent-encoded when it holds what a header cannot carry (or a comma, in a group). */
function headerValue(name: string): string {
  return /^[\x21-\x2b\x2d-\x7e]+(?: [\x21-\x2b\x2d-\x7e]+)*$/.test(name) ? name : encodeURIComponent(name);
}

function protocolOf(req: IncomingMessage): string {
  return 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
}
