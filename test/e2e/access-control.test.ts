// Read-only by default, against a real Prometheus whose admin API and lifecycle endpoints are on:
// what a viewer is refused works for the admin role, and the encodings that reach Prometheus's
// admin routes when sent to it directly are refused by the gateway.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basicAuth } from '../helpers/client.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import {
  PROMETHEUS_BINARY,
  startPrometheusBehindGateway,
  type PrometheusBehindGateway,
} from '../helpers/prometheus.ts';
import { requireCommands } from '../helpers/requirements.ts';

const admin = { authorization: basicAuth('alice', 'alice-pw') };
const viewer = { authorization: basicAuth('bob', 'bob-pw') };

describe('read-only protection in front of a real Prometheus', {
  skip: requireCommands(PROMETHEUS_BINARY, 'htpasswd'),
}, () => {
  let setup: PrometheusBehindGateway;

  before(async () => {
    const htpasswdFile = writeHtpasswd([
      { user: 'alice', password: 'alice-pw', flag: '-B' },
      { user: 'bob', password: 'bob-pw', flag: '-B' },
    ]);
    setup = await startPrometheusBehindGateway(
      { auth: { htpasswdFile }, accessControl: { users: { alice: 'admin' } } },
      3,
      ['--web.enable-admin-api', '--web.enable-lifecycle'],
    );
  });

  after(async () => {
    await setup?.close();
  });

  test('Prometheus itself takes an encoded slash as a path separator (the trick is real)', async () => {
    const direct = await fetch(`${setup.prometheus.url}/api/v1/admin%2Ftsdb%2Fclean_tombstones`, { method: 'POST' });
    assert.equal(direct.status, 204, `Prometheus answered ${direct.status}: ${await direct.text()}`);
  });

  for (const path of [
    '/api/v1/admin/tsdb/clean_tombstones',
    '/api/v1/admin%2Ftsdb%2Fclean_tombstones',
    '/api/v1/%61dmin/tsdb/clean_tombstones',
    '/api/v1/query/../admin/tsdb/clean_tombstones',
  ]) {
    test(`refuses POST ${path} to a viewer`, async () => {
      const response = await setup.gateway.request(`/prometheus${path}`, { method: 'POST', headers: viewer });
      // Dot segments are refused (400) before auth (test/security/path-traversal-dot-segments.test.ts).
      assert.equal(response.status, path.includes('/../') ? 400 : 403, response.text);
    });
  }

  test('lets the admin role take a TSDB snapshot', async () => {
    const response = await setup.gateway.request('/prometheus/api/v1/admin/tsdb/snapshot', {
      method: 'POST',
      headers: admin,
    });
    assert.equal(response.status, 200, response.text);
    assert.match((JSON.parse(response.text) as { data: { name: string } }).data.name, /^\d{8}T\d{6}Z-/);
  });

  test('keeps Prometheus running when a viewer posts /-/quit, and lets the admin reload it', async () => {
    assert.equal((await setup.gateway.request('/prometheus/-/quit', { method: 'POST', headers: viewer })).status, 403);
    assert.equal((await fetch(`${setup.prometheus.url}/-/healthy`)).status, 200);
    assert.equal(
      (await setup.gateway.request('/prometheus/-/reload', { method: 'POST', headers: viewer })).status,
      403,
    );
    assert.equal((await setup.gateway.request('/prometheus/-/reload', { method: 'POST', headers: admin })).status, 200);
  });

  test('lets a viewer query and use the UI', async () => {
    const query = await setup.gateway.request('/prometheus/api/v1/query', {
      method: 'POST',
      headers: { ...viewer, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=up',
    });
    assert.equal(query.status, 200, query.text);
    assert.equal((JSON.parse(query.text) as { status: string }).status, 'success');
    const ui = await setup.gateway.request('/prometheus/graph', { headers: viewer });
    assert.ok(ui.status === 200 || ui.status === 301 || ui.status === 302, `UI answered ${ui.status}`); // versions redirect /graph differently
  });
});
