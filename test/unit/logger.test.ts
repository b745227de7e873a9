import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/index.ts';
import { pino } from 'pino';
import { flatLineWriter, toLogfmt } from '../../src/logger.ts';
import { cleanEnv, startCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { waitFor } from '../helpers/wait.ts';

function capture(options: Parameters<typeof createLogger>[0]) {
  const lines: string[] = [];
  const logger = createLogger({ ...options, destination: { write: (line: string) => lines.push(line) } });
  return { logger, lines };
}

describe('logger', () => {
  it('writes JSON lines with an ISO time, a level name and msg', () => {
    const { logger, lines } = capture({ format: 'json' });
    logger.info({ file: '/certs/tls.crt' }, 'reloaded');
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(line).sort(), ['file', 'level', 'msg', 'time']);
    assert.equal(line.level, 'info');
    assert.equal(line.msg, 'reloaded');
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('formats the time once per millisecond, each line still with its own millisecond', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-11-24T10:00:00.000Z') });
    const formatted = t.mock.method(Date.prototype, 'toISOString');
    const { logger, lines } = capture({ format: 'json' });
    logger.info({}, 'first');
    logger.info({}, 'same millisecond');
    t.mock.timers.tick(1);
    logger.info({}, 'next millisecond');
    assert.deepEqual(
      lines.map((line) => (JSON.parse(line) as { time: string }).time),
      ['2026-11-24T10:00:00.000Z', '2026-11-24T10:00:00.000Z', '2026-11-24T10:00:00.001Z'],
    );
    assert.equal(formatted.mock.callCount(), 2);
  });

  it('writes flat fields byte for byte as pino would, without pino', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-11-25T10:00:00.000Z') });
    const { logger, lines } = capture({ format: 'json' });
    const pinoCalls = t.mock.method(logger, 'info');
    const fields = {
      id: 7,
      path: '/a "quoted" \\ path\n\u0001é',
      status: 200,
      ms: 1.25,
      none: undefined,
      aborted: true,
      nan: Number.NaN,
      user: 'bob',
    };
    flatLineWriter(logger)!('info', fields, 'request');
    assert.equal(pinoCalls.mock.callCount(), 0);
    pinoCalls.mock.restore();
    logger.info(fields, 'request');
    assert.equal(lines.length, 2);
    assert.equal(lines[0], lines[1]);
    assert.deepEqual(JSON.parse(lines[0]!), {
      level: 'info',
      time: '2026-11-25T10:00:00.000Z',
      id: 7,
      path: fields.path,
      status: 200,
      ms: 1.25,
      aborted: true,
      nan: null,
      user: 'bob',
      msg: 'request',
    });
  });

  it('writes flat lines at the configured level, and only for its own JSON loggers', () => {
    const { logger, lines } = capture({ format: 'json', level: 'warn' });
    flatLineWriter(logger)!('info', { n: 1 }, 'dropped');
    flatLineWriter(logger)!('warn', { n: 2 }, 'kept');
    assert.deepEqual(
      lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
      ['kept'],
    );
    // A child adds its bindings, other formats and loggers have their own settings: pino writes those.
    assert.equal(flatLineWriter(logger.child({ component: 'x' })), undefined);
    assert.equal(flatLineWriter(capture({ format: 'logfmt' }).logger), undefined);
    assert.equal(flatLineWriter(pino({ enabled: false })), undefined);
  });

  it('writes logfmt like Prometheus, quoting values with spaces, quotes or =', () => {
    const { logger, lines } = capture({ format: 'logfmt' });
    logger.warn({ path: '/a b', n: 3, ok: true, tricky: 'x="y"' }, 'upstream is not ready');
    assert.match(
      lines[0]!,
      /^level=warn time=\S+Z path="\/a b" n=3 ok=true tricky="x=\\"y\\"" msg="upstream is not ready"\n$/,
    );
    assert.equal(toLogfmt('{"level":"info","msg":"plain"}'), 'level=info msg=plain\n');
  });

  it('drops lines below the configured level', () => {
    const { logger, lines } = capture({ format: 'json', level: 'warn' });
    logger.debug({}, 'd');
    logger.info({}, 'i');
    logger.warn({}, 'w');
    logger.error({}, 'e');
    assert.deepEqual(
      lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
      ['w', 'e'],
    );
  });

  it('pretty-prints for people, without JSON braces', () => {
    const { logger, lines } = capture({ format: 'pretty' });
    logger.info({ address: '127.0.0.1:8443' }, 'promgate listening');
    const text = lines.join('');
    assert.match(text, /INFO.*promgate listening/);
    assert.match(text, /address: "127\.0\.0\.1:8443"/);
    assert.doesNotMatch(text, /^\{/m);
  });

  it('writes a burst of warnings to a file descriptor at once, without piling up listeners', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promgate-log-'));
    const file = join(dir, 'log');
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const logger = createLogger({ format: 'json', destination: openSync(file, 'w') });
      for (let id = 1; id <= 40; id++) logger.warn({ request_id: id, aborted: true }, 'request');
      const written = () => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
      // Well before the 1 s flush interval that info lines wait for.
      await waitFor(() => written() >= 40, {
        timeoutMs: 500,
        intervalMs: 10,
        message: () => `40 lines, ${written()} written`,
      });
      assert.equal(written(), 40);
      assert.deepEqual(
        warnings.map((warning) => warning.name),
        [],
      );
    } finally {
      process.off('warning', onWarning);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds a timer and an exit listener only while lines wait', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promgate-log-'));
    const file = join(dir, 'log');
    const exitListeners = process.listenerCount('exit');
    try {
      const logger = createLogger({ format: 'json', destination: openSync(file, 'w') });
      assert.equal(process.listenerCount('exit'), exitListeners, 'none for a logger that wrote nothing');
      logger.info({ request_id: 1 }, 'request');
      assert.equal(process.listenerCount('exit'), exitListeners + 1, 'one while the line waits');
      assert.equal(readFileSync(file, 'utf8'), '', 'an info line waits for its buffer');
      await waitFor(() => readFileSync(file, 'utf8'), { timeoutMs: 3000, message: 'the info line in the file' });
      assert.match(readFileSync(file, 'utf8'), /"request_id":1,"msg":"request"/, 'written within the flush interval');
      assert.equal(process.listenerCount('exit'), exitListeners, 'none once written');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the buffered lines when the process exits', () => {
    const script = `import { createLogger } from ${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)};
      createLogger({ format: 'json', destination: 2 }).info({ request_id: 7 }, 'request');
      process.exit(0);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '--eval', script], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stderr, /"request_id":7,"msg":"request"/);
  });

  it('follows --log.format and --log.level in the CLI', async () => {
    const cert = await makeTestCertificate();
    const env = cleanEnv({ PROMGATE_TLS_CERT_FILE: cert.certFile, PROMGATE_TLS_KEY_FILE: cert.keyFile });
    const logfmt = startCli([`--web.listen-address=127.0.0.1:${await freePort()}`, '--log.format=logfmt'], { env });
    try {
      await logfmt.listening;
      assert.match(
        logfmt.logs(),
        /^level=info time=\S+ address=127\.0\.0\.1:\d+ base_path=\/prometheus upstream=http:\/\/localhost:9090 auth=off msg="promgate listening"$/m,
      );
    } finally {
      await logfmt.stop();
    }
    // An upstream on a port nothing listens on: the default (:9090) may be a real Prometheus here.
    const downUpstream = `http://127.0.0.1:${await freePort()}`;
    const quiet = startCli(
      [`--web.listen-address=127.0.0.1:${await freePort()}`, `--upstream.url=${downUpstream}`, '--log.level=warn'],
      { env },
    );
    try {
      // Only warnings: the upstream is reported as not ready, "listening" is not.
      await waitFor(() => quiet.logs().includes('upstream is not ready'), {
        message: () => `the readiness warning; logs:\n${quiet.logs()}`,
      });
      assert.match(quiet.logs(), /"level":"warn".*"msg":"upstream is not ready"/);
      assert.doesNotMatch(quiet.logs(), /"level":"info"/);
    } finally {
      await quiet.stop();
    }
  });
});
