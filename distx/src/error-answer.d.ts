import { type ServerResponse } from 'node:http';
export declare function sendError(res: ServerResponse, path: string, status: number, errorType: string, message: string, headers?: Record<string, string>): void;
