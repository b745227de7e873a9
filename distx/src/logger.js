// The logger every stage receives: pino's call shape (fields, message). The CLI builds a pino
// logger writing to stderr, as Prometheus does, in one of Prometheus's formats (json, logfmt) or
// pino-pretty for people at a terminal; library users may hand in any pino-compatible logger.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import PinoPretty from 'pino-pretty';
const noop = () => { };
export const silentLogger = { debug: noop, info: noop, warn: noop, error: noop };
export function createLogger(options = {}) {
    const { level = 'info', destination = 2 } = options;
    const isTerminal = typeof destination === 'number' && process.stderr.isTTY && destination === 2;
    const format = options.format ?? (isTerminal ? 'pretty' : 'json');
    const settings = {
        level,
        base: undefined, // no pid/hostname on every line: the container runtime knows both
        messageKey: 'msg',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
    };
    const out = typeof destination === 'number'
        ? pino.destination({ dest: destination, sync: format !== 'json' })
        : new Writable({ write: (chunk, _encoding, done) => (destination.write(chunk.toString()), done()) });
    if (format === 'pretty') {
        return pino(settings, PinoPretty({ destination: out, colorize: isTerminal, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
    }
    if (format === 'logfmt')
        return pino(settings, { write: (line) => out.write(toLogfmt(line)) });
    return pino(settings, out);
}
/** One pino JSON line as logfmt, `time=... level=... msg=... key=value`, like Prometheus's logs. */
export function toLogfmt(jsonLine) {
    const record = JSON.parse(jsonLine);
    let line = '';
    for (const [key, value] of Object.entries(record))
        line += `${line ? ' ' : ''}${key}=${formatValue(value)}`;
    return `${line}\n`;
}
function formatValue(value) {
    const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
    return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}
/** The logger itself when it is pino's; otherwise a pino logger whose lines go to its methods. */
export function asPinoLogger(logger) {
    const candidate = logger;
    if (typeof candidate.child === 'function' && typeof candidate.levels === 'object')
        return logger;
    return pino({ base: undefined, timestamp: false, formatters: { level: (label) => ({ level: label }) } }, {
        write(line) {
            const { level, msg, ...fields } = JSON.parse(line);
            (logger[level] ?? logger.info)(fields, msg);
        },
    });
}
//# sourceMappingURL=logger.js.map