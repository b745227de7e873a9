// The logger shape every stage receives: pino's call shape (fields, message). The implementation
// (pino, formats, buffering) is src/logger.ts; stages need only this.
export type LogFields = Record<string, unknown>;
type LogMethod = (fields: LogFields, message: string) => void;

export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

const noop = () => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Fields of a line written per request: strings, numbers and booleans; undefined ones are left out. */
export type FlatFields = Record<string, string | number | boolean | undefined>;
/** Writes a line of flat fields, exactly as the logger's `info`/`warn` would. */
export type FlatLineWriter = (level: 'info' | 'warn', fields: FlatFields, msg: string) => void;
