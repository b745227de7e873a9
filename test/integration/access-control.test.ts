import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger, createServer } from '../../src/index.ts';
import { basicAuth, httpsRequest } from '../helpers/client.ts';
import { useGatewayWithUpstream } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { scrape, sampleValue } from '../helpers/metrics.ts';
import { issueClientCertificate, makeCa } from '../helpers/pki.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

const alice = { authorization: basicAuth('alice', 'alice-pw') }; // admin
const bob = { authorization: basicAuth('bob', 'bob-pw') }; // no mapping: the default role (viewer)

/** Every way of writing a protected endpoint that the tests send; none may reach the upstream. */
const TRICKS = [
  ['POST', '/prometheus/api/v1/admin/tsdb/delete_series?match[]=up'],
  ['POST', '/prometheus/api/v1/%61dmin/tsdb/delete_series'],
  ['POST', '/prometheus/api/v1/admin%2Ftsdb%2Fdelete_series'],
  ['POST', '/prometheus/api/v1/admin%252Ftsdb/snapshot'],
  ['POST', '/prometheus/api/v1/query/../admin/tsdb/snapshot'],
  ['POST', '/prometheus/api/v1/query/%2e%2e/admin/tsdb/snapshot'],
  ['POST', '/prometheus//api//v1//admin/tsdb/snapshot'],
  ['POST', '/prometheus/API/V1/ADMIN/TSDB/SNAPSHOT'],
  ['POST', '/prometheus/api/v1/admin/tsdb/snapshot/'],
  ['POST', '/prometheus/api/v1/admin;x=1/tsdb/snapshot'],
  ['PUT', '/prometheus/-/reload'],
  ['POST', '/prometheus/-/quit'],
  ['POST', '/prometheus/-/%71uit'],
  ['POST', '/prometheus/api/v1/write'],
  ['POST', '/prometheus/api/v1/otlp/v1/metrics'],
] as const;

