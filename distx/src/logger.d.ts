import { type Logger as PinoLogger } from 'pino';
import type { LOG_FORMATS, LOG_LEVELS } from './config/schema.ts';
export type LogFields = Record<string, unknown>;
type LogMethod = (fields: LogFields, message: string) => void;
export interface Logger {
    debug: LogMethod;
    info: LogMethod;
    warn: LogMethod;
    error: LogMethod;
}
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];
export declare const silentLogger: Logger;
export interface LoggerOptions {
    level?: LogLevel;
    /** Default: pretty when the destination is a terminal, json otherwise. */
    format?: LogFormat | undefined;
    /** A file descriptor (default 2, stderr) or a stream of lines (tests). */
    destination?: number | {
        write(line: string): unknown;
    };
}
export declare function createLogger(options?: LoggerOptions): PinoLogger;
/** One pino JSON line as logfmt, `time=... level=... msg=... key=value`, like Prometheus's logs. */
export declare function toLogfmt(jsonLine: string): string;
/** The logger itself when it is pino's; otherwise a pino logger whose lines go to its methods. */
export declare function asPinoLogger(logger: Logger): PinoLogger;
export {};
