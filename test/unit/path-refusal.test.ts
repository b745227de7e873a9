import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathReadings, pathRefusal } from '../../src/kernel/path-readings.ts';

describe('request paths refused before any stage reads them', () => {
  const refused = [
    ['/a/../b', /"\." or "\.\."/],
    ['/a/./b', /"\." or "\.\."/],
    ['/a/.', /"\." or "\.\."/],
    ['/a/%2E%2e/b', /"\." or "\.\."/],
    ['/a/..%2Fb', /"\." or "\.\."/],
    ['/a/%252e%252e/b', /"\." or "\.\."/],
    ['/a/..;x=1/b', /"\." or "\.\."/],
    ['/a\\..\\b', /"\." or "\.\."/],
    ['/a/..#/b', /"\." or "\.\."/],
    ['/a/b#/..', /"\." or "\.\."/],
    ['/a//b', /empty segment/],
    ['/a/%2F/b', /empty segment/],
    ['/a/%2Fb', /empty segment/],
    ['//a', /empty segment/],
    ['/a/%zz', /cannot be read/],
    ['/a/%00', /cannot be read/],
    ['*', /starting with "\/"/],
    ['', /starting with "\/"/],
  ] as const;
  for (const [path, reason] of refused) {
    it(`refuses ${JSON.stringify(path)}`, () => assert.match(pathRefusal(path) ?? 'not refused', reason));
  }

  for (const path of [
    '/',
    '/api/v1/query',
    '/a/',
    '/a/...',
    '/a/..b',
    '/a/.b',
    '/a/a%2eb',
    '/a/%2e%2e%2e',
    '/a;x/b',
    '/a/b%2Fc',
    '/a/%25',
    '/A/B',
  ]) {
    it(`keeps ${JSON.stringify(path)}, and the policy still reads it`, () => {
      assert.equal(pathRefusal(path), undefined);
      assert.ok(pathReadings(path));
    });
  }
});