describe('access control (read-only by default)', () => {
  const log: string[] = [];
  const htpasswdFile = writeHtpasswd([
    { user: 'alice', password: 'alice-pw', flag: '-B' },
    { user: 'bob', password: 'bob-pw', flag: '-B' },
  ]);
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    auth: { htpasswdFile },
    accessControl: { users: { alice: 'admin' } },
    metrics: { listenAddress: '127.0.0.1:0' },
    logger: createLogger({ format: 'json', destination: { write: (line: string) => log.push(line) } }),
  }));

  for (const [method, path] of TRICKS) {
    it(`refuses ${method} ${path} to a viewer with 403, before the upstream`, async () => {
      const before = setup.upstream.requests.length;
      const response = await setup.gateway.request(path, { method, headers: bob });
      // Dot and empty segments are refused (400) before auth (test/security/path-traversal-dot-segments.test.ts).
      assert.equal(response.status, /\/\.|%2e|\/\//i.test(path) ? 400 : 403, response.text);
      assert.equal(setup.upstream.requests.length, before, 'nothing reached the upstream');
    });
  }

  it('answers 403 with Prometheus error JSON under /api/, naming the rule', async () => {
    const response = await setup.gateway.request('/prometheus/api/v1/admin/tsdb/snapshot', {
      method: 'POST',
      headers: bob,
    });
    assert.equal(response.status, 403);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(response.text), {
      status: 'error',
      errorType: 'forbidden',
      error: 'forbidden by viewer.deny.admin-api',
    });
  });

  it('lets a viewer read, including queries sent as POST', async () => {
    assert.equal((await setup.gateway.request('/prometheus/api/v1/query?query=up', { headers: bob })).status, 200);
    assert.equal(
      (
        await setup.gateway.request('/prometheus/api/v1/query', {
          method: 'POST',
          headers: { ...bob, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'query=up',
        })
      ).status,
      200,
    );
    assert.equal((await setup.gateway.request('/prometheus/graph', { headers: bob })).status, 200);
  });

  it('lets the admin role use the admin, lifecycle and write endpoints', async () => {
    for (const [method, path] of [
      ['POST', '/prometheus/api/v1/admin/tsdb/snapshot'],
      ['POST', '/prometheus/-/reload'],
      ['POST', '/prometheus/api/v1/write'],
    ] as const) {
      const before = setup.upstream.requests.length;
      assert.equal((await setup.gateway.request(path, { method, headers: alice })).status, 200, path);
      assert.equal(setup.upstream.requests.length, before + 1);
    }
  });

  it('refuses a path it cannot read with 400', async () => {
    const response = await setup.gateway.request('/prometheus/api/v1/%zz', { headers: alice });
    assert.equal(response.status, 400);
  });

  it('logs and counts each decision with its rule, login method and user', async () => {
    const before = await scrape(setup.gateway.handle.metricsAddress);
    await setup.gateway.request('/prometheus/-/quit', { method: 'POST', headers: bob });
    await setup.gateway.request('/prometheus/api/v1/query?query=up', { headers: bob });
    const after = await scrape(setup.gateway.handle.metricsAddress);
    const delta = (series: string) => sampleValue(after, series) - sampleValue(before, series);
    const bobs = 'auth_method="basic",user="bob"';
    assert.equal(delta(`promgate_access_decisions_total{decision="denied",rule="viewer.deny.lifecycle",${bobs}}`), 1);
    assert.equal(delta(`promgate_access_decisions_total{decision="allowed",rule="viewer.allow.read",${bobs}}`), 1);
    await waitFor(
      () => log.some((line) => line.includes('"rule":"viewer.deny.lifecycle"') && line.includes('"msg":"request"')),
      { message: 'the access line of the denied request' },
    );
    const denied = log
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === 'access denied' && line.rule === 'viewer.deny.lifecycle');
    assert.ok(denied, 'an "access denied" line');
    assert.equal(denied.user, 'bob');
    assert.equal(denied.roles, 'viewer');
    const accessLine = log
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === 'request' && line.rule === 'viewer.deny.lifecycle');
    assert.equal(accessLine?.status, 403, 'the access log line carries the rule');
    assert.equal(accessLine?.auth_method, 'basic', 'and the login method');
  });
});

describe('access control by client certificate', () => {
  it('gives a verified client certificate its role by CN or SAN', async () => {
    const ca = await makeCa('access-control-ca');
    const [ops, grafana] = await Promise.all([
      issueClientCertificate(ca, 'ops-robot'),
      issueClientCertificate(ca, 'grafana', [{ type: 'dns', value: 'grafana.example' }]),
    ]);
    const serverCert = await makeTestCertificate();
    const webConfig = join(mkdtempSync(join(tmpdir(), 'promgate-access-')), 'web.yml');
    writeFileSync(
      webConfig,
      `tls_server_config:\n  cert_file: ${serverCert.certFile}\n  key_file: ${serverCert.keyFile}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n`,
    );
    const upstream = await startUpstream();
    const handle = await createServer({
      upstream: upstream.url,
      web: { listenAddress: '127.0.0.1:0', config: { file: webConfig } },
      accessControl: { clients: { 'ops-robot': 'admin', 'grafana.example': 'viewer' } },
    });
    const origin = `https://127.0.0.1:${handle.address.port}`;
    const snapshot = (client: { certPem: string; keyPem: string }) =>
      httpsRequest(origin, '/prometheus/api/v1/admin/tsdb/snapshot', {
        method: 'POST',
        ca: serverCert.cert,
        cert: client.certPem,
        key: client.keyPem,
      });
    try {
      assert.equal((await snapshot(ops)).status, 200, 'CN ops-robot is admin');
      assert.equal((await snapshot(grafana)).status, 403, 'SAN grafana.example is viewer');
      assert.deepEqual(
        upstream.requests.map((request) => request.url),
        ['/api/v1/admin/tsdb/snapshot'],
      );
    } finally {
      await handle.close();
      await upstream.close();
    }
  });
});
