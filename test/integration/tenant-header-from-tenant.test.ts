import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { useTenantGateway, UNRESTRICTED } from '../helpers/tenant-gateway.ts';

const TENANT_HEADER = fileURLToPath(new URL('../../plugins/tenant-header.ts', import.meta.url));

describe('tenant-header plugin with fromTenant', () => {
  const env = useTenantGateway(
    { namespace: ['team-a', 'shared'], env: ['prod'] },
    {
      plugins: [
        { module: TENANT_HEADER, stage: 'beforeProxy', options: { fromTenant: 'namespace', default: 'anonymous' } },
      ],
    },
  );

  it("sets X-Scope-OrgID from the scope's values, joined as Mimir federates tenants", async () => {
    const response = await env.gateway.request('/prometheus/api/v1/query?query=up', {
      headers: { 'x-scope-orgid': 'someone-else' },
    });
    assert.equal(response.status, 200, response.text);
    assert.equal(env.upstream.requests.at(-1)?.headers['x-scope-orgid'], 'team-a|shared');
  });

  it('falls back to the mappings for a request without a tenant', async () => {
    await env.gateway.request('/prometheus/api/v1/query?query=up', {
      headers: { ...UNRESTRICTED, 'x-scope-orgid': 'someone-else' },
    });
    assert.equal(env.upstream.requests.at(-1)?.headers['x-scope-orgid'], 'anonymous');
  });
});
