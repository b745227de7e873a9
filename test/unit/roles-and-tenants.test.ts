// biome-ignore-all lint/suspicious/noTemplateCurlyInString: tenant placeholders are written this way in configs
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy } from '../../middleware/access-control/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/kernel/errors.ts';
import type { Identity } from '../../src/kernel/request-state.ts';

const policyOf = (accessControl: Parameters<typeof validateConfig>[0]['accessControl']) =>
  compilePolicy(validateConfig({ accessControl }).accessControl);

const ISSUE_EXAMPLE = {
  users: { alice: 'team-a', bob: 'team-b', carol: 'admin' },
  roles: {
    'team-a': { tenant: { namespace: ['a'] } },
    'team-b': { tenant: { namespace: ['b', 'shared'], env: ['prod'] } },
  },
};

const person = (user: string, groups: string[] = [], claims?: Record<string, unknown>): Identity => ({
  user,
  groups,
  method: 'jwt',
  claims,
});

/** What a GET of the query API may see, for a request with these roles and identity. */
function scopeOf(policy: ReturnType<typeof policyOf>, identity: Identity) {
  const roles = policy.rolesFor(identity.user, [], identity.groups);
  return policy.scopeFor('GET', ['/api/v1/query'], roles, identity);
}

describe('roles from identities', () => {
  it('maps users, groups and client certificates to roles, the union of all that match', () => {
    const policy = policyOf({
      users: { alice: 'admin' },
      groups: { sre: 'admin', readers: 'viewer', 'team-a': 'team-a' },
      clients: { 'grafana.example': 'viewer' },
      roles: { 'team-a': { tenant: { namespace: ['a'] } } },
    });
    assert.deepEqual(policy.rolesFor('bob', [], ['readers', 'team-a', 'unknown']), ['viewer', 'team-a']);
    assert.deepEqual(policy.rolesFor('alice', ['grafana.example'], ['sre']), ['admin', 'viewer']);
    assert.deepEqual(policy.rolesFor('nobody', [], ['unknown']), ['viewer'], 'no match: the default role');
  });

  it('names the key of a group mapped to an unknown role', () => {
    assert.throws(
      () => policyOf({ groups: { sre: 'admn' } }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.key === 'accessControl.groups.sre' &&
        /did you mean "admin"/.test(error.message),
    );
  });
});

describe('tenant scopes', () => {
  const policy = policyOf(ISSUE_EXAMPLE);

  it("gives a tenant role the viewer's reads and restricts what it sees", () => {
    assert.deepEqual(scopeOf(policy, person('alice')), { scope: { namespace: ['a'] } });
    assert.deepEqual(scopeOf(policy, person('bob')), { scope: { namespace: ['b', 'shared'], env: ['prod'] } });
    assert.equal(policy.decide('GET', ['/api/v1/query'], ['team-a']).allowed, true);
    assert.equal(policy.decide('POST', ['/api/v1/admin/tsdb/snapshot'], ['team-a']).allowed, false);
    assert.equal(policy.decide('POST', ['/api/v1/write'], ['team-a']).allowed, false);
  });

  it('leaves a role without a tenant unrestricted', () => {
    assert.deepEqual(scopeOf(policy, person('carol')), {});
    assert.deepEqual(scopeOf(policy, person('someone-else')), {}, 'the default viewer role');
  });

  it('joins the values of several tenant roles that restrict the same labels', () => {
    const joined = policyOf({
      groups: { 'team-a': 'team-a', 'team-c': 'team-c' },
      roles: { 'team-a': { tenant: { namespace: ['a'] } }, 'team-c': { tenant: { namespace: ['c', 'a'] } } },
    });
    assert.deepEqual(scopeOf(joined, person('dana', ['team-a', 'team-c'])), { scope: { namespace: ['a', 'c'] } });
  });

  it('refuses several tenant roles that restrict different labels, rather than widen either', () => {
    const both = policyOf({ ...ISSUE_EXAMPLE, groups: { a: 'team-a', b: 'team-b' } });
    const decided = scopeOf(both, person('eve', ['a', 'b']));
    assert.match(String(decided.refused), /different labels/);
  });

  it('sees everything when a role that sees everything also allows the request', () => {
    const mixed = policyOf({ ...ISSUE_EXAMPLE, groups: { ops: 'admin', a: 'team-a' } });
    assert.deepEqual(scopeOf(mixed, person('frank', ['a', 'ops'])), {});
  });

  it('ignores the tenant of a role that does not allow the request', () => {
    const writer = policyOf({
      groups: { a: 'team-a', writers: 'writer' },
      roles: {
        'team-a': { tenant: { namespace: ['a'] } },
        writer: { allow: [{ methods: ['POST'], paths: ['/api/v1/write'] }] },
      },
    });
    const roles = writer.rolesFor('gina', [], ['a', 'writers']);
    assert.deepEqual(writer.scopeFor('GET', ['/api/v1/query'], roles, person('gina', ['a', 'writers'])), {
      scope: { namespace: ['a'] },
    });
    assert.deepEqual(writer.scopeFor('POST', ['/api/v1/write'], roles, person('gina', ['a', 'writers'])), {});
  });

  it('takes values from the user, the groups and claims', () => {
    const templated = policyOf({
      defaultRole: 'team',
      roles: {
        team: {
          tenant: {
            namespace: ['${user}', 'team-${groups}', '${claims.extra}'],
            env: ['${claims.env}'],
          },
        },
      },
    });
    assert.deepEqual(scopeOf(templated, person('hana', ['x', 'y'], { env: 'prod', extra: ['p', 'q', 3] })), {
      scope: { namespace: ['hana', 'team-x', 'team-y', 'p', 'q'], env: ['prod'] },
    });
  });

  it('refuses a request whose identity gives a label no value', () => {
    const templated = policyOf({ defaultRole: 'team', roles: { team: { tenant: { namespace: ['${claims.team}'] } } } });
    assert.match(String(scopeOf(templated, person('ivy')).refused), /no tenant value/);
    const anonymous = templated.scopeFor('GET', ['/api/v1/query'], ['team'], undefined);
    assert.match(String(anonymous.refused), /no tenant value/);
  });

  it('refuses bad tenant settings with the key that holds them', () => {
    const table: [Record<string, string[]>, string, RegExp][] = [
      [{ 'name-space': ['a'] }, 'accessControl.roles.t.tenant.name-space', /label name/],
      [{ namespace: [] }, 'accessControl.roles.t.tenant.namespace', /at least one value/],
      [{ namespace: ['${usr}'] }, 'accessControl.roles.t.tenant.namespace.0', /\$\{user\}/],
      [{}, 'accessControl.roles.t.tenant', /at least one label/],
    ];
    for (const [tenant, key, message] of table) {
      assert.throws(
        () => validateConfig({ accessControl: { roles: { t: { tenant } } } }),
        (error: unknown) => error instanceof ConfigError && error.message.includes(key) && message.test(error.message),
        JSON.stringify(tenant),
      );
    }
  });
});
