// The authentication benchmark: the same gateway without auth, with basic auth (bcrypt cost 10 user
// from an Apache htpasswd file, cached), with an API token and, when the JWT method exists, with a
// JWT checked against a local key set; measured by wrk over TLS, the variants taking turns in
// rotating order; prints medians and ratios and writes bench/results/auth.json. Run: npm run bench:auth
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { generateToken, tokenDigest } from '../middleware/api-tokens/token.ts';
import { generateCertificate, writeCertificateFiles } from '../src/index.ts';
import { LOAD_CORE, median, PIN, runWrk, SERVER_CORE, type WrkResult } from './lib.ts';
import { startProcess, stopProcess } from './processes.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Each process's first seconds under load are its JIT warm-up (a third of its later rate), not its rate. */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'promgate-bench-'));

const material = await generateCertificate({ commonName: 'localhost', subjectAltNames: ['127.0.0.1'] });
writeCertificateFiles(material, join(work, 'tls.crt'), join(work, 'tls.key'));
const htpasswd = join(work, '.htpasswd');
execFileSync('htpasswd', ['-cbB', '-C', '10', htpasswd, 'bench', 'bench password'], { stdio: 'ignore' });
const apiToken = generateToken();
const tokensFile = join(work, 'tokens');
writeFileSync(tokensFile, `bench sha256:${tokenDigest(apiToken)} groups=bench\n`);

// A JWT as an identity provider would sign it, and the provider's key set on a local HTTP server.
const withJwt = existsSync(join(root, 'middleware/jwt/index.ts'));
const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }] });
const keyServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;
const jwt = await new SignJWT({ groups: ['bench'] })
  .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
  .setIssuer(issuer)
  .setAudience('promgate')
  .setSubject('bench')
  .setIssuedAt()
  .setExpirationTime('2h')
  .sign(privateKey);
const jwtConfig = join(work, 'jwt.yml');
writeFileSync(
  jwtConfig,
  `auth:\n  jwt:\n    issuer: ${issuer}\n    jwksUrl: ${issuer}/jwks\n    audience: promgate\n    userClaim: sub\n`,
);

const { child: upstream, match } = await startProcess({
  core: LOAD_CORE,
  command: process.execPath,
  args: [join(root, 'bench/static-upstream.ts')],
  logFile: join(work, 'upstream.log'),
  ready: /upstream listening on (\d+)/,
});
const upstreamPort = match![1];

const variants = [
  { name: 'promgate, no auth', port: 18601, extra: [] as string[], headers: {} as Record<string, string> },
  {
    name: 'promgate, basic auth (bcrypt-10, cached)',
    port: 18602,
    extra: ['--auth.htpasswd-file', htpasswd],
    headers: { authorization: `Basic ${Buffer.from('bench:bench password').toString('base64')}` },
  },
  {
    name: 'promgate, API token',
    port: 18603,
    extra: ['--auth.tokens-file', tokensFile],
    headers: { authorization: `Bearer ${apiToken}` },
  },
  ...(withJwt
    ? [
        {
          name: 'promgate, JWT (ES256, local key set)',
          port: 18604,
          extra: ['--config.file', jwtConfig],
          headers: { authorization: `Bearer ${jwt}` },
        },
      ]
    : []),
];
const gateways = await Promise.all(
  variants.map(
    async (variant) =>
      (
        await startProcess({
          core: SERVER_CORE,
          command: process.execPath,
          args: [
            join(root, 'src/cli.ts'),
            '--web.listen-address',
            `127.0.0.1:${variant.port}`,
            '--upstream.url',
            `http://127.0.0.1:${upstreamPort}`,
            '--tls.cert-file',
            join(work, 'tls.crt'),
            '--tls.key-file',
            join(work, 'tls.key'),
            ...variant.extra,
          ],
          logFile: join(work, `promgate-${variant.port}.log`),
          ready: /promgate listening/,
        })
      ).child,
  ),
);

const results = new Map<string, WrkResult[]>(variants.map((variant) => [variant.name, []]));
try {
  for (const variant of variants) {
    await runWrk(`https://127.0.0.1:${variant.port}/prometheus/api/v1/label/job/values`, {
      connections: CONNECTIONS,
      seconds: WARMUP_SECONDS,
      headers: variant.headers,
    });
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts with another variant, so none always runs on a machine warmed by another.
    const shift = round % variants.length;
    for (const variant of [...variants.slice(shift), ...variants.slice(0, shift)]) {
      const result = await runWrk(`https://127.0.0.1:${variant.port}/prometheus/api/v1/label/job/values`, {
        connections: CONNECTIONS,
        seconds: SECONDS,
        headers: variant.headers,
      });
      if (result.errors > 0)
        throw new Error(
          `${variant.name}: ${result.errors} failed requests (${result.badStatus} answered >= 400, socket errors ${JSON.stringify(result.socketErrors)})`,
        );
      results.get(variant.name)!.push(result);
    }
  }
} finally {
  await Promise.all([...gateways, upstream].map(stopProcess));
  keyServer.close();
  rmSync(work, { recursive: true, force: true });
}

const summary = variants.map((variant) => {
  const runs = results.get(variant.name)!;
  return {
    name: variant.name,
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    p50Ms: median(runs.map((run) => run.p50Ms)),
    p99Ms: median(runs.map((run) => run.p99Ms)),
    runs: runs.map((run) => Math.round(run.requestsPerSecond)),
  };
});
const ratio = summary[1]!.requestsPerSecond / summary[0]!.requestsPerSecond;
const againstBasic = summary.slice(2).map((row) => ({
  name: row.name,
  ratio: row.requestsPerSecond / summary[1]!.requestsPerSecond,
}));
console.log(
  `\nwrk -t1 -c${CONNECTIONS} -d${SECONDS}s over TLS, ${ROUNDS} rounds (each starting with another variant), medians (node ${process.version}${PIN ? `; gateway on core ${SERVER_CORE}, wrk and upstream on core ${LOAD_CORE}` : ''})`,
);
console.log('| variant | req/s | p50 ms | p99 ms | runs (req/s) |\n|---|---|---|---|---|');
for (const row of summary)
  console.log(
    `| ${row.name} | ${Math.round(row.requestsPerSecond)} | ${row.p50Ms.toFixed(2)} | ${row.p99Ms.toFixed(2)} | ${row.runs.join(', ')} |`,
  );
console.log(`\nbasic auth / no auth: ${ratio.toFixed(2)}x (target >= 0.90x)`);
for (const row of againstBasic) console.log(`${row.name} / basic auth: ${row.ratio.toFixed(2)}x (target >= 1.00x)`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(
  join(root, 'bench/results/auth.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      pinned: PIN,
      connections: CONNECTIONS,
      seconds: SECONDS,
      rounds: ROUNDS,
      summary,
      ratio,
      againstBasic,
    },
    null,
    2,
  ),
);
