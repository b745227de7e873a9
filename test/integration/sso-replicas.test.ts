// Sessions need no store: two gateway processes with the same cookie secret accept each other's
// sessions, one with another secret sends the browser to sign in; check-config asks no provider.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, runCli, startCli, type RunningCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { startSsoProvider, type SsoSetup } from '../helpers/sso.ts';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

describe('single sign-on across gateway processes', () => {
  let sso: SsoSetup;
  let upstream: RecordingUpstream;
  let cert: TestCertificate;
  const processes: RunningCli[] = [];

  /** Gateway `index` of the setup as its own process, with this cookie secret file. */
  const startReplica = async (index: number, cookieSecretFile: string) => {
    const config = join(cert.dir, `promgate-${index}-${processes.length}.yml`);
    // JSON is YAML.
    writeFileSync(
      config,
      JSON.stringify({
        web: { listenAddress: sso.listenAddress(index) },
        upstream: { url: upstream.url },
        tls: { certFile: cert.certFile, keyFile: cert.keyFile },
        auth: sso.auth(index, { cookieSecretFile }),
      }),
    );
    const cli = startCli([`--config.file=${config}`], { env: cleanEnv({ PROMGATE_LOG_FORMAT: 'json' }) });
    processes.push(cli);
    await cli.listening;
    return { origin: `https://127.0.0.1:${sso.ports[index]}`, cli };
  };

  before(async () => {
    sso = await startSsoProvider({ gateways: 3 });
    upstream = await startUpstream();
    cert = await makeTestCertificate();
  });
  after(async () => {
    await Promise.all(processes.map((cli) => cli.stop()));
    await upstream.close();
    await sso.stop();
  });

  it('accepts a session another replica with the same secret made, and refuses one made with another secret', async () => {
    const [first, second, stranger] = await Promise.all([
      startReplica(0, sso.cookieSecretFile),
      startReplica(1, sso.cookieSecretFile),
      startReplica(2, sso.otherCookieSecretFile()),
    ]);
    const browser = sso.browser(cert.cert);
    const page = await browser.signIn(`${first.origin}/prometheus/graph`, {
      login: 'alice',
      password: 'alice-password',
    });
    assert.equal(page.status, 200, page.text);
    const session = browser.cookie('promgate_session');
    assert.ok(session);

    // Replicas serve one external URL; here each has its own port, so the cookie is carried over by hand.
    const api = { accept: 'application/json', cookie: `promgate_session=${session}` };
    const onSecond = await browser.fetch(`${second.origin}/prometheus/api/v1/query?query=up`, { headers: api });
    assert.equal(onSecond.status, 401, 'another external URL is another audience');

    // The same external URL as the first (as behind one load balancer): both open its session.
    const shared = sso.auth(0).oidc.externalUrl;
    const [replicaA, replicaB] = await Promise.all([
      startReplicaAt(shared, sso.cookieSecretFile),
      startReplicaAt(shared, sso.cookieSecretFile),
    ]);
    for (const replica of [replicaA, replicaB]) {
      const answer = await browser.fetch(`${replica}/prometheus/api/v1/query?query=up`, { headers: api });
      assert.equal(answer.status, 200, replica);
    }
    const refused = await browser.fetch(`${stranger.origin}/prometheus/graph`, {
      headers: { cookie: `promgate_session=${session}` },
    });
    assert.equal(refused.status, 302, 'another secret: the browser is sent to sign in');
    assert.match(String(refused.headers['set-cookie']), /promgate_session=; .*Max-Age=0/);
  });

  /** A replica on a port of its own that believes it is reached at `externalUrl`. */
  async function startReplicaAt(externalUrl: string, cookieSecretFile: string): Promise<string> {
    const port = await freePort();
    const config = join(cert.dir, `promgate-replica-${port}.yml`);
    writeFileSync(
      config,
      JSON.stringify({
        web: { listenAddress: `127.0.0.1:${port}` },
        upstream: { url: upstream.url },
        tls: { certFile: cert.certFile, keyFile: cert.keyFile },
        auth: sso.auth(0, { cookieSecretFile, externalUrl }),
      }),
    );
    const cli = startCli([`--config.file=${config}`], { env: cleanEnv({ PROMGATE_LOG_FORMAT: 'json' }) });
    processes.push(cli);
    await cli.listening;
    return `https://127.0.0.1:${port}`;
  }

  it('check-config builds the sign-in without asking the provider', async () => {
    const config = join(cert.dir, 'check.yml');
    const closed = await freePort();
    writeFileSync(
      config,
      JSON.stringify({
        upstream: { url: upstream.url },
        tls: { certFile: cert.certFile, keyFile: cert.keyFile },
        auth: sso.auth(0, { issuer: `https://127.0.0.1:${closed}` }),
      }),
    );
    const result = await runCli(['check-config', `--config.file=${config}`]);
    assert.equal(result.code, 0, result.stderr);
    const bad = join(cert.dir, 'bad.yml');
    const shortSecret = join(cert.dir, 'short-secret');
    writeFileSync(shortSecret, 'short\n');
    writeFileSync(
      bad,
      JSON.stringify({
        upstream: { url: upstream.url },
        tls: { certFile: cert.certFile, keyFile: cert.keyFile },
        auth: sso.auth(0, { cookieSecretFile: shortSecret }),
      }),
    );
    const refused = await runCli(['check-config', `--config.file=${bad}`]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /auth\.oidc\.cookieSecretFile.*short-secret line 1: a secret needs at least 32 characters/,
    );
  });
});
