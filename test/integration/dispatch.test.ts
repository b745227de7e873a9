// The standalone server runs the gateway without an Express app (src/dispatch.ts); user middleware
// written for Express must not notice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import { startTestGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';

describe('user middleware in the standalone server', () => {
  it('gets the Express request and response API', async () => {
    const upstream = await startUpstream();
    const seen: Array<Record<string, unknown>> = [];
    const gateway = await startTestGateway({
      upstream: upstream.url,
      routes: [
        { basePath: '/prometheus', upstream: { url: upstream.url } },
        { basePath: '/alertmanager', upstream: { url: upstream.url } },
      ],
      middleware: {
        beforeAuth: (req: Request, res: Response, next: NextFunction) => {
          seen.push({ ip: req.ip, path: req.path, query: { ...req.query }, baseUrl: req.baseUrl, originalUrl: req.originalUrl, secure: req.secure, accepts: req.accepts('json') });
          res.locals.team = req.get('x-team');
          if (req.get('x-deny') === 'yes') return void res.status(403).json({ status: 'error', error: `denied for ${req.ip}` });
          if (req.get('x-fail') === 'yes') return next(Object.assign(new Error('quota store down'), { status: 503 }));
          next();
        },
        beforeProxy: (req: Request, res: Response, next: NextFunction) => {
          res.set('x-team-seen', String(res.locals.team));
          next();
        },
      },
    });
    try {
      const denied = await gateway.request('/alertmanager/api/v2/status?x=1&y=2', { headers: { 'x-deny': 'yes', accept: 'application/json' } });
      assert.equal(denied.status, 403);
      assert.deepEqual(JSON.parse(denied.body.toString()), { status: 'error', error: 'denied for 127.0.0.1' });
      assert.match(String(denied.headers['content-type']), /^application\/json/);
      assert.equal(denied.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', 'security headers come first');
      assert.deepEqual(seen.at(-1), { ip: '127.0.0.1', path: '/api/v2/status', query: { x: '1', y: '2' }, baseUrl: '/alertmanager', originalUrl: '/alertmanager/api/v2/status?x=1&y=2', secure: true, accepts: 'json' });

      const passed = await gateway.request('/prometheus/api/v1/query', { headers: { 'x-team': 'platform' } });
      assert.equal(passed.status, 200);
      assert.equal(passed.headers['x-team-seen'], 'platform', 'res.locals lives for the request, res.set works');
      assert.equal(upstream.requests.at(-1)?.url, '/api/v1/query', 'the base path is stripped');

      const failed = await gateway.request('/prometheus/api/v1/query', { headers: { 'x-fail': 'yes' } });
      assert.equal(failed.status, 503, "next(error) answers with the error's status");
      assert.equal(failed.headers['x-content-type-options'], 'nosniff');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('matches base paths as an Express mount does: case-sensitive, on a segment boundary', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({ upstream: upstream.url, basePath: '/prometheus' });
    try {
      assert.equal((await gateway.request('/prometheus/api/v1/query?q=1')).status, 200);
      assert.equal(upstream.requests.at(-1)?.url, '/api/v1/query?q=1');
      assert.equal((await gateway.request('/prometheus?q=1')).headers.location, '/prometheus/?q=1');
      for (const outside of ['/prometheusX/api', '/Prometheus/api', '/', '/other']) {
        assert.equal((await gateway.request(outside)).status, 404, outside);
      }
      assert.equal((await gateway.request('/-/promgate/healthy')).status, 200, 'root health');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
