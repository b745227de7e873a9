import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy, pathReadings } from '../../middleware/access-control/index.ts';
import { compilePattern } from '../../middleware/access-control/policy.ts';
import { validateConfig } from '../../src/config/load.ts';

const policyOf = (accessControl: Parameters<typeof validateConfig>[0]['accessControl'] = {}) =>
  compilePolicy(validateConfig({ accessControl }).accessControl);

/** What the default policy (role viewer) decides for a raw request path. */
function viewerDecides(method: string, rawPath: string): boolean | 'unreadable' {
  const readings = pathReadings(rawPath);
  if (!readings) return 'unreadable';
  const policy = policyOf();
  return policy.decide(method, readings, policy.rolesFor(undefined, [])).allowed;
}

describe('path readings', () => {
  it('leaves a plain lowercase path as the one reading', () => {
    assert.deepEqual(pathReadings('/api/v1/query'), ['/api/v1/query']);
  });

  it('normalizes case, dot segments, empty segments, ;params and the trailing slash', () => {
    for (const [raw, expected] of [
      ['/API/V1/Admin/TSDB/delete_series', '/api/v1/admin/tsdb/delete_series'],
      ['/api/v1/./admin/tsdb/../tsdb/snapshot/', '/api/v1/admin/tsdb/snapshot'],
      ['//api///v1//admin//tsdb/snapshot', '/api/v1/admin/tsdb/snapshot'],
      ['/api;x=1/v1/admin;jsessionid=2/tsdb/snapshot', '/api/v1/admin/tsdb/snapshot'],
      ['/../../api/v1/write', '/api/v1/write'],
      ['/', '/'],
    ] as const) {
      assert.ok(pathReadings(raw)?.includes(expected), `${raw} -> ${JSON.stringify(pathReadings(raw))}`);
    }
  });

  it('decodes percent-encoding once (as Go does) and fully (as double-decoding servers do)', () => {
    assert.ok(pathReadings('/api/v1/%61dmin/tsdb/snapshot')?.includes('/api/v1/admin/tsdb/snapshot'));
    assert.ok(pathReadings('/api/v1/admin%2Ftsdb%2Fsnapshot')?.includes('/api/v1/admin/tsdb/snapshot'));
    assert.ok(pathReadings('/api/v1/admin%252Ftsdb%252Fsnapshot')?.includes('/api/v1/admin/tsdb/snapshot'));
    assert.ok(pathReadings('/api/v1/%2e%2e/v1/write')?.includes('/api/v1/write'));
  });

  it('also reads a backslash as a slash and a # as the end of the path', () => {
    assert.ok(pathReadings('/api/v1/admin\\tsdb\\snapshot')?.includes('/api/v1/admin/tsdb/snapshot'));
    assert.ok(pathReadings('/-/quit#fragment')?.includes('/-/quit'));
  });

  it('refuses what cannot be read: bad percent-encoding and NUL', () => {
    assert.equal(pathReadings('/api/v1/%zzadmin'), undefined);
    assert.equal(pathReadings('/api/v1/admin%00/tsdb'), undefined);
  });
});

