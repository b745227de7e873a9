import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, OPTIONS, validateConfig } from '../../src/index.ts';
import { parseDuration } from '../../src/config/schema.ts';

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'promgate-config-'));
  const file = join(dir, 'promgate.yml');
  writeFileSync(file, text);
  return file;
}

describe('config loading', () => {
  it('fills every default when nothing is given', () => {
    const { config } = loadConfig({ env: {} });
    assert.equal(config.web.listenAddress, '0.0.0.0:8443');
    assert.equal(config.basePath, '/prometheus');
    assert.equal(config.upstream.url, 'http://localhost:9090');
    assert.equal(config.upstream.timeout, '3m');
    assert.equal(config.upstream.forwardAuthorization, false);
    assert.deepEqual(config.tls, {});
  });

  it('applies flags over env over file over defaults', () => {
    const file = configFile(
      'upstream:\n  url: http://file:9090\n  timeout: 10s\nbasePath: /from-file\nweb:\n  listenAddress: 127.0.0.1:1\n',
    );
    const { config } = loadConfig({
      configFile: file,
      env: { PROMGATE_UPSTREAM_URL: 'http://env:9090', PROMGATE_BASE_PATH: '/from-env' },
      flags: { 'upstream.url': 'http://flag:9090' },
    });
    assert.equal(config.upstream.url, 'http://flag:9090');
    assert.equal(config.basePath, '/from-env');
    assert.equal(config.upstream.timeout, '10s');
    assert.equal(config.web.listenAddress, '127.0.0.1:1');
  });

  it('reads the config file named by PROMGATE_CONFIG_FILE', () => {
    const file = configFile('basePath: /via-env-file\n');
    assert.equal(loadConfig({ env: { PROMGATE_CONFIG_FILE: file } }).config.basePath, '/via-env-file');
  });

  it('treats an empty file as defaults', () => {
    assert.equal(loadConfig({ configFile: configFile(''), env: {} }).config.basePath, '/prometheus');
  });

  it('names file, line and key of an unknown key, with a suggestion', () => {
    const file = configFile('upstream:\n  url: http://a:9090\n  timout: 3s\n');
    assert.throws(
      () => loadConfig({ configFile: file, env: {} }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.message, `${file}:3: upstream.timout: unknown key (did you mean "timeout"?)`);
        return true;
      },
    );
  });

  it('names the line of a bad value in the file', () => {
    const file = configFile('# comment\nbasePath: no-slash\n');
    assert.throws(() => loadConfig({ configFile: file, env: {} }), {
      message: new RegExp(`^${file}:2: basePath: must be "/"`),
    });
  });

  it('names the env var or flag that set a bad value', () => {
    assert.throws(() => loadConfig({ env: { PROMGATE_UPSTREAM_TIMEOUT: 'soon' } }), {
      message: 'PROMGATE_UPSTREAM_TIMEOUT: upstream.timeout: must be a duration such as 30s, 3m or 1h30m',
    });
    assert.throws(() => loadConfig({ env: {}, flags: { 'web.listen-address': 'nowhere' } }), {
      message: /^--web\.listen-address: web\.listenAddress: must be host:port/,
    });
  });

  it('reports YAML syntax errors with their line', () => {
    const file = configFile('upstream:\n  url: [unclosed\n');
    assert.throws(() => loadConfig({ configFile: file, env: {} }), {
      message: new RegExp(`^${file}:\\d+: invalid YAML`),
    });
  });

  it('fails on a missing config file, naming it', () => {
    assert.throws(() => loadConfig({ configFile: '/nonexistent/promgate.yml', env: {} }), {
      message: /^\/nonexistent\/promgate\.yml: cannot read config file/,
    });
  });

  it('warns about unknown PROMGATE_ variables instead of failing (Kubernetes injects service ones)', () => {
    const { warnings } = loadConfig({ env: { PROMGATE_SERVICE_HOST: '10.0.0.1', PROMGATE_UPSTREAM_URLL: 'x' } });
    assert.equal(warnings.length, 2);
    assert.match(warnings[1] ?? '', /PROMGATE_UPSTREAM_URLL.*did you mean "PROMGATE_UPSTREAM_URL"/);
  });

  it('resolves relative certificate paths against the config file folder, and flags against cwd', () => {
    const file = configFile('tls:\n  certFile: a.crt\n  keyFile: /abs/a.key\n');
    const dir = join(file, '..');
    const { config } = loadConfig({ configFile: file, env: {} });
    assert.equal(config.tls.certFile, join(dir, 'a.crt'));
    assert.equal(config.tls.keyFile, '/abs/a.key');
    const fromFlag = loadConfig({ env: {}, flags: { 'tls.cert-file': 'b.crt' }, cwd: '/work' });
    assert.equal(fromFlag.config.tls.certFile, '/work/b.crt');
  });

  it('parses typed env values: booleans, lists and header maps', () => {
    const { config } = loadConfig({
      env: {
        PROMGATE_UPSTREAM_FORWARD_AUTHORIZATION: 'true',
        PROMGATE_TRUST_PROXY: '10.0.0.0/8, ::1',
        PROMGATE_HEADERS: '{"X-Frame-Options":"DENY"}',
      },
    });
    assert.equal(config.upstream.forwardAuthorization, true);
    assert.deepEqual(config.trustProxy, ['10.0.0.0/8', '::1']);
    assert.deepEqual(config.headers, { 'X-Frame-Options': 'DENY' });
    assert.throws(() => loadConfig({ env: { PROMGATE_UPSTREAM_FORWARD_AUTHORIZATION: 'yes please' } }), {
      message: /must be true or false/,
    });
  });

  it('rejects base paths with dot segments and upstreams that are not http(s)', () => {
    assert.throws(() => validateConfig({ basePath: '/a/../b' }), {
      message: /basePath: must not contain \. or \.\. segments/,
    });
    assert.throws(() => validateConfig({ upstream: { url: 'ftp://x' } }), {
      message: /upstream\.url: must be an http/,
    });
    assert.throws(() => validateConfig({ trustProxy: ['10.0.0.0/33'] }), {
      message: /trustProxy\.0: must be an IP address or CIDR/,
    });
    assert.throws(() => validateConfig({ upstream: { url: 'http://:hunter2@127.0.0.1:9090' } }), {
      message: /upstream\.url: must be an http:\/\/ or https:\/\/ URL without credentials/,
    });
    assert.throws(() => validateConfig({ auth: { cacheSize: 0 } }), { message: /auth\.cacheSize: Too small/ });
    assert.throws(() => validateConfig({ auth: { cacheTtl: '0s' } }), {
      message: /auth\.cacheTtl: must be longer than 0s/,
    });
  });

  it('derives flag and env names from the schema keys', () => {
    const byKey = Object.fromEntries(OPTIONS.map((option) => [option.key, option]));
    assert.equal(byKey['web.listenAddress']?.flag, 'web.listen-address');
    assert.equal(byKey['web.listenAddress']?.env, 'PROMGATE_WEB_LISTEN_ADDRESS');
    assert.equal(byKey['tls.certFile']?.flag, 'tls.cert-file');
    assert.equal(byKey['upstream.url']?.env, 'PROMGATE_UPSTREAM_URL');
    assert.equal(byKey.basePath?.flag, 'base-path');
    for (const option of OPTIONS) assert.ok(option.description.length > 0, `${option.key} has a description`);
    assert.deepEqual(
      OPTIONS.filter((option) => option.fileOnly).map((option) => option.key),
      ['routes', 'plugins', 'accessControl.roles'],
    );
  });

  it('names the key of a Redis URL that cannot be read, without echoing it', () => {
    assert.throws(
      () => validateConfig({ rateLimit: { redis: { url: 'redis://:s3cr%t@host:6379' } } }),
      (error: Error) => {
        assert.match(error.message, /rateLimit\.redis\.url: must be a redis:\/\/ or rediss:\/\/ URL/);
        assert.doesNotMatch(error.message, /s3cr/);
        return true;
      },
    );
  });

  it('takes structured settings (access-control roles) from the config file only', () => {
    assert.throws(() => loadConfig({ env: { PROMGATE_ACCESS_CONTROL_ROLES: 'ops=x' } }), {
      message: /^PROMGATE_ACCESS_CONTROL_ROLES: accessControl\.roles can only be set in the config file$/,
    });
  });
});

