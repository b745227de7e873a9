// The logger every stage receives: pino's call shape (fields, message). The CLI builds a pino
// logger writing to stderr, as Prometheus does, in one of Prometheus's formats (json, logfmt) or
// pino-pretty for people at a terminal; library users may hand in any pino-compatible logger.
import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import PinoPretty from 'pino-pretty';
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

const noop = () => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export interface LoggerOptions {
  level?: LogLevel;
  /** Default: pretty when the destination is a terminal, json otherwise. */
  format?: LogFormat | undefined;
  /** A file descriptor (default 2, stderr) or a stream of lines (tests). */
  destination?: number | { write(line: string): unknown };
}

export function createLogger(options: LoggerOptions = {}): PinoLogger {
  const { level = 'info', destination = 2 } = options;
  const isTerminal = typeof destination === 'number' && process.stderr.isTTY && destination === 2;
  const format = options.format ?? (isTerminal ? 'pretty' : 'json');
  const buffered = typeof destination === 'number' && format === 'json';
  const out: DestinationStream =
    typeof destination === 'number'
      ? bufferedDestination(destination, buffered)
      : new Writable({ write: (chunk: Buffer, _encoding, done) => (destination.write(chunk.toString()), done()) });
  const flushNow = buffered ? urgentFlusher(out as SonicBoom) : noop;
  const settings: pino.LoggerOptions = {
    level,
    base: undefined, // no pid/hostname on every line: the container runtime knows both
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    // Buffered: warnings and errors are written at once, taking the lines before them along.
    hooks: buffered
      ? {
          logMethod(args, method, level) {
            method.apply(this, args);
            if (level >= WARN_LEVEL) flushNow();
          },
        }
      : {},
  };
  if (format === 'pretty') {
    return pino(settings, PinoPretty({ destination: out as NodeJS.WritableStream, colorize: isTerminal, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  if (format === 'logfmt') return pino(settings, { write: (line) => out.write(toLogfmt(line)) });
  return pino(settings, out);
}

const WARN_LEVEL = 40; // pino's number for warn

/** Bytes of JSON lines collected before one write, like nginx's `access_log ... buffer=`. */
export const LOG_BUFFER_BYTES = 8 * 1024; // sonic-boom wants it below its 16 KiB maxWrite
/** The longest a line waits in that buffer (nginx's `flush=`). */
export const LOG_FLUSH_INTERVAL_MS = 1000;

type SonicBoom = ReturnType<typeof pino.destination>;

/**
 * JSON lines go out asynchronously, a buffer at a time, at least every second (warnings and errors
 * at once, see createLogger): a write per access line cost ~7% of the small-API rate (F6). pino
 * flushes the buffer synchronously at exit. The other formats are for people reading along, so
 * they are written at once.
 */
function bufferedDestination(fd: number, buffered: boolean): SonicBoom {
  if (!buffered) return pino.destination({ dest: fd, sync: true });
  const out = pino.destination({ dest: fd, sync: false, minLength: LOG_BUFFER_BYTES });
  setInterval(() => out.flush(), LOG_FLUSH_INTERVAL_MS).unref(); // an empty buffer costs an empty write

  return out;
}

/**
 * Writes the buffer now, or right after the write in progress. Not pino's `logger.flush()`: that
 * fsyncs and adds two listeners per call until the write ends, so a burst of warnings (every
 * aborted request at shutdown) tripped Node's MaxListenersExceededWarning.
 */
function urgentFlusher(out: SonicBoom): () => void {
  let queued = false;
  const flushAfterWrite = () => {
    queued = false;
    out.flush(); // 'drain' never comes once the stream is ending
  };
  return () => {
    out.flush(); // does nothing while a write is in progress
    if (queued) return;
    queued = true;
    out.once('drain', flushAfterWrite);
  };
}

/** One pino JSON line as logfmt, `time=... level=... msg=... key=value`, like Prometheus's logs. */
export function toLogfmt(jsonLine: string): string {
  const record = JSON.parse(jsonLine) as LogFields;
  let line = '';
  for (const [key, value] of Object.entries(record)) line += `${line ? ' ' : ''}${key}=${formatValue(value)}`;
  return `${line}\n`;
}

function formatValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** The logger itself when it is pino's; otherwise a pino logger whose lines go to its methods. */
export function asPinoLogger(logger: Logger): PinoLogger {
  const candidate = logger as Partial<PinoLogger>;
  if (typeof candidate.child === 'function' && typeof candidate.levels === 'object') return logger as PinoLogger;
  return pino({ base: undefined, timestamp: false, formatters: { level: (label: string) => ({ level: label }) } }, {
    write(line: string) {
      const { level, msg, ...fields } = JSON.parse(line) as LogFields & { level: LogLevel; msg: string };
      (logger[level] ?? logger.info)(fields, msg);
    },
  });
}