describe('default policy (viewer): read-only', () => {
  const denied: Array<[string, string]> = [
    ['POST', '/api/v1/admin/tsdb/delete_series'],
    ['PUT', '/api/v1/admin/tsdb/snapshot'],
    ['POST', '/api/v1/admin/tsdb/clean_tombstones'],
    ['GET', '/api/v1/admin/tsdb/snapshot'],
    ['POST', '/-/quit'],
    ['PUT', '/-/reload'],
    ['GET', '/-/reload'],
    ['POST', '/api/v1/write'],
    ['POST', '/api/v1/otlp/v1/metrics'],
    // The tricks: each is the admin API or a write to some upstream.
    ['POST', '/api/v1/%61dmin/tsdb/delete_series'],
    ['POST', '/api/v1/admin%2Ftsdb%2Fdelete_series'],
    ['POST', '/api/v1/admin%252Ftsdb/delete_series'],
    ['POST', '/api/v1/query/../admin/tsdb/delete_series'],
    ['POST', '/api/v1/query/%2e%2e/admin/tsdb/delete_series'],
    ['POST', '/api/v1/./admin/tsdb/snapshot'],
    ['POST', '//api//v1//admin/tsdb/snapshot'],
    ['POST', '/API/V1/ADMIN/TSDB/SNAPSHOT'],
    ['POST', '/api/v1/admin/tsdb/snapshot/'],
    ['POST', '/api/v1/admin;x/tsdb/snapshot'],
    ['POST', '/api/v1/write;'],
    ['POST', '/api/v1/admin\\tsdb\\snapshot'],
    ['POST', '/-/quit/'],
    ['POST', '/-/%71uit'],
    ['POST', '/-/quit#x'],
    ['POST', '/api/v1/write%23x'],
    ['DELETE', '/api/v1/series'],
    ['POST', '/api/v1/targets'],
    ['PATCH', '/graph'],
  ];
  for (const [method, path] of denied) {
    it(`refuses ${method} ${path}`, () => assert.equal(viewerDecides(method, path), false));
  }

  const allowed: Array<[string, string]> = [
    ['GET', '/api/v1/query'],
    ['POST', '/api/v1/query'],
    ['POST', '/api/v1/query_range'],
    ['POST', '/api/v1/series'],
    ['POST', '/api/v1/read'],
    ['GET', '/api/v1/label/job/values'],
    ['GET', '/graph'],
    ['GET', '/'],
    ['HEAD', '/-/healthy'],
    ['GET', '/static/js/main.js'],
    ['GET', '/api/v1/label/%2Fodd/values'],
    ['OPTIONS', '/api/v1/query'],
  ];
  for (const [method, path] of allowed) {
    it(`allows ${method} ${path}`, () => assert.equal(viewerDecides(method, path), true));
  }

  it('names the rule that decided', () => {
    const policy = policyOf();
    assert.deepEqual(policy.decide('POST', pathReadings('/api/v1/admin%2Ftsdb/snapshot')!, ['viewer']), {
      allowed: false,
      rule: 'viewer.deny.admin-api',
    });
    assert.deepEqual(policy.decide('POST', ['/api/v1/targets'], ['viewer']), { allowed: false, rule: 'viewer.none' });
    assert.deepEqual(policy.decide('GET', ['/graph'], ['viewer']), { allowed: true, rule: 'viewer.allow.read' });
  });
});

