import type { BlockList } from 'node:net';
import type { IncomingMessage } from 'node:http';
export interface RequestHeaderOptions {
    /** Peers whose forwarding headers are kept and extended; undefined trusts no one. */
    trustProxy: BlockList | undefined;
    forwardAuthorization: boolean;
}
export declare function createRequestHeaderRewriter(options: RequestHeaderOptions): (req: IncomingMessage, prefix: string) => void;
