// Found in review: the viewer role could read Prometheus's /debug/pprof/* (heap dumps, the command
// line, CPU profiles for as long as asked). Prometheus, Alertmanager and the Pushgateway all serve
// them, so every preset keeps them, with the lifecycle and admin endpoints, for the admin role, for
// every method (POST reaches /debug/pprof/symbol; behind a plain Go ServeMux any method reaches
// pprof). Each preset is a route of one gateway; bob has the default role (viewer), alice is admin.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Preset } from '../../middleware/access-control/index.ts';
import { basicAuth } from '../helpers/client.ts';
import { useGatewayWithUpstream } from '../helpers/gateway.ts';
import { writeHtpasswd } from '../helpers/htpasswd.ts';

const ROLES = {
  viewer: { authorization: basicAuth('bob', 'bob-pw') },
  admin: { authorization: basicAuth('alice', 'alice-pw') },
};

/** Go's net/http/pprof and expvar, as each of the Go components serves them, and other spellings that reach them. */
const GO_DEBUG: Array<[string, string]> = [
  ['GET', '/debug/pprof/'],
  ['GET', '/debug/pprof'],
  ['GET', '/debug/pprof/heap'],
  ['GET', '/debug/pprof/heap?debug=1'],
  ['GET', '/debug/pprof/goroutine?debug=2'],
  ['GET', '/debug/pprof/profile?seconds=30'],
  ['GET', '/debug/pprof/trace?seconds=5'],
  ['GET', '/debug/pprof/cmdline'],
  ['POST', '/debug/pprof/symbol'],
  ['HEAD', '/debug/pprof/allocs'],
  ['OPTIONS', '/debug/pprof/heap'],
  ['GET', '/debug/vars'],
  // Go decodes the path before routing.
  ['GET', '/debug/%70prof/heap'],
  ['GET', '/debug/pprof%2Fheap'],
];

const PRESETS: Record<Preset, { admin: Array<[string, string]>; reads: Array<[string, string]> }> = {
  prometheus: {
    admin: [
      ...GO_DEBUG,
      ['POST', '/api/v1/admin/tsdb/snapshot'],
      ['GET', '/api/v1/admin/tsdb/snapshot'],
      ['PUT', '/api/v1/admin/tsdb/delete_series'],
      ['POST', '/-/reload'],
      ['PUT', '/-/reload'],
      ['POST', '/-/quit'],
    ],
    // Read APIs, however much they tell: they stay the viewer's.
    reads: [
      ['GET', '/api/v1/status/config'],
      ['GET', '/api/v1/status/flags'],
      ['GET', '/api/v1/status/runtimeinfo'],
      ['GET', '/api/v1/query?query=up'],
    ],
  },
  alertmanager: {
    admin: [...GO_DEBUG, ['POST', '/-/reload'], ['POST', '/-/quit']],
    reads: [
      ['GET', '/api/v2/status'],
      ['GET', '/api/v2/alerts'],
    ],
  },
  pushgateway: {
    admin: [...GO_DEBUG, ['PUT', '/api/v1/admin/wipe'], ['POST', '/-/reload'], ['PUT', '/-/quit']],
    reads: [
      ['GET', '/api/v1/status'],
      ['GET', '/metrics'],
    ],
  },
  // An upstream of any kind: only the Go handlers' own paths, the rest of /debug/ may be its pages.
  generic: {
    admin: GO_DEBUG,
    reads: [
      ['GET', '/debug/'],
      ['GET', '/debug/requests'],
      ['GET', '/metrics'],
    ],
  },
};

describe('profiling and other admin endpoints are not for viewers', () => {
  const htpasswdFile = writeHtpasswd([
    { user: 'alice', password: 'alice-pw', flag: '-B' },
    { user: 'bob', password: 'bob-pw', flag: '-B' },
  ]);
  // One upstream behind all four routes: each route forwards to it without its base path.
  const setup = useGatewayWithUpstream((upstream) => ({
    auth: { htpasswdFile },
    accessControl: { users: { alice: 'admin' } },
    routes: Object.keys(PRESETS).map((preset) => ({
      basePath: `/${preset}`,
      preset: preset as Preset,
      upstream: { url: upstream.url },
    })),
  }));

  async function send(role: keyof typeof ROLES, preset: string, method: string, path: string) {
    const before = setup.upstream.requests.length;
    const response = await setup.gateway.request(`/${preset}${path}`, { method, headers: ROLES[role] });
    const forwarded = setup.upstream.requests.slice(before).map((request) => `${request.method} ${request.url}`);
    return { status: response.status, text: response.text, forwarded };
  }

  for (const [preset, { admin, reads }] of Object.entries(PRESETS)) {
    describe(`preset ${preset}`, () => {
      for (const [method, path] of admin) {
        it(`refuses ${method} ${path} to a viewer, before the upstream, and lets an admin through`, async () => {
          const viewer = await send('viewer', preset, method, path);
          assert.equal(viewer.status, 403, viewer.text);
          assert.deepEqual(viewer.forwarded, [], 'nothing reached the upstream');
          const admin = await send('admin', preset, method, path);
          assert.equal(admin.status, 200, admin.text);
          assert.deepEqual(admin.forwarded, [`${method} ${path}`]);
        });
      }
      for (const [method, path] of reads) {
        it(`still lets a viewer ${method} ${path}`, async () => {
          const viewer = await send('viewer', preset, method, path);
          assert.equal(viewer.status, 200, viewer.text);
          assert.deepEqual(viewer.forwarded, [`${method} ${path}`]);
        });
      }
    });
  }
});
