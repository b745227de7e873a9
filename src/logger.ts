// The logger every stage receives. Its call shape is pino's (fields, message), so F4 can hand in
// a pino instance unchanged; until then the CLI logs logfmt lines to stderr, like Prometheus.
export type LogFields = Record<string, unknown>;
type LogMethod = (fields: LogFields, message: string) => void;

export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

export type LogLevel = keyof Logger;
const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

const noop = () => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

function formatValue(value: unknown): string {
  const text = value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value);
  return /^[^\s"=]+$/.test(text ?? '') ? String(text) : JSON.stringify(text ?? '');
}

/** logfmt lines (`time=... level=warn msg="..." key=value`) written to a stream, default stderr. */
export function createLogfmtLogger(
  minLevel: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const threshold = LEVELS.indexOf(minLevel);
  const method = (level: LogLevel): LogMethod =>
    LEVELS.indexOf(level) < threshold
      ? noop
      : (fields, message) => {
          let line = `time=${new Date().toISOString()} level=${level} msg=${formatValue(message)}`;
          for (const [key, value] of Object.entries(fields)) line += ` ${key}=${formatValue(value)}`;
          write(`${line}\n`);
        };
  return { debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') };
}
