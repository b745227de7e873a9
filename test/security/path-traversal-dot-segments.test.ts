// Found in review: `GET /open/../secret/x` was judged by the /open route (open to all) and forwarded
// as sent; nginx in front of the upstreams resolved the `..` and served /secret/x, a location the
// gateway guards with basic auth, to a client without credentials. The same worked with `%2e%2e`,
// `.%2E` and an upstream URL carrying a path. Paths some reader could resolve differently are now
// refused (400) before any stage reads them; every other path reaches the upstream byte for byte.
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { startNginx, type NginxUpstream } from '../helpers/nginx.ts';
import { requireCommands } from '../helpers/requirements.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

/** Sends the request target exactly as written (node's clients would not send some of these). */
function statusOf(gateway: TestGateway, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: gateway.handle.address.port, ca: gateway.cert.cert, servername: 'localhost' },
      () => socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`),
    );
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

/** After the `/open` base path; nginx would resolve each to /secret/x, or a reader other than nginx would. */
const ESCAPES = [
  '/../secret/x',
  '/%2e%2e/secret/x',
  '/%2E%2E/secret/x',
  '/.%2E/secret/x',
  '/%2e./secret/x',
  '/..%2fsecret/x',
  '/..%2Fsecret/x',
  '/%2e%2e%2fsecret/x',
  '/./../secret/x',
  '/x/../../secret/x',
  '/x/%2e%2e/%2e%2e/secret/x',
  '//../secret/x',
  '/..//secret/x',
  '/../secret/x?query=1',
  // Readers other than nginx: Tomcat's `;params`, `\` as `/`, a second percent-decoding.
  '/..;/secret/x',
  '/..;jsessionid=1/secret/x',
  '/x\\..\\..\\secret/x',
  '/..%5csecret/x',
  '/%252e%252e/secret/x',
  '/%25252e%25252e/secret/x',
  // Dot and empty segments that stay inside the route: still two readings of one path.
  '/x/.',
  '/x/..',
  '/x/%2e',
  '/./x',
  '/x//y',
  '/x/%2f/y',
  // Not percent-decodable (an overlong UTF-8 "." among them): nobody can tell what it means.
  '/%c0%ae%c0%ae/secret/x',
  '/%zz/../secret/x',
];

/** Paths that look close but have no dot or empty segment: forwarded byte for byte. */
const KEPT = [
  '/x',
  '/x/',
  '/.well-known/x',
  '/x/...',
  '/x/..y',
  '/x/a.b',
  '/x/a%2eb',
  '/x/%2e%2e%2e',
  '/x;a=b',
  '/x?path=/../secret/x',
];

describe('dot segments cannot take a request to another route or location', {
  skip: requireCommands('nginx', 'htpasswd'),
}, () => {
  let open: RecordingUpstream;
  let secret: RecordingUpstream;
  let nginx: NginxUpstream;
  before(async () => {
    [open, secret] = await Promise.all([startUpstream(), startUpstream()]);
    nginx = await startNginx({ '/open/': open.url, '/secret/': secret.url });
  });
  after(async () => {
    await nginx?.close();
    await Promise.all([open?.close(), secret?.close()]);
  });

  const setups: Array<[string, () => Promise<TestGateway>]> = [
    [
      'routes /open (no auth) and /secret (basic auth), each an nginx location',
      () =>
        startTestGateway({
          auth: { htpasswdFile: writeHtpasswd([{ user: 'bob', password: 'bob-pw', flag: '-B' }]) },
          routes: [
            { basePath: '/open', preset: 'generic', upstream: { url: `${nginx.url}/open/` }, auth: { off: true } },
            { basePath: '/secret', preset: 'generic', upstream: { url: `${nginx.url}/secret/` } },
          ],
        }),
    ],
    [
      'one route /open whose upstream URL carries the path /open/',
      () => startTestGateway({ basePath: '/open', preset: 'generic', upstream: { url: `${nginx.url}/open/` } }),
    ],
  ];

  for (const [setup, start] of setups) {
    describe(setup, () => {
      let gateway: TestGateway;
      before(async () => {
        gateway = await start();
      });
      after(() => gateway?.close());

      for (const rest of ESCAPES) {
        it(`refuses GET /open${rest} (400) and nothing reaches an upstream`, async () => {
          const [openBefore, secretBefore] = [open.requests.length, secret.requests.length];
          assert.equal(await statusOf(gateway, `/open${rest}`), 400);
          assert.equal(secret.requests.length, secretBefore, 'the /secret location was not reached');
          assert.equal(open.requests.length, openBefore, 'the /open location was not reached');
        });
      }

      for (const target of ['http://localhost/open/../secret/x', 'HTTPS://localhost:1/open/%2e%2e/secret/x']) {
        it(`refuses GET ${target} (absolute form, 400)`, async () => {
          const secretBefore = secret.requests.length;
          assert.equal(await statusOf(gateway, target), 400);
          assert.equal(secret.requests.length, secretBefore);
        });
      }

      for (const rest of KEPT) {
        it(`forwards GET /open${rest} as sent`, async () => {
          assert.equal(await statusOf(gateway, `/open${rest}`), 200);
          assert.equal(open.requests.at(-1)?.url, `/open${rest}`);
        });
      }
    });
  }

  it('nginx itself resolves the dot segments (the test would prove nothing otherwise)', async () => {
    const secretBefore = secret.requests.length;
    const status = await new Promise<number | undefined>((resolve, reject) =>
      get({ host: '127.0.0.1', port: nginx.port, path: '/open/%2e%2e/secret/x' }, (response) =>
        resolve(response.resume().statusCode),
      ).on('error', reject),
    );
    assert.equal(status, 200);
    assert.equal(secret.requests.length, secretBefore + 1);
  });
});
