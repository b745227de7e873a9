import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../../src/logger.ts';
import type { UpstreamErrorKind } from '../metrics/index.ts';
import type { SecurityHeaders } from '../security-headers/index.ts';
import { type UpstreamResponseHead } from './response.ts';
/** The request as it goes to the upstream; `proxyReq` observers may still change its headers. */
export interface UpstreamRequest {
    method: string;
    /** Path and query on the upstream. */
    path: string;
    headers: IncomingHttpHeaders;
}
/** Observers for library users; they see, they do not answer (the gateway does). */
export interface ProxyEvents {
    proxyReq?: (proxyReq: UpstreamRequest, req: IncomingMessage, res: ServerResponse) => void;
    proxyRes?: (proxyRes: UpstreamResponseHead, req: IncomingMessage, res: ServerResponse) => void;
    error?: (error: Error, req: IncomingMessage, res: ServerResponse) => void;
}
export interface ProxyStageOptions {
    upstream: URL;
    /** Idle timeout towards the upstream (connect, headers and between body chunks). */
    timeoutMs: number;
    forwardAuthorization: boolean;
    trustProxy: BlockList | undefined;
    securityHeaders: SecurityHeaders;
    logger: Logger;
    events?: ProxyEvents | undefined;
    /** Counts failed upstream requests (self-metrics). */
    onUpstreamError?: (kind: UpstreamErrorKind) => void;
}
export interface ProxyStage {
    handle(req: Request, res: Response, next: NextFunction): void;
    /** Closes the upstream connections. */
    close(): void;
}
/** Upstream keep-alive pool; per gateway, so two gateways share nothing. */
export declare const UPSTREAM_MAX_CONNECTIONS = 256;
export declare function createProxyStage(options: ProxyStageOptions): ProxyStage;
