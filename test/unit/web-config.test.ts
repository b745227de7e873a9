import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadWebConfig } from '../../src/config/web-config.ts';

const BCRYPT = '$2y$10$ka8JfUWWbXtByJO3g0Qjn.Rdeqq7489uO9BxvDO690AiwTkO8XWzW';

function webConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'promgate-webconfig-')), 'web.yml');
  writeFileSync(file, text);
  return file;
}

describe('web config file (exporter-toolkit format)', () => {
  it('treats an empty file as defaults', () => {
    const config = loadWebConfig(webConfig(''));
    assert.equal(config.tls, undefined);
    assert.deepEqual(config.headers, {});
    assert.equal(config.users.size, 0);
    assert.equal(config.http2, true);
  });

  it('resolves cert_file and key_file against the file folder, files winning over inline PEM', () => {
    const file = webConfig(
      'tls_server_config:\n  cert_file: certs/a.crt\n  key_file: /abs/a.key\n  cert: inline\n  min_version: TLS13\n',
    );
    const config = loadWebConfig(file);
    assert.equal(config.tls?.certFile, join(file, '..', 'certs/a.crt'));
    assert.equal(config.tls?.keyFile, '/abs/a.key');
    assert.equal(config.tls?.certPem, undefined);
    assert.equal(config.tls?.minVersion, 'TLSv1.3');
    assert.equal(config.tls?.maxVersion, 'TLSv1.3');
  });

  const errors: Array<[string, string, RegExp]> = [
    ['unknown top-level field', 'basic_auth_user:\n  a: b\n', /:1: basic_auth_user: unknown field$/],
    [
      'unknown nested field',
      'tls_server_config:\n  cert_file: a\n  keyfile: b\n',
      /:3: tls_server_config\.keyfile: unknown field$/,
    ],
    [
      'cert without key',
      'tls_server_config:\n  cert_file: a.crt\n',
      /:1: tls_server_config: missing one of key or key_file$/,
    ],
    ['key without cert', 'tls_server_config:\n  key: x\n', /missing one of cert or cert_file$/],
    [
      'bad client auth type',
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n',
      /:4: tls_server_config\.client_auth_type: invalid ClientAuth: Sometimes$/,
    ],
    [
      'CA without client auth',
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca.crt\n',
      /client CA's have been configured without a Client Auth Policy$/,
    ],
    [
      'bad TLS version',
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n',
      /:4: tls_server_config\.min_version: unknown TLS version: TLS14$/,
    ],
    [
      'header not allowed',
      'http_server_config:\n  headers:\n    X-Custom: x\n',
      /:3: http_server_config\.headers\.X-Custom: HTTP header "X-Custom" can not be configured$/,
    ],
    [
      'header name case matters, as in Go',
      'http_server_config:\n  headers:\n    x-frame-options: deny\n',
      /HTTP header "x-frame-options" can not be configured/,
    ],
    [
      'header value case matters, as in Go',
      'http_server_config:\n  headers:\n    X-Frame-Options: DENY\n',
      /invalid value for X-Frame-Options\. Expected one of: \["deny","sameorigin"\], but got: "DENY"$/,
    ],
    [
      'non-bcrypt user',
      'basic_auth_users:\n  alice: "{SHA}km4dmDIm6QoBhsb80/Gr5L47H44="\n',
      /:2: basic_auth_users\.alice: must be a bcrypt hash/,
    ],
    [
      'unknown cipher',
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n    - TLS_RSA_WITH_RC4_128_SHA\n',
      /:6: tls_server_config\.cipher_suites\.1: unknown cipher: TLS_RSA_WITH_RC4_128_SHA$/,
    ],
    [
      'unknown curve',
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [CurveP256, P-384]\n',
      /tls_server_config\.curve_preferences\.1: unknown curve: P-384$/,
    ],
    [
      'client_allowed_sans without a required certificate',
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: VerifyClientCertIfGiven\n  client_allowed_sans: [x]\n',
      /:5: tls_server_config\.client_allowed_sans: client_allowed_sans needs client_auth_type/,
    ],
    ['socket options', 'ip_socket_config:\n  dscp: 10\n', /:1: ip_socket_config: not supported by promgate/],
  ];
  for (const [name, text, message] of errors) {
    it(`rejects: ${name}`, () => {
      const file = webConfig(text);
      assert.throws(
        () => loadWebConfig(file),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.ok(error.message.startsWith(file), error.message);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('maps Go cipher suite and curve names to OpenSSL ones (TLS 1.3 suites are not configurable, as in Go)', () => {
    const config = loadWebConfig(
      webConfig(
        'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256]\n  curve_preferences: [X25519, CurveP384]\n',
      ),
    );
    assert.equal(config.tls?.ciphers, 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305');
    assert.equal(config.tls?.ecdhCurve, 'X25519:P-384');
  });

  it('reads client certificate settings, RequireClientCert being the old name of RequireAnyClientCert', () => {
    const file = webConfig(
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca/clients.crt\n  client_allowed_sans: [grafana.example]\n',
    );
    assert.deepEqual(loadWebConfig(file).tls?.clientAuth, {
      type: 'RequireAndVerifyClientCert',
      caFile: join(file, '..', 'ca/clients.crt'),
      allowedSans: ['grafana.example'],
    });
    const legacy = loadWebConfig(
      webConfig('tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireClientCert\n'),
    );
    assert.equal(legacy.tls?.clientAuth?.type, 'RequireAnyClientCert');
  });

  it("reads booleans as Go's yaml.v2 does (yes/no/on/off)", () => {
    assert.equal(loadWebConfig(webConfig('http_server_config:\n  http2: no\n')).http2, false);
    assert.equal(loadWebConfig(webConfig('http_server_config:\n  http2: on\n')).http2, true);
  });

  it('reads rate_limit, where an interval of 0 turns it off', () => {
    assert.deepEqual(loadWebConfig(webConfig('rate_limit:\n  interval: 250ms\n  burst: 5\n')).rateLimit, {
      intervalMs: 250,
      burst: 5,
    });
    assert.equal(loadWebConfig(webConfig('rate_limit:\n  interval: 0s\n  burst: 5\n')).rateLimit, undefined);
  });

  it('accepts the allowed headers and bcrypt users', () => {
    const config = loadWebConfig(
      webConfig(
        `http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: sameorigin\n    Strict-Transport-Security: max-age=60\nbasic_auth_users:\n  alice: ${BCRYPT}\n`,
      ),
    );
    assert.deepEqual(config.headers, { 'X-Frame-Options': 'sameorigin', 'Strict-Transport-Security': 'max-age=60' });
    assert.equal(config.users.get('alice')?.scheme, 'bcrypt');
    assert.equal(config.http2, false);
  });

  // Go's yaml.v2 reads a scalar into a string field as written; YAML's number, boolean and null
  // typing must not make a file Prometheus accepts fail here, or change its value.
  const scalarsAsWritten: Array<[string, string, (config: ReturnType<typeof loadWebConfig>) => unknown, unknown]> = [
    [
      'an integer header value',
      'http_server_config:\n  headers:\n    X-XSS-Protection: 1\n',
      (c) => c.headers['X-XSS-Protection'],
      '1',
    ],
    [
      'a float header value keeps its digits',
      'http_server_config:\n  headers:\n    X-XSS-Protection: 1.0\n',
      (c) => c.headers['X-XSS-Protection'],
      '1.0',
    ],
    [
      'a boolean header value',
      'http_server_config:\n  headers:\n    Strict-Transport-Security: true\n',
      (c) => c.headers['Strict-Transport-Security'],
      'true',
    ],
    [
      'a YAML 1.1 boolean header value',
      'http_server_config:\n  headers:\n    Strict-Transport-Security: yes\n',
      (c) => c.headers['Strict-Transport-Security'],
      'yes',
    ],
    [
      'a hex-looking header value',
      'http_server_config:\n  headers:\n    X-XSS-Protection: 0x1\n',
      (c) => c.headers['X-XSS-Protection'],
      '0x1',
    ],
    [
      'a null header value is empty, as in Go',
      'http_server_config:\n  headers:\n    Content-Security-Policy: ~\n',
      (c) => c.headers['Content-Security-Policy'],
      '',
    ],
    [
      'a quoted header value',
      'http_server_config:\n  headers:\n    X-XSS-Protection: "1; mode=block"\n',
      (c) => c.headers['X-XSS-Protection'],
      '1; mode=block',
    ],
    [
      'numeric cert and key file names',
      'tls_server_config:\n  cert_file: 123\n  key_file: 1.0\n',
      (c) => [c.tls?.certFile?.split('/').pop(), c.tls?.keyFile?.split('/').pop()],
      ['123', '1.0'],
    ],
    [
      'number, boolean and IP-looking client_allowed_sans',
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [10.0, 1, true, 2001:db8::1, 010]\n',
      (c) => c.tls?.clientAuth?.allowedSans,
      ['10.0', '1', 'true', '2001:db8::1', '010'],
    ],
    ['a numeric user name', `basic_auth_users:\n  1.50: ${BCRYPT}\n`, (c) => [...c.users.keys()], ['1.50']],
    ['a boolean-looking user name', `basic_auth_users:\n  no: ${BCRYPT}\n`, (c) => [...c.users.keys()], ['no']],
    // A null (~ or nothing) sets Go's zero value, also where a default was.
    [
      'a null cert_file is empty, so the inline cert is used',
      'tls_server_config:\n  cert_file: ~\n  cert: inline\n  key_file: b\n',
      (c) => [c.tls?.certFile, c.tls?.certPem],
      [undefined, 'inline'],
    ],
    ['a null http2 is false', 'http_server_config:\n  http2:\n', (c) => c.http2, false],
    [
      'a null prefer_server_cipher_suites is false',
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  prefer_server_cipher_suites: ~\n',
      (c) => c.tls?.preferServerCipherSuites,
      false,
    ],
    [
      'a null cipher_suites list is no list',
      'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: ~\n',
      (c) => c.tls?.ciphers,
      undefined,
    ],
    ['a null headers map is no headers', 'http_server_config:\n  headers: ~\n', (c) => c.headers, {}],
    [
      'a null rate_limit interval is 0 (off)',
      'rate_limit:\n  interval: ~\n  burst: ~\n',
      (c) => c.rateLimit,
      undefined,
    ],
  ];
  for (const [name, text, read, expected] of scalarsAsWritten) {
    it(`reads as Go does: ${name}`, () => assert.deepEqual(read(loadWebConfig(webConfig(text))), expected));
  }

  // rate_limit.interval is a Go time.Duration: time.ParseDuration's syntax, or a number of nanoseconds.
  const intervals: Array<[string, number | undefined]> = [
    ['0', undefined],
    ['"0"', undefined],
    ['1s', 1000],
    ['"1s"', 1000],
    ['1.5s', 1500],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['500us', 0.5],
    ['1000000', 1],
    ['-1s', undefined],
  ];
  for (const [interval, intervalMs] of intervals) {
    it(`reads rate_limit.interval ${interval} as Go does`, () => {
      assert.deepEqual(
        loadWebConfig(webConfig(`rate_limit:\n  interval: ${interval}\n  burst: 1\n`)).rateLimit,
        intervalMs === undefined ? undefined : { intervalMs, burst: 1 },
      );
    });
  }
  for (const interval of ['1d', '"5"', '1.s5', 's', 'true', '""']) {
    it(`rejects rate_limit.interval ${interval}, as Go does`, () => {
      assert.throws(
        () => loadWebConfig(webConfig(`rate_limit:\n  interval: ${interval}\n`)),
        /:2: rate_limit\.interval: must be a duration$/,
      );
    });
  }

  it('prefers the server cipher order unless prefer_server_cipher_suites is false', () => {
    const tls = (extra: string) =>
      loadWebConfig(webConfig(`tls_server_config:\n  cert_file: a\n  key_file: b\n${extra}`)).tls
        ?.preferServerCipherSuites;
    assert.equal(tls(''), true);
    assert.equal(tls('  prefer_server_cipher_suites: true\n'), true);
    assert.equal(tls('  prefer_server_cipher_suites: false\n'), false);
    assert.equal(tls('  prefer_server_cipher_suites: off\n'), false);
  });

  it('fails on a missing file, naming it', () => {
    assert.throws(() => loadWebConfig('/nonexistent/web.yml'), {
      message: '/nonexistent/web.yml: cannot read web config file: file does not exist',
    });
  });
});
