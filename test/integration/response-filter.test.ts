import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import type { NextFunction, Request, Response } from 'express';
import { filterResponse } from '../../src/kernel/response-filter.ts';
import { useGatewayWithUpstream } from '../helpers/gateway.ts';

const ANSWER = { status: 'success', data: { items: ['mine', 'theirs', 'mine too'] } };
const keepMine = (json: unknown) => {
  const answer = json as typeof ANSWER;
  return { ...answer, data: { items: answer.data.items.filter((item) => item.startsWith('mine')) } };
};
const FILTERED = { status: 'success', data: { items: ['mine', 'mine too'] } };

const ENCODINGS: Array<[string, (body: Buffer) => Buffer, string?]> = [
  ['identity', (body) => body],
  ['gzip', gzipSync],
  ['x-gzip', gzipSync],
  ['deflate', deflateSync],
  ['deflate', deflateRawSync, 'raw, as some servers send it'],
  ['br', brotliCompressSync],
  ['zstd', zstdCompressSync],
  ['gzip, br', (body) => brotliCompressSync(gzipSync(body))],
];

describe('response filtering', () => {
  const env = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    middleware: {
      beforeProxy: (req: Request, _res: Response, next: NextFunction) => {
        if (req.url.startsWith('/filtered')) filterResponse(req, keepMine);
        next();
      },
    },
  }));

  for (const [encoding, encode, note] of ENCODINGS) {
    it(`filters a JSON answer sent with Content-Encoding: ${encoding}${note ? ` (${note})` : ''}`, async () => {
      env.upstream.handle((_req, res) => {
        const body = encode(Buffer.from(JSON.stringify(ANSWER)));
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': encoding,
          'content-length': body.length,
          etag: '"abc"',
        });
        res.end(body);
      });
      const response = await env.gateway.request('/prometheus/filtered', {
        headers: { 'accept-encoding': 'gzip, br' },
      });
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.text), FILTERED);
      assert.equal(response.headers['content-encoding'], undefined);
      assert.equal(response.headers.etag, undefined, 'an ETag of the unfiltered answer would let caches mix them up');
      assert.equal(response.headers['content-length'], String(response.body.length));
      assert.equal(env.upstream.requests.at(-1)?.headers['accept-encoding'], 'identity');
    });
  }

  it('filters an answer sent in chunks without a length', async () => {
    env.upstream.handle((_req, res) => {
      const text = JSON.stringify(ANSWER);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(text.slice(0, 10));
      setImmediate(() => res.end(text.slice(10)));
    });
    const response = await env.gateway.request('/prometheus/filtered');
    assert.deepEqual(JSON.parse(response.text), FILTERED);
  });

  const UNREADABLE: Array<[string, Record<string, string>, Buffer]> = [
    ['not JSON', { 'content-type': 'application/json' }, Buffer.from('{"status": "succ')],
    ['HTML', { 'content-type': 'text/html' }, Buffer.from('<p>everything</p>')],
    ['an unknown encoding', { 'content-type': 'application/json', 'content-encoding': 'compress' }, Buffer.from('{}')],
    ['a broken gzip body', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, Buffer.from('xyz')],
  ];
  for (const [what, headers, body] of UNREADABLE) {
    it(`answers 502, never the unfiltered answer, when it is ${what}`, async () => {
      env.upstream.handle((_req, res) => res.writeHead(200, headers).end(body));
      const response = await env.gateway.request('/prometheus/filtered');
      assert.equal(response.status, 502);
      assert.doesNotMatch(response.text, /theirs|everything/);
    });
  }

  it('passes an answer without a body (204) as it is', async () => {
    env.upstream.handle((_req, res) => res.writeHead(204).end());
    const response = await env.gateway.request('/prometheus/filtered');
    assert.equal(response.status, 204);
  });

  it('passes error answers and unfiltered requests through untouched', async () => {
    env.upstream.handle((_req, res) =>
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"status":"error","error":"bad"}'),
    );
    const refused = await env.gateway.request('/prometheus/filtered');
    assert.equal(refused.status, 400);
    assert.equal(refused.text, '{"status":"error","error":"bad"}');
    env.upstream.handle((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ANSWER)),
    );
    const plain = await env.gateway.request('/prometheus/other', { headers: { 'accept-encoding': 'gzip' } });
    assert.deepEqual(JSON.parse(plain.text), ANSWER);
    assert.equal(env.upstream.requests.at(-1)?.headers['accept-encoding'], 'gzip');
  });
});
