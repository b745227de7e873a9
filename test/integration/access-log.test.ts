import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger, createServer, type Logger } from '../../src/index.ts';
import { basicAuth, httpsRequest } from '../helpers/client.ts';
import { startTestGateway, useGatewayWithUpstream } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';
import { issueClientCertificate, makeCa } from '../helpers/pki.ts';
import { makeTestCertificate } from '../helpers/tls.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { waitFor } from '../helpers/wait.ts';

type Line = Record<string, unknown>;

/** A JSON logger whose lines the test can read. */
function collectingLogger(level: 'debug' | 'info' = 'info') {
  const raw: string[] = [];
  const logger = createLogger({ format: 'json', level, destination: { write: (line: string) => raw.push(line) } });
  const requests = () => raw.map((line) => JSON.parse(line) as Line).filter((line) => line.msg === 'request');
  return { logger, raw, requests };
}

/** Access lines are written when the response closes, just after the client has its answer. */
async function nextRequestLines(read: () => Line[], count: number): Promise<Line[]> {
  await waitFor(() => read().length >= count, { message: `${count} access log lines` });
  return read();
}

const PASSWORD = 's3cret-Pa55word';
const authorization = basicAuth('alice', PASSWORD);

describe('access log', () => {
  const log = collectingLogger();
  const htpasswdFile = writeHtpasswd([{ user: 'alice', password: PASSWORD, flag: '-B' }]);
  const setup = useGatewayWithUpstream((upstream) => ({
    upstream: upstream.url,
    auth: { htpasswdFile },
    logger: log.logger,
  }));

  it('writes one JSON line per request with method, path, status, duration, bytes, user and address', async () => {
    const before = log.requests().length;
    const response = await setup.gateway.request('/prometheus/api/v1/query?query=up', { headers: { authorization } });
    assert.equal(response.status, 200);
    const lines = (await nextRequestLines(log.requests, before + 1)).slice(before);
    assert.equal(lines.length, 1, 'exactly one line, though both the server and the gateway observe');
    const line = lines[0]!;
    assert.equal(line.level, 'info');
    assert.equal(line.method, 'GET');
    assert.equal(line.path, '/prometheus/api/v1/query', 'the path, without the query string');
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, 'number');
    assert.ok(
      (line.bytes_sent as number) > response.body.length,
      `bytes_sent ${line.bytes_sent} counts headers and body (${response.body.length})`,
    );
    assert.equal(line.user, 'alice');
    assert.equal(line.remote_address, '127.0.0.1');
    assert.ok(line.request_id !== undefined);
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("writes its lines without pino's generic serializer, at info and at warn", async (t) => {
    const pinoCalls = [t.mock.method(log.logger, 'info'), t.mock.method(log.logger, 'warn')];
    const before = log.requests().length;
    setup.upstream.handle((req) => req.socket.destroy());
    try {
      assert.equal(
        (await setup.gateway.request('/prometheus/api/v1/query', { headers: { authorization } })).status,
        502,
      );
    } finally {
      setup.upstream.handle((_req, res) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success"}'),
      );
    }
    await setup.gateway.request('/prometheus/api/v1/query', { headers: { authorization } });
    const lines = (await nextRequestLines(log.requests, before + 2)).slice(before);
    assert.deepEqual(
      lines.map((line) => [line.status, line.level, line.user]),
      [
        [502, 'warn', 'alice'],
        [200, 'info', 'alice'],
      ],
    );
    const accessCalls = pinoCalls.flatMap((call) => call.mock.calls).filter((call) => call.arguments[1] === 'request');
    assert.equal(accessCalls.length, 0, "the access lines were written by the logger's flat line writer");
  });

  it('never writes Authorization, cookies or passwords, whatever the outcome', async () => {
    const before = log.raw.length;
    const cookie = 'grafana_session=c00kie-value-123';
    await setup.gateway.request('/prometheus/api/v1/query', { headers: { authorization, cookie } });
    await setup.gateway.request('/prometheus/api/v1/query', {
      headers: { authorization: basicAuth('alice', `wrong-${PASSWORD}`), cookie },
    });
    await setup.gateway.request('/prometheus/api/v1/query', { headers: { authorization: basicAuth(PASSWORD, 'x') } });
    const written =
      (await nextRequestLines(
        () =>
          log.raw
            .slice(before)
            .map((line) => JSON.parse(line) as Line)
            .filter((line) => line.msg === 'request'),
        3,
      )) && log.raw.slice(before).join('');
    assert.ok(written.includes('"status":401'), 'the failures were logged');
    for (const secret of [PASSWORD, authorization.slice(6), 'c00kie-value-123', 'grafana_session'])
      assert.ok(!written.includes(secret), `"${secret}" must not be logged`);
    assert.doesNotMatch(written, /authorization|cookie/i);
  });

  it('logs answers outside the base path and failed upstream requests, the latter at warn', async () => {
    const before = log.requests().length;
    await setup.gateway.request('/not-prometheus/');
    setup.upstream.handle((req) => req.socket.destroy());
    try {
      assert.equal(
        (await setup.gateway.request('/prometheus/api/v1/query', { headers: { authorization } })).status,
        502,
      );
    } finally {
      setup.upstream.handle((_req, res) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success"}'),
      );
    }
    const lines = (await nextRequestLines(log.requests, before + 2)).slice(before);
    assert.deepEqual(
      lines.map((line) => [line.path, line.status, line.level]),
      [
        ['/not-prometheus/', 404, 'info'],
        ['/prometheus/api/v1/query', 502, 'warn'],
      ],
    );
  });

  it('marks a request the client abandoned', async () => {
    const before = log.requests().length;
    setup.upstream.handle(() => {}); // never answers
    try {
      const controller = new AbortController();
      const reached = setup.upstream.nextRequest();
      const pending = setup.gateway.request('/prometheus/api/v1/query', {
        headers: { authorization },
        signal: controller.signal,
      });
      await reached;
      controller.abort();
      await assert.rejects(pending);
      const [line] = (await nextRequestLines(log.requests, before + 1)).slice(before);
      assert.equal(line?.aborted, true);
      assert.equal(line?.path, '/prometheus/api/v1/query');
    } finally {
      setup.upstream.handle((_req, res) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success"}'),
      );
    }
  });
});

describe('access log settings', () => {
  it('is off with log.accessLog: false, while other log lines stay', async () => {
    const log = collectingLogger();
    const upstream = await startUpstream();
    const gateway = await startTestGateway({ upstream: upstream.url, logger: log.logger, log: { accessLog: false } });
    try {
      assert.equal((await gateway.request('/prometheus/x')).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 100)); // kept: the test is that no line comes, so there is no event to wait for
      assert.equal(log.requests().length, 0);
      assert.ok(log.raw.some((line) => line.includes('"msg":"promgate listening"')));
      assert.ok(!gateway.handle.gateway.stages.includes('access-log'));
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('names the client certificate subject under mTLS', async () => {
    const ca = await makeCa('access-log-ca');
    const client = await issueClientCertificate(ca, 'scraper-1');
    const serverCert = await makeTestCertificate();
    const webConfig = join(mkdtempSync(join(tmpdir(), 'promgate-access-log-')), 'web.yml');
    writeFileSync(
      webConfig,
      `tls_server_config:\n  cert_file: ${serverCert.certFile}\n  key_file: ${serverCert.keyFile}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n`,
    );
    const log = collectingLogger();
    const upstream = await startUpstream();
    const handle = await createServer({
      upstream: upstream.url,
      logger: log.logger,
      web: { listenAddress: '127.0.0.1:0', config: { file: webConfig } },
    }).catch(async (error: unknown) => {
      await upstream.close();
      throw error;
    });
    try {
      const response = await httpsRequest(`https://127.0.0.1:${handle.address.port}`, '/prometheus/x', {
        ca: serverCert.cert,
        cert: client.certPem,
        key: client.keyPem,
      });
      assert.equal(response.status, 200);
      const [line] = await nextRequestLines(log.requests, 1);
      assert.match(String(line?.client_subject), /CN=scraper-1/);
      assert.equal(line?.user, undefined);
    } finally {
      await handle.close();
      await upstream.close();
    }
  });

  it('hands the lines to a logger that is not pino, in its call shape', async () => {
    const calls: Array<[string, Record<string, unknown>, string]> = [];
    const method = (level: string) => (fields: Record<string, unknown>, message: string) =>
      void calls.push([level, fields, message]);
    const logger: Logger = {
      debug: method('debug'),
      info: method('info'),
      warn: method('warn'),
      error: method('error'),
    };
    const upstream = await startUpstream();
    const gateway = await startTestGateway({ upstream: upstream.url, logger });
    try {
      await gateway.request('/prometheus/x');
      await waitFor(() => calls.some((call) => call[2] === 'request'), {
        message: () => `the access line; calls: ${JSON.stringify(calls)}`,
      });
      const request = calls.find((call) => call[2] === 'request');
      assert.ok(request, JSON.stringify(calls));
      assert.equal(request[0], 'info');
      assert.equal(request[1].path, '/prometheus/x');
      assert.equal(request[1].status, 200);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