describe('roles', () => {
  it('maps users and verified client certificate names to roles, else the default role', () => {
    const policy = policyOf({ users: { alice: 'admin' }, clients: { 'grafana.example': 'viewer', ops: 'admin' } });
    assert.deepEqual(policy.rolesFor('alice', []), ['admin']);
    assert.deepEqual(policy.rolesFor('bob', []), ['viewer']);
    assert.deepEqual(policy.rolesFor(undefined, ['grafana.example']), ['viewer']);
    assert.deepEqual(policy.rolesFor('bob', ['ops']), ['admin']);
    assert.equal(policy.decide('POST', ['/api/v1/admin/tsdb/snapshot'], policy.rolesFor('alice', [])).allowed, true);
    assert.equal(policy.decide('POST', ['/api/v1/admin/tsdb/snapshot'], policy.rolesFor('bob', [])).allowed, false);
  });

  it('takes custom roles with allow and deny rules; deny wins, GET covers HEAD', () => {
    const policy = policyOf({
      defaultRole: 'nobody',
      roles: {
        nobody: { allow: [] },
        snapshotter: {
          allow: [
            { name: 'snapshot', methods: ['POST', 'PUT'], paths: ['/api/v1/admin/tsdb/snapshot'] },
            { methods: ['GET'], paths: ['/api/v1/*/values', '/api/v1/label/**'] },
          ],
          deny: [{ name: 'no-job', paths: ['/api/v1/label/job/**'] }],
        },
      },
      users: { backup: 'snapshotter' },
    });
    const decide = (user: string | undefined, method: string, path: string) =>
      policy.decide(method, pathReadings(path)!, policy.rolesFor(user, []));
    assert.deepEqual(decide('backup', 'POST', '/api/v1/admin/tsdb/snapshot'), {
      allowed: true,
      rule: 'snapshotter.allow.snapshot',
    });
    assert.equal(decide('backup', 'POST', '/api/v1/admin/tsdb/delete_series').allowed, false);
    assert.equal(decide('backup', 'HEAD', '/api/v1/label/instance/values').allowed, true);
    assert.deepEqual(decide('backup', 'GET', '/api/v1/label/job/values'), {
      allowed: false,
      rule: 'snapshotter.deny.no-job',
    });
    assert.deepEqual(decide(undefined, 'GET', '/graph'), { allowed: false, rule: 'nobody.none' });
  });

  it('matches * as one segment and a final /** as any rest, including none', () => {
    assert.equal(compilePattern('/api/*/query')('/api/v1/query'), true);
    assert.equal(compilePattern('/api/*/query')('/api/v1/x/query'), false);
    assert.equal(compilePattern('/api/v1/admin/**')('/api/v1/admin'), true);
    assert.equal(compilePattern('/api/v1/admin/**')('/api/v1/admin/tsdb/snapshot'), true);
    assert.equal(compilePattern('/api/v1/admin/**')('/api/v1/administrator'), false);
    assert.equal(compilePattern('/')('/'), true);
    assert.equal(compilePattern('/')('/graph'), false);
  });

  it('matches every pattern segment by segment: literal dots, pluses and stars inside a segment stay literal', () => {
    // The definition, one segment at a time; the compiled expressions must agree on every pair.
    const bySegments = (pattern: string, path: string) => {
      if (pattern === '/**') return true;
      const rest = pattern.endsWith('/**');
      const base = rest ? pattern.slice(0, -3) : pattern;
      const fixed = base === '' || base === '/' ? [] : base.split('/').slice(1);
      const segments = path === '/' ? [] : path.split('/').slice(1);
      if (rest ? segments.length < fixed.length : segments.length !== fixed.length) return false;
      return fixed.every((part, index) => part === '*' || part === segments[index]);
    };
    const patterns = [
      '/',
      '/**',
      '/api/*/query',
      '/api/v1/admin/**',
      '/a.b/*',
      '/a+b/**',
      '/x*y',
      '/*',
      '/*/**',
      '/federate',
      '/api/v1/label/*/values',
    ];
    const paths = [
      '/',
      '/a',
      '/a.b/c',
      '/axb/c',
      '/a+b',
      '/a+b/c/d',
      '/aab/c',
      '/x*y',
      '/xzy',
      '/api/v1/query',
      '/api//query',
      '/api/v1/x/query',
      '/api/v1/admin',
      '/api/v1/administrator',
      '/api/v1/admin/tsdb/snapshot',
      '/federate',
      '/federate/x',
      '/api/v1/label/job/values',
      '/api/v1/label/job/values/x',
      '/a\nb',
    ];
    for (const pattern of patterns) {
      const matches = compilePattern(pattern);
      for (const path of paths) assert.equal(matches(path), bySegments(pattern, path), `${pattern} on ${path}`);
    }
  });

  it('refuses an unknown role at startup, naming the key', () => {
    assert.throws(() => policyOf({ users: { alice: 'amdin' } }), {
      message: /accessControl\.users\.alice: unknown role "amdin" \(did you mean "admin"\?\)$/,
    });
    assert.throws(() => policyOf({ users: { alice: 'operator' } }), {
      message: /accessControl\.users\.alice: unknown role "operator" \(roles: viewer, admin\)$/,
    });
    assert.throws(() => policyOf({ defaultRole: 'guest' }), {
      message: /accessControl\.defaultRole: unknown role "guest"/,
    });
    assert.throws(() => policyOf({ clients: { ops: 'root' } }), {
      message: /accessControl\.clients\.ops: unknown role "root"/,
    });
  });

  it('refuses patterns that cannot match, naming the key', () => {
    for (const pattern of [
      '/API/v1/query',
      '/api/v1/query/',
      '/api//v1',
      '/api/../admin',
      '/api/v1/%61dmin',
      'api/v1',
      '/api/**/x',
      '/api/v1?x',
      '/api;x',
    ]) {
      assert.throws(
        () => validateConfig({ accessControl: { roles: { ops: { allow: [{ paths: [pattern] }] } } } }),
        { message: /accessControl\.roles\.ops\.allow\.0\.paths\.0: cannot match/ },
        pattern,
      );
    }
    assert.throws(
      () =>
        validateConfig({
          accessControl: { roles: { ops: { allow: [{ methods: ['FETCH' as 'GET'], paths: ['/x'] }] } } },
        }),
      /methods/,
    );
  });
});
