// The logger every stage receives: pino's call shape (fields, message). The CLI builds a pino
// logger writing to stderr, as Prometheus does, in one of Prometheus's formats (json, logfmt) or
// pino-pretty for people at a terminal; library users may hand in any pino-compatible logger.
import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type PinoPrettyModule from 'pino-pretty';
import type { LOG_FORMATS, LOG_LEVELS } from './config/schema.ts';

import type { FlatFields, FlatLineWriter, Logger, LogFields } from './kernel/logger.ts';
import { lazyModule } from './kernel/lazy-module.ts';

// Only for a terminal or `--log.format=pretty`: a gateway logging JSON never loads it.
const pinoPretty = lazyModule<typeof PinoPrettyModule>('pino-pretty');

export type { FlatFields, FlatLineWriter, Logger, LogFields } from './kernel/logger.ts';
export { silentLogger } from './kernel/logger.ts';

export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

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
  // JSON to a file descriptor is collected and written a buffer at a time (collectLines); the
  // other formats are for people reading along, so they are written at once.
  const collected =
    typeof destination === 'number' && format === 'json'
      ? collectLines(pino.destination({ dest: destination, sync: true }))
      : undefined;
  const out: DestinationStream =
    collected ??
    (typeof destination === 'number'
      ? pino.destination({ dest: destination, sync: true })
      : new Writable({ write: (chunk: Buffer, _encoding, done) => (destination.write(chunk.toString()), done()) }));
  const time = createIsoTime();
  const settings: pino.LoggerOptions = {
    level,
    base: undefined, // no pid/hostname on every line: the container runtime knows both
    messageKey: 'msg',
    timestamp: time,
    formatters: { level: (label: string) => ({ level: label }) },
    // Collected: warnings and errors are written at once, taking the lines before them along.
    hooks: collected
      ? {
          logMethod(args, method, level) {
            method.apply(this, args);
            if (level >= WARN_LEVEL) collected.flush();
          },
        }
      : {},
  };
  if (format === 'pretty') {
    return pino(
      settings,
      pinoPretty()({
        destination: out as NodeJS.WritableStream,
        colorize: isTerminal,
        sync: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  if (format === 'logfmt') return pino(settings, { write: (line) => out.write(toLogfmt(line)) });
  const logger: PinoLogger & { [FLAT_LINE]?: FlatLineWriter } = pino(settings, out);
  logger[FLAT_LINE] = (level, fields, msg) => {
    if (!logger.isLevelEnabled(level)) return;
    out.write(`{"level":"${level}"${time()}${flatJson(fields)},"msg":${JSON.stringify(msg)}}\n`);
    if (level === 'warn') collected?.flush();
  };
  return logger;
}

const FLAT_LINE = Symbol('promgate.logger.flatLine');

/**
 * A JSON logger's own writer for flat fields, or undefined for any other logger (pino's settings,
 * child bindings or a user's formatters then apply). pino's generic serializer (serializers,
 * redaction, nested values) cost ~1.5 us of the ~2.2 us an access line took.
 */
export function flatLineWriter(logger: PinoLogger): FlatLineWriter | undefined {
  // Own property only: a child logger inherits it, but must add its bindings.
  return Object.hasOwn(logger, FLAT_LINE) ? (logger as { [FLAT_LINE]?: FlatLineWriter })[FLAT_LINE] : undefined;
}

/** Characters JSON.stringify escapes: quote, backslash, control characters, lone surrogate halves. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `,"key":value` for each defined field, in order, as pino writes them: keys as they are, non-finite numbers as null. */
function flatJson(fields: FlatFields): string {
  let json = '';
  for (const key in fields) {
    const value = fields[key];
    switch (typeof value) {
      case 'undefined':
        continue;
      case 'string':
        // Most values need no escaping, and the test is cheaper than JSON.stringify.
        json += NEEDS_ESCAPE.test(value) ? `,"${key}":${JSON.stringify(value)}` : `,"${key}":"${value}"`;
        break;
      case 'number':
        json += Number.isFinite(value) ? `,"${key}":${value}` : `,"${key}":null`;
        break;
      default:
        json += `,"${key}":${value}`;
    }
  }
  return json;
}

const WARN_LEVEL = 40; // pino's number for warn

/**
 * pino's isoTime, formatted once per millisecond: at ten thousand access lines a second most
 * lines share their millisecond with the line before (`toISOString` was ~1% of busy CPU).
 */
function createIsoTime(): () => string {
  let formattedAt = -1;
  let formatted = '';
  return () => {
    const now = Date.now();
    if (now !== formattedAt) {
      formattedAt = now;
      formatted = `,"time":"${new Date(now).toISOString()}"`;
    }
    return formatted;
  };
}

/** JSON lines collected (in characters) before one write, like nginx's `access_log ... buffer=`. */
export const LOG_BUFFER_CHARS = 8 * 1024;
/** The longest a line waits in that buffer (nginx's `flush=`). */
export const LOG_FLUSH_INTERVAL_MS = 1000;

interface BufferedDestination extends DestinationStream {
  /** Writes the collected lines now (pino's `logger.flush()` lands here too). */
  flush(done?: (error?: Error) => void): void;
}

/**
 * JSON lines written a buffer at a time (synchronously, as nginx writes its access log), at most
 * a second after the first of them and at exit; warnings and errors at once (createLogger's
 * hook). A write per access line cost ~7% of the small-API rate.
 *
 * Our own buffer in front of a synchronous sonic-boom, not sonic-boom's `minLength` one: that
 * re-copies its whole buffered string for every line appended (Buffer.byteLength flattens the
 * growing concatenation), ~7 KB of garbage per access line, a fifth of everything the request
 * path allocated. Here a line is appended as a rope and flattened once, when written.
 */
function collectLines(out: DestinationStream): BufferedDestination {
  let pending = '';
  // Armed only while lines wait, so an idle logger (or one a library user dropped) holds no timer
  // and no exit listener.
  let timer: NodeJS.Timeout | undefined;
  const flushAtExit = () => flush();
  const flush = (done?: (error?: Error) => void) => {
    if (pending) {
      const text = pending;
      pending = '';
      out.write(text);
    }
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
      process.off('exit', flushAtExit);
    }
    done?.();
  };
  return {
    write(line: string) {
      if (!timer) {
        timer = setTimeout(flushAtExit, LOG_FLUSH_INTERVAL_MS).unref();
        process.once('exit', flushAtExit);
      }
      pending += line;
      if (pending.length >= LOG_BUFFER_CHARS) flush();
    },
    flush,
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
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** The logger itself when it is pino's; otherwise a pino logger whose lines go to its methods. */
export function asPinoLogger(logger: Logger): PinoLogger {
  const candidate = logger as Partial<PinoLogger>;
  if (typeof candidate.child === 'function' && typeof candidate.levels === 'object') return logger as PinoLogger;
  return pino(
    { base: undefined, timestamp: false, formatters: { level: (label: string) => ({ level: label }) } },
    {
      write(line: string) {
        const { level, msg, ...fields } = JSON.parse(line) as LogFields & { level: LogLevel; msg: string };
        (logger[level] ?? logger.info)(fields, msg);
      },
    },
  );
}

/** How the access log writes its lines on this logger: a JSON logger of ours writes the flat fields itself; any other gets pino's call. */
export function accessLineWriter(logger: Logger): FlatLineWriter {
  const pinoLogger = asPinoLogger(logger);
  return flatLineWriter(pinoLogger) ?? ((level, fields, msg) => pinoLogger[level](fields, msg));
}