describe('config errors say what belongs there, at the line that set it', () => {
  // [what, YAML, line, key, message]
  const CASES: Array<[string, string, number, string, string]> = [
    [
      'a number where an address belongs',
      'web:\n  listenAddress: 8443\n',
      2,
      'web.listenAddress',
      'must be host:port, e.g. 0.0.0.0:8443 or [::]:8443 (got the number 8443)',
    ],
    [
      'a number where a URL belongs',
      'upstream:\n  url: 9090\n',
      2,
      'upstream.url',
      'must be an http:// or https:// URL without credentials, query or fragment, e.g. http://localhost:9090 (got the number 9090)',
    ],
    [
      'a boolean where a duration belongs',
      'upstream:\n  timeout: true\n',
      2,
      'upstream.timeout',
      'must be a duration such as 30s, 3m or 1h30m (got the boolean true)',
    ],
    [
      'a number where any text is fine',
      'auth:\n  realm: 2024\n',
      2,
      'auth.realm',
      'must be text: quote it, e.g. "2024" (got the number 2024)',
    ],
    [
      'a number as a map value',
      'headers:\n  X-Build: 7\n',
      2,
      'headers.X-Build',
      'must be text: quote it, e.g. "7" (got the number 7)',
    ],
    [
      'text where a number belongs',
      'web:\n  maxConnections: "512"\n',
      2,
      'web.maxConnections',
      'must be a number (got the text "512")',
    ],
    [
      'text where a boolean belongs',
      'landingPage: "yes"\n',
      1,
      'landingPage',
      'must be true or false (got the text "yes")',
    ],
    [
      'text where a list belongs',
      'trustProxy: 10.0.0.0/8\n',
      1,
      'trustProxy',
      'must be a list (got the text "10.0.0.0/8")',
    ],
    [
      'a list where a mapping belongs',
      'upstream:\n  - http://a\n',
      1,
      'upstream',
      'must be a mapping of settings (got a list)',
    ],
    ['a key without a value', 'web:\n', 1, 'web', 'has no value: give it one, or remove the key'],
    [
      'a misspelled choice',
      'log:\n  level: inof\n',
      2,
      'log.level',
      'must be one of debug, info, warn, error, not "inof" (did you mean "info"?)',
    ],
    [
      'a choice far from any',
      'preset: grafana\n',
      1,
      'preset',
      'must be one of prometheus, alertmanager, pushgateway, generic, not "grafana"',
    ],
    [
      'a bad list item, at its own line',
      'cors:\n  allowedOrigins:\n    - https://ok.example\n    - not an origin\n',
      4,
      'cors.allowedOrigins.1',
      'must be an origin such as https://grafana.example.com, or *',
    ],
    [
      'a bad key inside a list item',
      'plugins:\n  - module: ./p.ts\n    stage: beforeAuht\n',
      3,
      'plugins.0.stage',
      'must be one of beforeAuth, afterAuth, beforeProxy, not "beforeAuht" (did you mean "beforeAuth"?)',
    ],
    [
      'an unknown key deep in a role rule',
      'accessControl:\n  roles:\n    ops:\n      allow:\n        - paths: [/api/**]\n          method: [GET]\n',
      6,
      'accessControl.roles.ops.allow.0.method',
      'unknown key (did you mean "methods"?)',
    ],
    ['an unknown key far from any', 'web:\n  zzzzzzzz: 1\n', 2, 'web.zzzzzzzz', 'unknown key'],
  ];
  for (const [what, yaml, line, key, message] of CASES) {
    it(`explains ${what}`, () => {
      const file = configFile(yaml);
      assert.throws(
        () => loadConfig({ configFile: file, env: {} }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.message, `${file}:${line}: ${key}: ${message}`);
          return true;
        },
      );
    });
  }

  it('lists every problem, one line each, in file order', () => {
    const file = configFile(
      'upstream:\n  url: 5\nweb:\n  listenAddress: 8443\n  shutdownGrace: 1s\nlog:\n  level: loud\n',
    );
    assert.throws(
      () => loadConfig({ configFile: file, env: {} }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(
          error.message.split('\n').map((text) => text.replace(`${file}:`, '').split(':')[0]),
          ['2', '4', '5', '7'],
        );
        assert.equal(error.problems.length, 4);
        assert.doesNotMatch(error.message, /more problem/);
        return true;
      },
    );
  });

  it('places an error found while building (an unknown role) at the line that set the key', () => {
    const file = configFile('accessControl:\n  users:\n    alice: admn\n');
    const { locate } = loadConfig({ configFile: file, env: {} });
    const located = locate(new ConfigError('unknown role "admn"', { key: 'accessControl.users.alice' }));
    assert.ok(located instanceof ConfigError);
    assert.equal(located.message, `${file}:3: accessControl.users.alice: unknown role "admn"`);
    const elsewhere = new ConfigError('cannot read', { key: 'tls.certFile', origin: '/x.crt' });
    assert.equal(locate(elsewhere), elsewhere, 'an error that names its file stays as it is');
  });
});

describe('parseDuration', () => {
  it('reads Prometheus-style durations', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('3m'), 180_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.throws(() => parseDuration('3 minutes'));
  });
});
