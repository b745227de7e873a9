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
          seen.push({
            ip: req.ip,
            path: req.path,
            query: { ...req.query },
            baseUrl: req.baseUrl,
            originalUrl: req.originalUrl,
            secure: req.secure,
            accepts: req.accepts('json'),
          });
          res.locals.team = req.get('x-team');
          if (req.get('x-deny') === 'yes')
            return void res.status(403).json({ status: 'error', error: `denied for ${req.ip}` });
          if (req.get('x-fail') === 'yes') return next(Object.assign(new Error('quota store down'), { status: 503 }));
          next();
        },
        beforeProxy: (_req: Request, res: Response, next: NextFunction) => {
          res.set('x-team-seen', String(res.locals.team));
          next();
        },
      },
    });
    try {
      const denied = await gateway.request('/alertmanager/api/v2/status?x=1&y=2', {
        headers: { 'x-deny': 'yes', accept: 'application/json' },
      });
      assert.equal(denied.status, 403);
      assert.deepEqual(JSON.parse(denied.body.toString()), { status: 'error', error: 'denied for 127.0.0.1' });
      assert.match(String(denied.headers['content-type']), /^application\/json/);
      assert.equal(
        denied.headers['strict-transport-security'],
        'max-age=31536000; includeSubDomains',
        'security headers come first',
      );
      assert.deepEqual(seen.at(-1), {
        ip: '127.0.0.1',
        path: '/api/v2/status',
        query: { x: '1', y: '2' },
        baseUrl: '/alertmanager',
        originalUrl: '/alertmanager/api/v2/status?x=1&y=2',
        secure: true,
        accepts: 'json',
      });

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

  it('holds the security headers until the head goes out: a proxied answer sets no header one by one', async () => {
    const upstream = await startUpstream((_req, res) =>
      res
        .writeHead(200, {
          'content-type': 'application/json',
          vary: 'Accept-Encoding, Origin, accept-encoding',
          'x-frame-options': 'ALLOWALL',
        })
        .end('{}'),
    );
    let setHeaderCalls = -1;
    const gateway = await startTestGateway({
      upstream: upstream.url,
      middleware: {
        beforeProxy: (_req: Request, res: Response, next: NextFunction) => {
          // Counts what the gateway does after this point; the hook itself reads no header.
          const setHeader = res.setHeader;
          setHeaderCalls = 0;
          res.setHeader = function (this: Response, ...args: Parameters<Response['setHeader']>) {
            setHeaderCalls++;
            return setHeader.apply(this, args);
          } as Response['setHeader'];
          next();
        },
      },
    });
    try {
      const response = await gateway.request('/prometheus/api/v1/query');
      assert.equal(response.status, 200);
      assert.equal(setHeaderCalls, 0, 'status, security and upstream headers go out in one writeHead');
      assert.equal(
        response.headers['x-frame-options'],
        'SAMEORIGIN',
        "the gateway's only (a second one would be joined in)",
      );
      assert.equal(response.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      assert.match(String(response.headers['content-security-policy']), /^default-src 'self'/);
      assert.equal(response.headers['content-type'], 'application/json');
      assert.equal(response.headers.vary, 'accept-encoding, Origin', 'Vary without a repeated field, as before');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('lets middleware read, replace and remove the security headers as if they were set', async () => {
    const upstream = await startUpstream();
    const seen: Array<Record<string, unknown>> = [];
    const gateway = await startTestGateway({
      upstream: upstream.url,
      middleware: {
        beforeProxy: (req: Request, res: Response, next: NextFunction) => {
          const action = req.get('x-action');
          if (action === 'read')
            seen.push({
              frame: res.get('X-Frame-Options'),
              has: res.hasHeader('referrer-policy'),
              names: res.getHeaderNames().length,
              all: Object.keys(res.getHeaders()).length,
            });
          if (action === 'replace') res.setHeader('X-Frame-Options', 'DENY');
          if (action === 'remove') res.removeHeader('Referrer-Policy');
          if (action === 'append') res.appendHeader('X-Content-Type-Options', 'nosniff');
          next();
        },
      },
    });
    try {
      const read = await gateway.request('/prometheus/api/v1/query', { headers: { 'x-action': 'read' } });
      assert.deepEqual(seen, [{ frame: 'SAMEORIGIN', has: true, names: seen[0]?.names, all: seen[0]?.names }]);
      assert.ok(Number(seen[0]?.names) >= 12, `the preset's headers are all there: ${String(seen[0]?.names)}`);
      assert.equal(read.headers['referrer-policy'], 'no-referrer');
      assert.equal(
        (await gateway.request('/prometheus/api/v1/query', { headers: { 'x-action': 'replace' } })).headers[
          'x-frame-options'
        ],
        'DENY',
      );
      const removed = await gateway.request('/prometheus/api/v1/query', { headers: { 'x-action': 'remove' } });
      assert.equal(removed.headers['referrer-policy'], undefined);
      assert.equal(removed.headers['x-frame-options'], 'SAMEORIGIN', 'the others stay');
      const appended = await gateway.request('/prometheus/api/v1/query', { headers: { 'x-action': 'append' } });
      assert.equal(appended.headers['x-content-type-options'], 'nosniff, nosniff', 'appended to the one already there');
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
