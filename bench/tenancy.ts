// What tenancy costs: requests per second of a tenant role against an unrestricted one through
// the same gateway, in alternating rounds, for a small instant query and Grafana's typical range
// query (POSTed as a form). The upstream answers a fixed small JSON at once, so the gateway's own
// work decides. Run: `npx node bench/tenancy.ts` (TENANCY_ROUNDS, TENANCY_SECONDS, TENANCY_ONLY=<part of a
// scenario's name>).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextFunction, Request, Response } from 'express';
import { createServer } from '../src/index.ts';
import { median, runWrk } from './lib.ts';
import { makeCertificate } from './servers.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.TENANCY_ROUNDS ?? 8);
const SECONDS = Number(process.env.TENANCY_SECONDS ?? 4);
const CONNECTIONS = 16;
/** One object, as a role with fixed values gives every request. */
const SCOPE = Object.freeze({ namespace: Object.freeze(['team-a', 'shared']) });
const TENANT_HEADER = 'x-bench-tenant';
const ANSWER = JSON.stringify({
  status: 'success',
  data: { resultType: 'vector', result: [{ metric: { job: 'api' }, value: [1700000000, '1'] }] },
});
const GRAFANA_FORM =
  'query=sum+by+(job)+(rate(http_requests_total%7Bjob%3D%22api%22%2Cstatus%3D~%225..%22%7D%5B5m%5D))&start=1700000000&end=1700003600&step=15';

const dir = mkdtempSync(join(tmpdir(), 'promgate-bench-tenancy-'));
const upstream = createHttpServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(ANSWER));
});
try {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { cert, key } = makeCertificate(ROOT, dir);
  const gateway = await createServer({
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    web: { listenAddress: '127.0.0.1:0' },
    tls: { certFile: cert, keyFile: key },
    middleware: {
      // Sets the scope as a tenant role does; the header is the bench's switch only.
      beforeAuth: (req: Request, _res: Response, next: NextFunction) => {
        if (req.headers[TENANT_HEADER] !== undefined) (req.promgate ??= {}).tenant = SCOPE;
        next();
      },
    },
  });
  const origin = `https://127.0.0.1:${gateway.address.port}`;
  const script = join(dir, 'grafana.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = "${GRAFANA_FORM}"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n`,
  );
  const scenarios = [
    { name: 'instant query up (GET)', url: `${origin}/prometheus/api/v1/query?query=up`, script: undefined },
    { name: "Grafana's range query (POST form)", url: `${origin}/prometheus/api/v1/query_range`, script },
  ];
  const results: Record<string, unknown> = {};
  for (const scenario of scenarios.filter((each) => each.name.includes(process.env.TENANCY_ONLY ?? ''))) {
    const rates = { unrestricted: [] as number[], tenant: [] as number[] };
    // CPU time of this process (gateway and upstream) per request: steadier than req/s on a busy machine.
    const cpu = { unrestricted: [] as number[], tenant: [] as number[] };
    let errors = 0;
    // One unrecorded run each first: the first runs of a process are its JIT warm-up, not its rate.
    for (const who of ['unrestricted', 'tenant'] as const)
      await runWrk(scenario.url, {
        connections: CONNECTIONS,
        seconds: SECONDS,
        headers: who === 'tenant' ? { [TENANT_HEADER]: '1' } : {},
        script: scenario.script,
      });
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with the other role, so a drift of the machine hits both alike.
      const order = round % 2 === 0 ? (['unrestricted', 'tenant'] as const) : (['tenant', 'unrestricted'] as const);
      for (const who of order) {
        const headers: Record<string, string> = who === 'tenant' ? { [TENANT_HEADER]: '1' } : {};
        const before = process.cpuUsage();
        const run = await runWrk(scenario.url, {
          connections: CONNECTIONS,
          seconds: SECONDS,
          headers,
          script: scenario.script,
        });
        const used = process.cpuUsage(before);
        rates[who].push(run.requestsPerSecond);
        cpu[who].push((used.user + used.system) / run.requests);
        errors += run.errors;
      }
    }
    const unrestricted = median(rates.unrestricted);
    const tenant = median(rates.tenant);
    const cpuUnrestricted = median(cpu.unrestricted);
    const cpuTenant = median(cpu.tenant);
    results[scenario.name] = {
      unrestricted,
      tenant,
      ratio: Number((tenant / unrestricted).toFixed(3)),
      cpuMicrosPerRequest: { unrestricted: Math.round(cpuUnrestricted), tenant: Math.round(cpuTenant) },
      cpuRatio: Number((cpuUnrestricted / cpuTenant).toFixed(3)),
      errors,
    };
    console.log(
      `${scenario.name}: unrestricted ${unrestricted.toFixed(0)} req/s, tenant ${tenant.toFixed(0)} req/s, ` +
        `tenant/unrestricted ${(tenant / unrestricted).toFixed(3)}; CPU per request ${cpuUnrestricted.toFixed(0)} us ` +
        `against ${cpuTenant.toFixed(0)} us, tenant/unrestricted by CPU ${(cpuUnrestricted / cpuTenant).toFixed(3)} ` +
        `(median of ${ROUNDS} x ${SECONDS} s, ${errors} errors)`,
    );
  }
  await gateway.close();
  console.log(JSON.stringify(results));
} finally {
  upstream.close();
  rmSync(dir, { recursive: true, force: true });
}
