import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rewriteLocation } from '../../middleware/proxy/redirect.ts';

const upstream = new URL('http://127.0.0.1:9090');
const gateway = 'https://gw.example.com';

describe('rewriteLocation', () => {
  const cases: Array<[string, string, string]> = [
    ['/graph', '/prometheus', '/prometheus/graph'],
    ['/graph/?g0.expr=up', '/prometheus', '/prometheus/graph/?g0.expr=up'],
    ['/prometheus/classic/graph', '/prometheus', '/prometheus/classic/graph'],
    ['/prometheus', '/prometheus', '/prometheus'],
    ['/prometheusx/graph', '/prometheus', '/prometheus/prometheusx/graph'],
    ['http://127.0.0.1:9090/graph', '/prometheus', 'https://gw.example.com/prometheus/graph'],
    ['http://127.0.0.1:9090/prometheus/graph', '/prometheus', 'https://gw.example.com/prometheus/graph'],
    ['https://elsewhere.example.com/x', '/prometheus', 'https://elsewhere.example.com/x'],
    ['//elsewhere.example.com/x', '/prometheus', '//elsewhere.example.com/x'],
    ['graph', '/prometheus', 'graph'],
    ['/graph', '', '/graph'],
  ];
  for (const [location, prefix, expected] of cases) {
    it(`${location} under "${prefix}" -> ${expected}`, () => {
      assert.equal(rewriteLocation(location, prefix, upstream, gateway), expected);
    });
  }

  it('maps an upstream mounted below a path back to the gateway prefix', () => {
    const sub = new URL('http://127.0.0.1:9090/sub/');
    assert.equal(rewriteLocation('/sub/graph', '/prometheus', sub, gateway), '/prometheus/graph');
  });
});
