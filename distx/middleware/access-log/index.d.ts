import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger as PinoLogger } from 'pino';
import '../../src/request-state.ts';
export type AccessLogStage = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
export declare function createAccessLogStage(logger: PinoLogger): AccessLogStage;
