import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/index.ts';
import { toLogfmt } from '../../src/logger.ts';
import { cleanEnv, startCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { makeTestCertificate } from '../helpers/tls.ts';

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

  it('writes logfmt like Prometheus, quoting values with spaces, quotes or =', () => {
    const { logger, lines } = capture({ format: 'logfmt' });
    logger.warn({ path: '/a b', n: 3, ok: true, tricky: 'x="y"' }, 'upstream is not ready');
    assert.match(lines[0]!, /^level=warn time=\S+Z path="\/a b" n=3 ok=true tricky="x=\\"y\\"" msg="upstream is not ready"\n$/);
    assert.equal(toLogfmt('{"level":"info","msg":"plain"}'), 'level=info msg=plain\n');
  });

  it('drops lines below the configured level', () => {
    const { logger, lines } = capture({ format: 'json', level: 'warn' });
    logger.debug({}, 'd');
    logger.info({}, 'i');
    logger.warn({}, 'w');
    logger.error({}, 'e');
    assert.deepEqual(lines.map((line) => (JSON.parse(line) as { msg: string }).msg), ['w', 'e']);
  });

  it('pretty-prints for people, without JSON braces', () => {
    const { logger, lines } = capture({ format: 'pretty' });
    logger.info({ address: '127.0.0.1:8443' }, 'promgate listening');
    const text = lines.join('');
    assert.match(text, /INFO.*promgate listening/);
    assert.match(text, /address: "127\.0\.0\.1:8443"/);
    assert.doesNotMatch(text, /^\{/m);
  });

  it('follows --log.format and --log.level in the CLI', async () => {
    const cert = await makeTestCertificate();
    const env = cleanEnv({ PROMGATE_TLS_CERT_FILE: cert.certFile, PROMGATE_TLS_KEY_FILE: cert.keyFile });
    const logfmt = startCli([`--web.listen-address=127.0.0.1:${await freePort()}`, '--log.format=logfmt'], { env });
    try {
      await logfmt.listening;
      assert.match(logfmt.logs(), /^level=info time=\S+ address=127\.0\.0\.1:\d+ base_path=\/prometheus upstream=http:\/\/localhost:9090 auth=off msg="promgate listening"$/m);
    } finally {
      await logfmt.stop();
    }
    const quiet = startCli([`--web.listen-address=127.0.0.1:${await freePort()}`, '--log.level=warn'], { env });
    try {
      // Only warnings: the upstream (nothing on :9090) is reported as not ready, "listening" is not.
      for (let i = 0; i < 100 && !quiet.logs().includes('upstream is not ready'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.match(quiet.logs(), /"level":"warn".*"msg":"upstream is not ready"/);
      assert.doesNotMatch(quiet.logs(), /"level":"info"/);
    } finally {
      await quiet.stop();
    }
  });
});
