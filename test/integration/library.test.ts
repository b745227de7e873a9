import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { createGateway, type Gateway } from '../../src/index.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

describe('createGateway mounted in an existing Express app', () => {
  let upstream: RecordingUpstream;
  const gateways: Gateway[] = [];
  const mount = (app: express.Express, path: string, gateway: Gateway) => (
    gateways.push(gateway), app.use(path, gateway)
  );
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    for (const gateway of gateways) gateway.close();
    await upstream.close();
  });

  for (const extended of [false, true]) {
    it(`still forwards form bodies after express.urlencoded({ extended: ${extended} })`, async () => {
      const app = express();
      app.use(express.urlencoded({ extended }));
      mount(app, '/prometheus', createGateway({ upstream: upstream.url }));
      const response = await request(app)
        .post('/prometheus/api/v1/series')
        .type('form')
        .send('match[]=up&match[]=go_info{job="a b"}&start=1');
      assert.equal(response.status, 200);
      const form = new URLSearchParams(upstream.requests.at(-1)?.body.toString());
      assert.deepEqual(form.getAll('match[]'), ['up', 'go_info{job="a b"}']);
      assert.equal(form.get('start'), '1');
      assert.equal(upstream.requests.at(-1)?.headers['content-length'], String(upstream.requests.at(-1)?.body.length));
    });
  }

  it('still forwards JSON bodies after express.json()', async () => {
    const app = express();
    app.use(express.json());
    mount(app, '/prometheus', createGateway({ upstream: upstream.url, accessControl: { defaultRole: 'admin' } }));
    await request(app).post('/prometheus/api/v1/custom').send({ query: 'up', n: 1 });
    assert.deepEqual(JSON.parse(upstream.requests.at(-1)?.body.toString() ?? ''), { query: 'up', n: 1 });
  });

  it('forwards an unparsed body untouched when no parser ran', async () => {
    const app = express();
    mount(app, '/prometheus', createGateway({ upstream: upstream.url }));
    await request(app).post('/prometheus/api/v1/query').type('form').send('query=sum(up)%20by%20(job)');
    assert.equal(upstream.requests.at(-1)?.body.toString(), 'query=sum(up)%20by%20(job)');
  });

  it('works under any mount path: prefix header, redirect and Location follow it', async () => {
    upstream.handle((req, res) =>
      req.url === '/redirect' ? res.writeHead(302, { location: '/graph' }).end() : res.end('{}'),
    );
    const app = express();
    mount(app, '/monitoring/prometheus', createGateway({ upstream: upstream.url }));
    await request(app).get('/monitoring/prometheus/api/v1/query');
    assert.equal(upstream.requests.at(-1)?.url, '/api/v1/query');
    assert.equal(upstream.requests.at(-1)?.headers['x-forwarded-prefix'], '/monitoring/prometheus');
    assert.equal((await request(app).get('/monitoring/prometheus')).headers.location, '/monitoring/prometheus/');
    assert.equal(
      (await request(app).get('/monitoring/prometheus/redirect')).headers.location,
      '/monitoring/prometheus/graph',
    );
    upstream.handle((_req, res) => res.end('{}'));
  });

  it('runs user middleware at named stages, with the Express API', async () => {
    const order: string[] = [];
    const app = express();
    mount(
      app,
      '/prometheus',
      createGateway({
        upstream: upstream.url,
        middleware: {
          beforeAuth: (req: Request, res: Response, next: NextFunction) => {
            order.push('beforeAuth');
            if (req.get('x-deny') === 'yes')
              return void res.status(403).json({ status: 'error', error: `denied for ${req.ip}` });
            next();
          },
          beforeProxy: [
            (req: Request, _res: Response, next: NextFunction) => {
              order.push('beforeProxy');
              req.headers['x-team'] = 'platform';
              next();
            },
          ],
        },
      }),
    );
    const denied = await request(app).get('/prometheus/api/v1/query').set('x-deny', 'yes');
    assert.equal(denied.status, 403);
    assert.match(denied.body.error, /^denied for /);
    assert.equal(
      denied.headers['strict-transport-security'],
      'max-age=31536000; includeSubDomains',
      'security headers come first',
    );
    const before = upstream.requests.length;
    await request(app).get('/prometheus/api/v1/query');
    assert.equal(upstream.requests.length, before + 1);
    assert.equal(upstream.requests.at(-1)?.headers['x-team'], 'platform');
    assert.deepEqual(order, ['beforeAuth', 'beforeAuth', 'beforeProxy']);
  });

  it('passes errors from user middleware to the host app', async () => {
    const app = express();
    mount(
      app,
      '/prometheus',
      createGateway({
        upstream: upstream.url,
        middleware: { beforeProxy: async () => Promise.reject(new Error('boom')) },
      }),
    );
    app.use(
      (error: Error, _req: Request, res: Response, _next: NextFunction) => void res.status(599).send(error.message),
    );
    const response = await request(app).get('/prometheus/api/v1/query');
    assert.equal(response.status, 599);
    assert.equal(response.text, 'boom');
  });

  it('lets users observe proxy events', async () => {
    const seen: string[] = [];
    const app = express();
    mount(
      app,
      '/prometheus',
      createGateway({
        upstream: upstream.url,
        on: {
          proxyReq: (_proxyReq, req) => void seen.push(`req ${req.url}`),
          proxyRes: (proxyRes) => void seen.push(`res ${proxyRes.statusCode}`),
        },
      }),
    );
    await request(app).get('/prometheus/api/v1/labels');
    assert.deepEqual(seen, ['req /api/v1/labels', 'res 200']);
  });

  it('keeps two gateways in one process apart', async () => {
    const other = await startUpstream((_req, res) => res.end('{"from":"other"}'));
    try {
      const app = express();
      const first = createGateway({ upstream: upstream.url });
      const second = createGateway({ upstream: other.url, headers: { 'X-Frame-Options': 'DENY' } });
      mount(app, '/a', first);
      mount(app, '/b', second);
      const fromA = await request(app).get('/a/api/v1/query');
      const fromB = await request(app).get('/b/api/v1/query');
      assert.equal(fromA.headers['x-frame-options'], 'SAMEORIGIN');
      assert.equal(fromB.headers['x-frame-options'], 'DENY');
      assert.deepEqual(JSON.parse(fromB.text), { from: 'other' });
      second.close();
      assert.equal((await request(app).get('/a/api/v1/query')).status, 200, 'closing one leaves the other working');
    } finally {
      await other.close();
    }
  });

  // Options as plain JavaScript passes them: no type checker catches the typo.
  for (const [name, options, message] of [
    [
      'a misspelled hook',
      { middleware: { beforeProxyy: () => {} } },
      /middleware\.beforeProxyy: unknown hook \(did you mean "beforeProxy"\?\)/,
    ],
    [
      'a hook of another case',
      { middleware: { BeforeAuth: () => {} } },
      /middleware\.BeforeAuth: unknown hook \(did you mean "beforeAuth"\?\)/,
    ],
    [
      'a hook that is not a function',
      { middleware: { afterAuth: 'log' } },
      /middleware\.afterAuth: must be a middleware function or an array of them/,
    ],
    [
      'an array with a non-function',
      { middleware: { afterAuth: [() => {}, null] } },
      /middleware\.afterAuth: must be a middleware function/,
    ],
    [
      'middleware as an array',
      { middleware: [() => {}] },
      /middleware: must be an object with keys beforeAuth, afterAuth, beforeProxy/,
    ],
    [
      'a misspelled proxy event',
      { on: { proxyRequest: () => {} } },
      /on\.proxyRequest: unknown event.*known: proxyReq, proxyRes, error/,
    ],
    [
      'two problems at once',
      { middleware: { beforeProxyy: () => {} }, on: { eror: () => {} } },
      /beforeProxyy[^\n]*\n[^\n]*on\.eror: unknown event \(did you mean "error"\?\)/,
    ],
  ] as const) {
    it(`refuses ${name} in the options`, () => {
      assert.throws(
        () => createGateway({ upstream: upstream.url, ...(options as object) }),
        (error: Error) => {
          assert.equal(error.name, 'ConfigError');
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});
