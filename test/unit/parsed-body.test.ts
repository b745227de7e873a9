import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeForm } from '../../middleware/proxy/parsed-body.ts';

describe('encodeForm (rebuilding a body a host app parsed)', () => {
  it('keeps flat keys from the simple parser as they came', () => {
    assert.equal(
      encodeForm({ 'match[]': ['up', 'go_info'], start: '1' }),
      'match%5B%5D=up&match%5B%5D=go_info&start=1',
    );
    assert.equal(encodeForm({ 'match[]': 'up' }), 'match%5B%5D=up');
  });

  it('gives qs-parsed arrays their brackets back, so Prometheus still sees match[]', () => {
    assert.equal(encodeForm({ match: ['up{job="a b"}'] }), `match%5B%5D=${encodeURIComponent('up{job="a b"}')}`);
  });

  it('encodes UTF-8 and reserved characters', () => {
    assert.equal(new URLSearchParams(encodeForm({ query: 'up{name="ü+/ &"}' })).get('query'), 'up{name="ü+/ &"}');
  });

  it('writes nested qs objects with brackets', () => {
    assert.equal(decodeURIComponent(encodeForm({ a: { b: 'c' } })), 'a[b]=c');
  });
});
