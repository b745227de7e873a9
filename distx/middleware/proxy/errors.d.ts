import { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../src/logger.ts';
import type { UpstreamErrorKind } from '../metrics/index.ts';
export declare const UPSTREAM_TIMEOUT_CODE = "PROMGATE_UPSTREAM_TIMEOUT";
export declare class UpstreamTimeoutError extends Error {
    readonly code = "PROMGATE_UPSTREAM_TIMEOUT";
    constructor(timeoutMs: number);
}
export declare function upstreamErrorKind(error: {
    code?: string;
}): UpstreamErrorKind;
export declare function answerUpstreamError(error: Error & {
    code?: string;
}, req: IncomingMessage, res: ServerResponse, logger: Logger, securityHeaders: {
    handle(req: IncomingMessage, res: ServerResponse, next: () => void): void;
}, onUpstreamError?: (kind: UpstreamErrorKind) => void): void;
