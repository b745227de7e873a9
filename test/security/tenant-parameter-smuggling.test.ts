// A tenant must not get an unscoped query past the rewrite by giving a parameter twice, in two
// places, in a body Prometheus reads but the gateway does not, or in an encoding the two read
// differently: Go's FormValue takes the body's value over the query string's, the first of two,
// parses multipart bodies too, and silently skips pairs with ';' or a bad escape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useTenantGateway } from '../helpers/tenant-gateway.ts';

const FORM = 'application/x-www-form-urlencoded';
const MULTIPART_BODY = '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\nup\r\n--x--\r\n';

interface Smuggle {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  type?: string;
  body?: string;
  headers?: Record<string, string>;
}

const SMUGGLES: Smuggle[] = [
  { name: 'query twice in the query string', method: 'GET', path: '/api/v1/query?query=up&query=secret' },
  { name: 'query twice, once encoded', method: 'GET', path: '/api/v1/query?query=up&%71uery=secret' },
  { name: 'query twice in the body', method: 'POST', path: '/api/v1/query', type: FORM, body: 'query=up&query=secret' },
  {
    name: 'query in the query string and in the body',
    method: 'POST',
    path: '/api/v1/query?query=up',
    type: FORM,
    body: 'query=secret',
  },
  {
    name: 'time in both places',
    method: 'POST',
    path: '/api/v1/query?time=1',
    type: FORM,
    body: 'query=up&time=2',
  },
  { name: 'start twice', method: 'GET', path: '/api/v1/query_range?query=up&start=1&start=2&end=3&step=1' },
  { name: 'a ";" separator', method: 'GET', path: '/api/v1/query?query=up;query=secret' },
  { name: 'a ";" in the body', method: 'POST', path: '/api/v1/query', type: FORM, body: 'query=up;x=1' },
  { name: 'an invalid escape', method: 'GET', path: '/api/v1/query?query=up%zz' },
  { name: 'a truncated escape', method: 'GET', path: '/api/v1/query?query=up%2' },
  { name: 'an escape that is not UTF-8', method: 'GET', path: '/api/v1/query?query=up%ff' },
  {
    name: 'a multipart body',
    method: 'POST',
    path: '/api/v1/query',
    type: 'multipart/form-data; boundary=x',
    body: MULTIPART_BODY,
  },
  {
    name: 'a multipart body behind a form query string',
    method: 'POST',
    path: '/api/v1/query?query=up',
    type: 'multipart/form-data; boundary=x',
    body: MULTIPART_BODY,
  },
  { name: 'a JSON body', method: 'POST', path: '/api/v1/query', type: 'application/json', body: '{"query":"secret"}' },
  { name: 'a text body', method: 'POST', path: '/api/v1/query', type: 'text/plain', body: 'query=secret' },
  { name: 'an untyped body', method: 'POST', path: '/api/v1/query', body: 'query=secret' },
  {
    name: 'a gzip-encoded form',
    method: 'POST',
    path: '/api/v1/query',
    type: FORM,
    body: 'query=up',
    headers: { 'content-encoding': 'gzip' },
  },
  { name: 'a GET with a form body', method: 'GET', path: '/api/v1/query?query=up', type: FORM, body: 'query=secret' },
  {
    name: 'match[] of series in a multipart body',
    method: 'POST',
    path: '/api/v1/series',
    type: 'multipart/form-data; boundary=x',
    body: MULTIPART_BODY,
  },
  { name: 'the label-values time range twice', method: 'GET', path: '/api/v1/label/job/values?start=1&start=2' },
  { name: 'a federation parameter twice', method: 'GET', path: '/federate?match[]=up&x=1&x=2' },
];

describe('tenant parameter smuggling', () => {
  const env = useTenantGateway();

  for (const smuggle of SMUGGLES) {
    it(`refuses ${smuggle.name} with 400, before the upstream`, async () => {
      const before = env.upstream.requests.length;
      const headers: Record<string, string> = { ...smuggle.headers };
      if (smuggle.type) headers['content-type'] = smuggle.type;
      const response = await env.gateway.request(`/prometheus${smuggle.path}`, {
        method: smuggle.method,
        headers,
        body: smuggle.body,
      });
      assert.equal(response.status, 400, response.text);
      assert.equal(env.upstream.requests.length, before, 'nothing reached the upstream');
    });
  }

  it('sends one canonical query, whatever the client sent around it', async () => {
    const response = await env.gateway.request('/prometheus/api/v1/query?time=1', {
      method: 'POST',
      headers: { 'content-type': `${FORM}; charset=utf-8` },
      body: 'query=up+%2B+on()+group_left+secret',
    });
    assert.equal(response.status, 200, response.text);
    const { url, body } = env.upstream.requests.at(-1)!;
    assert.equal(url, '/api/v1/query', 'no query string left for Go to merge');
    assert.deepEqual(
      [...new URLSearchParams(body.toString())],
      [
        ['query', 'up{namespace="a"} + on () group_left secret{namespace="a"}'],
        ['time', '1'],
      ],
    );
  });
});
