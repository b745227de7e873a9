// Work amplification through the landing page: `GET /` checked the credentials once at the gate and
// again for every route, each route with its own users and no throttle, so one logged-in request ran
// a bcrypt check per route whose file lacked the user. These tests count the real bcrypt compares
// per request: at most one per distinct users file, none once logged in, none past the limits.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { basicAuth } from '../helpers/client.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

function htpasswdFile(user: string, password: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'promgate-landing-')), '.htpasswd');
  writeFileSync(file, '');
  execFileSync('htpasswd', ['-bB', '-C', '5', file, user, password], { stdio: 'ignore' });
  return file;
}

const links = (html: string) => [...html.matchAll(/<a href="([^"]+)">/g)].map((match) => match[1]);

describe('landing page: bcrypt work per request', { skip: requireCommands('htpasswd') }, () => {
  let compares = 0;
  const compare = bcrypt.compare;
  let upstream: RecordingUpstream;
  before(async () => {
    upstream = await startUpstream();
    bcrypt.compare = ((password: string, hash: string) => (
      compares++, compare(password, hash)
    )) as typeof bcrypt.compare;
  });
  after(async () => {
    bcrypt.compare = compare;
    await upstream.close();
  });

  /** A gateway with `count` routes; `files` of them distinct (route i uses file i % files). */
  async function withRoutes(
    count: number,
    files: number,
    test: (gateway: TestGateway) => Promise<void>,
    rateLimit = { failedAuthPerClient: { requests: 0 }, failedAuthPerUser: { requests: 0 } },
  ) {
    // alice is in the first file only; every other file has its own user.
    const paths = Array.from({ length: files }, (_, index) =>
      index === 0 ? htpasswdFile('alice', 'alice-pw') : htpasswdFile(`user${index}`, 'pw'),
    );
    const gateway = await startTestGateway({
      landingPage: true,
      rateLimit,
      routes: Array.from({ length: count }, (_, index) => ({
        basePath: `/r${index}`,
        upstream: { url: upstream.url },
        auth: { htpasswdFile: paths[index % files]! },
      })),
    });
    try {
      await test(gateway);
    } finally {
      await gateway.close();
    }
  }
  /** The status of one landing-page request and the compares it ran. */
  const visit = async (gateway: TestGateway, user: string, password: string) => {
    compares = 0;
    const response = await gateway.request('/', { headers: { authorization: basicAuth(user, password) } });
    return { status: response.status, compares, links: links(response.text) };
  };

  for (const [routes, files] of [
    [1, 1],
    [3, 1],
    [8, 1],
    [3, 3],
    [8, 2],
  ] as const) {
    const setup = `${routes} route${routes > 1 ? 's' : ''}, ${files === 1 ? 'one users file' : `${files} users files`}`;

    it(`${setup}: logging in checks each distinct file once, then nothing while logged in`, async () => {
      await withRoutes(routes, files, async (gateway) => {
        const first = await visit(gateway, 'alice', 'alice-pw');
        assert.equal(first.status, 200);
        assert.equal(first.compares, files, 'one check per distinct file');
        assert.deepEqual(
          first.links,
          Array.from({ length: routes }, (_, index) => `/r${index}/`).filter((_, index) => index % files === 0),
          'the routes whose users accept alice',
        );
        for (let i = 0; i < 3; i++)
          assert.equal(
            (await visit(gateway, 'alice', 'alice-pw')).compares,
            0,
            'logged in: no check, whatever the other files hold',
          );
      });
    });

    it(`${setup}: an unknown user and a wrong password cost one check per distinct file, not per route`, async () => {
      await withRoutes(routes, files, async (gateway) => {
        for (let i = 0; i < 2; i++)
          assert.deepEqual(await visit(gateway, 'mallory', `guess-${i}`), { status: 401, compares: files, links: [] });
        for (let i = 0; i < 2; i++)
          assert.deepEqual(await visit(gateway, 'alice', `guess-${i}`), { status: 401, compares: files, links: [] });
      });
    });
  }

  it('a user logged in through one file runs no check in another file that has another password for the name', async () => {
    const paths = [htpasswdFile('alice', 'alice-pw'), htpasswdFile('alice', 'other-pw')];
    const gateway = await startTestGateway({
      landingPage: true,
      rateLimit: { failedAuthPerClient: { requests: 0 }, failedAuthPerUser: { requests: 0 } },
      routes: paths.map((path, index) => ({
        basePath: `/r${index}`,
        upstream: { url: upstream.url },
        auth: { htpasswdFile: path },
      })),
    });
    try {
      const first = await visit(gateway, 'alice', 'alice-pw');
      assert.deepEqual([first.status, first.compares, first.links], [200, 2, ['/r0/']]);
      // Each later visit would otherwise be an unthrottled bcrypt run in the second file.
      for (let i = 0; i < 3; i++) assert.equal((await visit(gateway, 'alice', 'alice-pw')).compares, 0);
    } finally {
      await gateway.close();
    }
  });

  it('a user known only to the second file logs in on the page and sees that route', async () => {
    await withRoutes(2, 2, async (gateway) => {
      const page = await visit(gateway, 'user1', 'pw');
      assert.equal(page.status, 200);
      assert.deepEqual(page.links, ['/r1/']);
    });
  });

  for (const [routes, files] of [
    [1, 1],
    [8, 1],
    [8, 2],
  ] as const) {
    it(`${routes} routes, ${files} file(s): past the failed-login limit a request is refused without any check`, async () => {
      const limits = { failedAuthPerClient: { requests: 2, window: '1m' }, failedAuthPerUser: { requests: 0 } };
      await withRoutes(
        routes,
        files,
        async (gateway) => {
          for (const user of ['mallory', 'alice']) assert.equal((await visit(gateway, user, 'guess')).status, 401);
          for (const [user, password] of [
            ['mallory', 'guess'],
            ['alice', 'guess'],
            ['alice', 'alice-pw'],
          ]) {
            assert.deepEqual(
              await visit(gateway, user!, password!),
              { status: 429, compares: 0, links: [] },
              `${user} ${password}`,
            );
          }
        },
        limits,
      );
    });
  }
});
