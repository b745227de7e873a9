import { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from './config/schema.ts';
import type { Gateway } from './gateway.ts';
import type { Logger } from './logger.ts';
type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
export interface DispatcherOptions {
    routes: readonly Config[];
    gateways: readonly Gateway[];
    /** The listener's health answers, speaking for every route. */
    health: Handler;
    landingPage: boolean;
    logger: Logger;
    /** True once shutdown began: answers then say `Connection: close`. */
    isClosing: () => boolean;
}
export interface Dispatcher {
    handle(req: IncomingMessage, res: ServerResponse): void;
    /** For the server's options: the request and response classes carrying Express's prototypes. */
    readonly IncomingMessage: typeof IncomingMessage;
    readonly ServerResponse: typeof ServerResponse;
}
export declare function createDispatcher(options: DispatcherOptions): Dispatcher;
export declare function sendText(res: ServerResponse, status: number, body: string): void;
export {};
