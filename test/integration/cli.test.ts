import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { OPTIONS } from '../../src/index.ts';
import { CLI, cleanEnv, runCli, startCli } from '../helpers/cli.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { waitFor } from '../helpers/wait.ts';

const exec = promisify(execFile);
const temp = (name: string) => mkdtempSync(join(tmpdir(), `promgate-${name}-`));

describe('promgate CLI', () => {
  it('prints its version from package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    assert.equal(result.stdout, `promgate ${pkg.version}\n`);
  });

  it('documents every option with its flag and env var in --help', async () => {
    const { stdout, code } = await runCli(['--help']);
    assert.equal(code, 0);
    for (const option of OPTIONS) {
      if (option.fileOnly) {
        assert.match(stdout, new RegExp(`^Config file only: .*${option.key.replace(/\./g, '\\.')}`, 'm'), option.key);
        continue;
      }
      assert.ok(stdout.includes(`--${option.flag}`), option.flag);
      assert.ok(stdout.includes(option.env), option.env);
    }
  });

  it('fails with one line and a suggestion on an unknown flag or command', async () => {
    const flag = await runCli(['--upstream.ulr=http://x']);
    assert.equal(flag.code, 1);
    assert.equal(
      flag.stderr,
      'promgate: unknown flag --upstream.ulr (did you mean "--upstream.url"?); see promgate --help\n',
    );
    const command = await runCli(['chek-config']);
    assert.equal(command.code, 1);
    assert.match(command.stderr, /did you mean "check-config"/);
  });

  it('check-config exits 0 on a good config and 1 naming the file and line of a bad one', async () => {
    const cert = await makeTestCertificate();
    const dir = temp('check');
    const good = join(dir, 'good.yml');
    writeFileSync(
      good,
      `upstream:\n  url: http://prometheus:9090\ntls:\n  certFile: ${cert.certFile}\n  keyFile: ${cert.keyFile}\n`,
    );
    const ok = await runCli(['check-config', '--config.file', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^config OK .*http:\/\/prometheus:9090 under \/prometheus, certificate /);
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'upstream:\n  url: http://prometheus:9090\nbasepath: /x\n');
    const failed = await runCli(['check-config', '--config.file', bad]);
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr, `promgate: ${bad}:3: basepath: unknown key (did you mean "basePath"?)\n`);
  });

  it('check-config reads the same env vars as the server', async () => {
    const failed = await runCli(['check-config'], { env: cleanEnv({ PROMGATE_UPSTREAM_URL: 'prometheus:9090' }) });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^promgate: PROMGATE_UPSTREAM_URL: upstream\.url: must be an http/);
  });

  for (const keyType of ['ec', 'rsa'] as const) {
    it(`gen-cert writes a ${keyType} certificate with the SANs, as openssl reads it`, {
      skip: requireCommands('openssl'),
    }, async () => {
      const out = temp('gencert');
      const result = await runCli([
        'gen-cert',
        '--cn',
        'prom.example.com',
        '--san',
        'prom.internal',
        '--san',
        '10.1.2.3',
        '--days',
        '30',
        '--key-type',
        keyType,
        '--out',
        out,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(statSync(join(out, 'tls.key')).mode & 0o777, 0o600);
      const { stdout } = await exec('openssl', [
        'x509',
        '-in',
        join(out, 'tls.crt'),
        '-noout',
        '-subject',
        '-ext',
        'subjectAltName',
        '-enddate',
      ]);
      assert.match(stdout, /subject=CN = prom\.example\.com/);
      assert.match(stdout, /DNS:prom\.example\.com, DNS:prom\.internal, IP Address:10\.1\.2\.3/);
      const notAfter = new Date(/notAfter=(.*)/.exec(stdout)?.[1] ?? '');
      const days = (notAfter.getTime() - Date.now()) / 86_400_000;
      assert.ok(days > 29 && days < 31, `valid for ${days} days`);
      const { stdout: keyText } = await exec('openssl', ['pkey', '-in', join(out, 'tls.key'), '-noout', '-text']);
      assert.match(keyText, keyType === 'rsa' ? /2048 bit/ : /prime256v1|P-256/);
    });
  }

  it('hash-password prints a bcrypt htpasswd line that Apache htpasswd verifies', {
    skip: requireCommands('htpasswd'),
  }, async () => {
    const result = await runCli(['hash-password', '--user', 'bob'], { input: 'pässwörd 1\n' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^bob:\$2y\$10\$[./A-Za-z0-9]{53}\n$/);
    const file = join(temp('hashpw'), '.htpasswd');
    writeFileSync(file, result.stdout);
    await exec('htpasswd', ['-vb', file, 'bob', 'pässwörd 1']);
    await assert.rejects(exec('htpasswd', ['-vb', file, 'bob', 'pässwörd 1\n']));
    const low = await runCli(['hash-password', '--cost', '4'], { input: 'x' });
    assert.equal(low.code, 1);
    assert.match(low.stderr, /--cost must be a whole number from 10 to 31/);
  });

  it('hash-password asks twice at a hidden prompt on a terminal, without echoing', {
    skip: requireCommands('script', 'htpasswd'),
  }, async () => {
    // `script` gives the CLI a real pseudo-terminal, as a person at a shell has.
    const child = spawn('script', ['-qec', `${process.execPath} ${CLI} hash-password --user ttyuser`, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    const waitFor = (text: string, from: number) =>
      new Promise<void>((resolve, reject) => {
        const check = () =>
          screen.indexOf(text, from) >= 0 ? (child.stdout.off('data', onData), resolve()) : undefined;
        const onData = (chunk: Buffer) => ((screen += chunk.toString()), check());
        child.stdout.on('data', onData);
        child.once('exit', () => reject(new Error(`exited before "${text}": ${screen}`)));
        check();
      });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await waitFor('New password: ', 0);
    child.stdin.write('tty secret\r');
    await waitFor('Re-type new password: ', 0);
    child.stdin.write('tty secret\r');
    await waitFor('ttyuser:', 0);
    child.stdin.end();
    assert.equal(await exited, 0, screen);
    assert.ok(!screen.includes('tty secret'), `the password was echoed: ${JSON.stringify(screen)}`);
    const file = join(temp('ttyhash'), '.htpasswd');
    writeFileSync(file, `${/ttyuser:\S+/.exec(screen)![0]}\n`);
    await exec('htpasswd', ['-vb', file, 'ttyuser', 'tty secret']);
  });

  describe('gen-cert names', () => {
    // [name, accepted?]
    const NAMES: Array<[string, boolean]> = [
      ['prom.example.com', true],
      ['localhost', true],
      ['xn--bcher-kva.example', true],
      ['a-b.c-d.example', true],
      ['*.prom.example.com', true],
      ['10.1.2.3', true],
      ['::1', true],
      ['2001:db8::7', true],
      ['not valid!', false],
      ['under_score.example', false],
      ['-leading.example', false],
      ['trailing-.example', false],
      ['double..dot.example', false],
      ['trailing.dot.', false],
      ['*.com', false],
      ['prom.*.example.com', false],
      ['*prom.example.com', false],
      ['999.1.2.3', false],
      ['[::1]', false],
      [`${'a'.repeat(64)}.example`, false],
      ['user@example.com', false],
      ['https://prom.example.com', false],
    ];
    for (const [name, accepted] of NAMES) {
      it(`${accepted ? 'accepts' : 'refuses'} ${JSON.stringify(name.length > 40 ? `${name.slice(0, 20)}...` : name)} as --san${accepted ? '' : ', naming it'}`, async () => {
        const out = temp('gencert-san');
        const result = await runCli(['gen-cert', '--cn', 'prom.example.com', `--san=${name}`, '--out', out]);
        if (accepted) {
          assert.equal(result.code, 0, result.stderr);
        } else {
          assert.equal(result.code, 1);
          assert.match(
            result.stderr,
            new RegExp(`^promgate: --san ${JSON.stringify(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `),
          );
          assert.equal(existsSync(join(out, 'tls.crt')), false, 'nothing written');
        }
      });
    }

    it('checks the CN as a name too (it goes into the subjectAltName)', async () => {
      const result = await runCli(['gen-cert', '--cn', 'My Server', '--out', temp('gencert-cn')]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^promgate: --cn "My Server": not a DNS name/);
    });
  });

  describe('gen-cert and existing files', () => {
    for (const existing of ['tls.crt', 'tls.key', 'both'] as const) {
      it(`refuses to replace ${existing === 'both' ? 'an existing certificate and key' : `an existing ${existing}`} without --force, naming it and leaving it as it was`, async () => {
        const out = temp('gencert-exists');
        const files = existing === 'both' ? ['tls.crt', 'tls.key'] : [existing];
        for (const file of files) writeFileSync(join(out, file), `old ${file}\n`);
        const result = await runCli(['gen-cert', '--cn', 'prom.example.com', '--out', out]);
        assert.equal(result.code, 1);
        assert.equal(
          result.stderr,
          `promgate: ${files.map((file) => join(out, file)).join(' and ')} already ${files.length > 1 ? 'exist' : 'exists'}; pass --force to replace, or choose another --out\n`,
        );
        for (const file of files) assert.equal(readFileSync(join(out, file), 'utf8'), `old ${file}\n`);
        for (const file of ['tls.crt', 'tls.key'].filter((name) => !files.includes(name)))
          assert.equal(existsSync(join(out, file)), false, `${file} not written`);
      });
    }

    it('replaces them with --force', async () => {
      const out = temp('gencert-force');
      writeFileSync(join(out, 'tls.crt'), 'old\n');
      writeFileSync(join(out, 'tls.key'), 'old\n', { mode: 0o644 });
      const result = await runCli(['gen-cert', '--cn', 'prom.example.com', '--out', out, '--force']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(readFileSync(join(out, 'tls.crt'), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
      assert.equal(statSync(join(out, 'tls.key')).mode & 0o777, 0o600);
    });
  });

  it('gen-cert requires --cn and checks its values', async () => {
    assert.match((await runCli(['gen-cert'])).stderr, /--cn is required/);
    assert.match((await runCli(['gen-cert', '--cn', 'x', '--key-type', 'dsa'])).stderr, /--key-type must be rsa or ec/);
  });

  it('serves Prometheus JSON to curl --cacert, configured by env vars and flags, and stops on SIGTERM', {
    skip: requireCommands('curl'),
  }, async () => {
    const upstream = await startUpstream((req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"status":"success","data":["${req.url}"]}`),
    );
    const cert = await makeTestCertificate();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const cli = startCli(['--web.listen-address', `127.0.0.1:${port}`, '--tls.cert-file', cert.certFile], {
      env: cleanEnv({ PROMGATE_UPSTREAM_URL: upstream.url, PROMGATE_TLS_KEY_FILE: cert.keyFile }),
    });
    try {
      await cli.listening;
      const { stdout } = await exec('curl', [
        '-sS',
        '--cacert',
        cert.certFile,
        `https://localhost:${port}/prometheus/api/v1/label/job/values`,
        '--resolve',
        `localhost:${port}:127.0.0.1`,
      ]);
      assert.equal(stdout, '{"status":"success","data":["/api/v1/label/job/values"]}');
      // Access lines are written a buffer at a time, but reach the log within about a second.
      await waitFor(() => cli.logs().includes('"path":"/prometheus/api/v1/label/job/values"'), {
        message: 'the access line',
      });
      assert.match(
        cli.logs(),
        /"path":"\/prometheus\/api\/v1\/label\/job\/values","status":200/,
        'the access line, while the gateway still runs',
      );
    } finally {
      const code = await cli.stop('SIGTERM');
      await upstream.close();
      assert.equal(code, 0, cli.logs());
    }
  });
});
