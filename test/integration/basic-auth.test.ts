import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../../src/index.ts';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { appendSshaUser, writeHtpasswd, type HtpasswdUser } from '../helpers/htpasswd.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const USERS: HtpasswdUser[] = [
  { user: 'bcrypt-user', password: 'correct horse', flag: '-B' },
  { user: 'md5-user', password: 'md5 pässword', flag: '-m' },
  { user: 'sha-user', password: 'sha:with:colons', flag: '-s' },
  { user: 'des-user', password: 'dés1234', flag: '-d' },
];

describe('basic auth from an htpasswd file made by Apache htpasswd', { skip: requireCommands('htpasswd') }, () => {
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let file: string;
  const seenUsers: Array<string | undefined> = [];
  const logs: string[] = [];
  const logger: Logger = {
    debug() {},
    info: (_f, m) => void logs.push(m),
    warn: (_f, m) => void logs.push(m),
    error: (f, m) => void logs.push(`${m} ${JSON.stringify(f)}`),
  };

  before(async () => {
    upstream = await startUpstream();
    file = writeHtpasswd(USERS);
    appendSshaUser(file, 'ssha-user', 'salted secret');
    gateway = await startTestGateway({
      upstream: upstream.url,
      auth: {
        htpasswdFile: file,
        realm: 'Prometheus at example',
        unauthenticatedPaths: ['/-/healthy', '/-/ready', '/static/*'],
      },
      // Hundreds of wrong passwords from one address are this suite's subject; the throttle has its own tests.
      rateLimit: { failedAuthPerClient: { requests: 0 }, failedAuthPerUser: { requests: 0 } },
      logger,
      middleware: {
        afterAuth: (req: Request, _res: Response, next: NextFunction) => (seenUsers.push(req.promgate?.user), next()),
      },
    });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  for (const { user, password, flag } of [...USERS, { user: 'ssha-user', password: 'salted secret', flag: '{SSHA}' }]) {
    it(`lets ${user} (${flag}) in with the right password only`, async () => {
      const ok = await gateway.request('/prometheus/api/v1/query', {
        headers: { authorization: basicAuth(user, password) },
      });
      assert.equal(ok.status, 200);
      assert.equal(seenUsers.at(-1), user, 'later stages see the user');
      // DES crypt reads only 8 bytes, so the wrong password differs at the start.
      const wrong = await gateway.request('/prometheus/api/v1/query', {
        headers: { authorization: basicAuth(user, `x${password}`) },
      });
      assert.equal(wrong.status, 401);
    });
  }

  it('challenges with the realm and UTF-8 charset, and answers API clients in Prometheus JSON', async () => {
    const response = await gateway.request('/prometheus/api/v1/query');
    assert.equal(response.status, 401);
    assert.equal(response.headers['www-authenticate'], 'Basic realm="Prometheus at example", charset="UTF-8"');
    assert.deepEqual(JSON.parse(response.text), {
      status: 'error',
      errorType: 'unauthorized',
      error: 'authentication required',
    });
    const ui = await gateway.request('/prometheus/graph');
    assert.equal(ui.status, 401);
    assert.equal(ui.headers['content-type'], 'text/plain; charset=utf-8');
  });

  it('rejects unknown users and malformed credentials with 401, never 500', async () => {
    const before = upstream.requests.length;
    for (const authorization of [
      basicAuth('nobody', 'correct horse'),
      'Basic !!!not-base64',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      'Bearer token',
      'Basic',
      `Basic ${'A'.repeat(8000)}`,
      basicAuth('bcrypt-user', ''),
    ]) {
      const response = await gateway.request('/prometheus/api/v1/query', { headers: { authorization } });
      assert.equal(response.status, 401, authorization.slice(0, 40));
    }
    assert.equal(upstream.requests.length, before, 'nothing unauthenticated reaches Prometheus');
  });

  it('does not forward the credentials to Prometheus, nor log the password', async () => {
    await gateway.request('/prometheus/api/v1/query', {
      headers: { authorization: basicAuth('bcrypt-user', 'correct horse') },
    });
    assert.equal(upstream.requests.at(-1)?.headers.authorization, undefined);
    await gateway.request('/prometheus/api/v1/query', {
      headers: { authorization: basicAuth('bcrypt-user', 'a-wrong-secret') },
    });
    await gateway.request('/prometheus/api/v1/query', {
      headers: { authorization: basicAuth('typed-my-password-as-user', 'x') },
    });
    assert.ok(logs.length > 0);
    assert.ok(!logs.join('\n').includes('typed-my-password-as-user'), 'unknown user names are not logged');
    assert.ok(!logs.join('\n').includes('a-wrong-secret'));
    assert.ok(!logs.join('\n').includes('correct horse'));
  });

  it('skips auth only on the configured paths, not on look-alikes', async () => {
    assert.equal((await gateway.request('/prometheus/-/healthy')).status, 200);
    assert.equal((await gateway.request('/prometheus/static/app.js')).status, 200);
    for (const path of [
      '/prometheus/-/healthy/../../api/v1/query',
      '/prometheus/-/healthyx',
      '/prometheus/static/..%2fapi/v1/query',
      '/prometheus/static/%2e%2e/api',
      '/prometheus/-/healthy#/../../api/v1/query',
      '/prometheus/static/x#/../../api',
    ]) {
      // Dot segments are refused (400) before auth (test/security/path-traversal-dot-segments.test.ts).
      assert.equal((await gateway.request(path)).status, /\/\.|%2e/i.test(path) ? 400 : 401, path);
    }
  });

  it('answers hundreds of parallel right and wrong logins correctly', async () => {
    const attempts = Array.from({ length: 300 }, (_, index) => index % 2 === 0);
    const statuses = await Promise.all(
      attempts.map((right) =>
        gateway
          .request('/prometheus/api/v1/query', {
            headers: { authorization: basicAuth('bcrypt-user', right ? 'correct horse' : 'wrong horse') },
          })
          .then((response) => [right, response.status] as const),
      ),
    );
    for (const [right, status] of statuses) assert.equal(status, right ? 200 : 401);
  });

  it('picks up a renamed-in replacement within 2 s, and keeps the users when the new file is bad', async () => {
    const replacement = writeHtpasswd([{ user: 'new-user', password: 'new pass', flag: '-B' }]);
    const staged = `${file}.tmp`;
    writeFileSync(staged, readFileSync(replacement));
    renameSync(staged, file);
    const started = performance.now();
    // Each try is a failed login until the reload: slow enough to stay under the per-user limit (10).
    await waitFor(
      async () =>
        (
          await gateway.request('/prometheus/api/v1/query', {
            headers: { authorization: basicAuth('new-user', 'new pass') },
          })
        ).status === 200,
      { intervalMs: 250, message: 'the new user' },
    );
    const took = performance.now() - started;
    assert.ok(took <= 2000, `took ${took} ms`);
    assert.equal(
      (
        await gateway.request('/prometheus/api/v1/query', {
          headers: { authorization: basicAuth('bcrypt-user', 'correct horse') },
        })
      ).status,
      401,
      'old users are gone',
    );

    writeFileSync(staged, 'this line is broken\n');
    renameSync(staged, file);
    await waitFor(
      async () => logs.some((line) => line.includes(`${file}:1: expected user:hash; keeping the previous users`)),
      { message: 'the error log' },
    );
    assert.equal(
      (
        await gateway.request('/prometheus/api/v1/query', {
          headers: { authorization: basicAuth('new-user', 'new pass') },
        })
      ).status,
      200,
      'last good users stay',
    );
  });
});

describe('credentials accepted on a keep-alive connection', { skip: requireCommands('htpasswd') }, () => {
  it('are re-checked against the current users, and other credentials take the full path', async () => {
    const file = writeHtpasswd([
      { user: 'alice', password: 'alice pw', flag: '-B' },
      { user: 'bob', password: 'bob pw', flag: '-B' },
    ]);
    const upstream = await startUpstream();
    const gateway = await startTestGateway({ upstream: upstream.url, auth: { htpasswdFile: file } });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const connections = new Set<unknown>();
    gateway.handle.server.on('secureConnection', (socket) => connections.add(socket));
    const status = async (user: string, password: string) =>
      (
        await gateway.request('/prometheus/api/v1/query', {
          agent,
          headers: { authorization: basicAuth(user, password) },
        })
      ).status;
    try {
      assert.equal(await status('alice', 'alice pw'), 200);
      assert.equal(await status('alice', 'alice pw'), 200);
      assert.equal(await status('alice', 'wrong'), 401, 'a different password on the same connection is checked');
      assert.equal(await status('bob', 'bob pw'), 200);
      assert.equal(await status('alice', 'alice pw'), 200);
      assert.equal(await status('bob', 'bob pw'), 200);
      writeHtpasswd([{ user: 'bob', password: 'bob new pw', flag: '-B' }], `${file}.next`);
      renameSync(`${file}.next`, file);
      await waitFor(async () => (await status('alice', 'alice pw')) === 401, {
        message: 'alice (removed) to be refused on the same connection',
      });
      assert.equal(
        await status('bob', 'bob pw'),
        401,
        "bob's old password, accepted on this connection before, no longer counts",
      );
      assert.equal(await status('bob', 'bob new pw'), 200);
      assert.equal(connections.size, 1, 'all requests used one connection');
    } finally {
      agent.destroy();
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('htpasswd in a Kubernetes-style secret folder', { skip: requireCommands('htpasswd') }, () => {
  it('follows a symlink swap of the data folder', async () => {
    // /secret/.htpasswd -> ..data/.htpasswd, ..data -> ..2026_v1 ; the update swaps ..data.
    const secret = mkdtempSync(join(tmpdir(), 'promgate-secret-'));
    const v1 = join(secret, '..v1');
    const v2 = join(secret, '..v2');
    mkdirSync(v1);
    mkdirSync(v2);
    writeHtpasswd([{ user: 'v1-user', password: 'one', flag: '-B' }], join(v1, '.htpasswd'));
    writeHtpasswd([{ user: 'v2-user', password: 'two', flag: '-B' }], join(v2, '.htpasswd'));
    symlinkSync('..v1', join(secret, '..data'));
    symlinkSync('..data/.htpasswd', join(secret, '.htpasswd'));
    const upstream = await startUpstream();
    const gateway = await startTestGateway({
      upstream: upstream.url,
      auth: { htpasswdFile: join(secret, '.htpasswd') },
    });
    try {
      const status = async (user: string, password: string) =>
        (await gateway.request('/prometheus/api/v1/query', { headers: { authorization: basicAuth(user, password) } }))
          .status;
      assert.equal(await status('v1-user', 'one'), 200);
      symlinkSync('..v2', join(secret, '..data_tmp'));
      renameSync(join(secret, '..data_tmp'), join(secret, '..data'));
      rmSync(v1, { recursive: true });
      const started = performance.now();
      // Each try is a failed login until the reload: slow enough to stay under the per-user limit (10).
      await waitFor(async () => (await status('v2-user', 'two')) === 200, {
        intervalMs: 250,
        message: 'the swapped-in user',
      });
      const took = performance.now() - started;
      assert.ok(took <= 2000, `took ${took} ms`);
      assert.equal(await status('v1-user', 'one'), 401);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('htpasswd startup errors', () => {
  it('refuses to start on a missing file or a bad line, naming file and line but not the hash', async () => {
    await assert.rejects(startTestGateway({ auth: { htpasswdFile: '/nonexistent/.htpasswd' } }), {
      message: '/nonexistent/.htpasswd: auth.htpasswdFile: cannot read htpasswd file: file does not exist',
    });
    const dir = mkdtempSync(join(tmpdir(), 'promgate-badhtpasswd-'));
    const file = join(dir, '.htpasswd');
    writeFileSync(file, '# ok\nalice:$6$rounds=5000$secretsalt$abc\n');
    await assert.rejects(startTestGateway({ auth: { htpasswdFile: file } }), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.message, `${file}:2: user "alice": unsupported hash scheme (use bcrypt: htpasswd -B)`);
      return true;
    });
  });

  it('accepts htpasswd -p plain-text users only with auth.allowPlaintext', {
    skip: requireCommands('htpasswd'),
  }, async () => {
    const file = writeHtpasswd([{ user: 'plain-user', password: 'plain pass', flag: '-p' }]);
    await assert.rejects(startTestGateway({ auth: { htpasswdFile: file } }), {
      message: /plain-text passwords need auth\.allowPlaintext/,
    });
    const upstream = await startUpstream();
    const gateway = await startTestGateway({
      upstream: upstream.url,
      auth: { htpasswdFile: file, allowPlaintext: true },
    });
    try {
      const ok = await gateway.request('/prometheus/api/v1/query', {
        headers: { authorization: basicAuth('plain-user', 'plain pass') },
      });
      assert.equal(ok.status, 200);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
