// With upstream.identityHeaders, the upstream trusts X-Forwarded-User / X-Forwarded-Groups (or the
// configured names) to say who is asking. Whatever a client sends in them, in any spelling or
// count, must never arrive: only the identity the gateway established does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import express from 'express';
import request from 'supertest';
import { createGateway, type Gateway } from '../../src/index.ts';
import { basicAuth } from '../helpers/client.ts';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.ts';

const ALICE = basicAuth('alice', 'alice-password');

describe('identity headers cannot be spoofed by the client', () => {
  let upstream: RecordingUpstream;
  const gateways: Gateway[] = [];
  const appWith = (identityHeaders: { user?: string; groups?: string }, groups?: string[]) => {
    const app = express();
    const gateway = createGateway({
      upstream: { url: upstream.url, identityHeaders },
      auth: { users: { alice: bcrypt.hashSync('alice-password', 4) }, unauthenticatedPaths: ['/public'] },
      trustProxy: ['127.0.0.1', '::1'],
      // Basic auth vouches for no groups: a hook plays a method that does.
      middleware: {
        afterAuth: (req, _res, next) => {
          const identity = req.promgate?.identity;
          if (identity && groups) req.promgate!.identity = { ...identity, groups };
          next();
        },
      },
    });
    gateways.push(gateway);
    return app.use('/prometheus', gateway);
  };
  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    for (const gateway of gateways) gateway.close();
    await upstream.close();
  });

  const spoofs: [string, Record<string, string | string[]>][] = [
    ['the default user header', { 'X-Forwarded-User': 'admin' }],
    ['lower case', { 'x-forwarded-user': 'admin' }],
    ['upper case', { 'X-FORWARDED-USER': 'admin' }],
    ['the groups header', { 'X-Forwarded-Groups': 'sre,admins' }],
    ['both, with a comma-joined user', { 'X-Forwarded-User': 'admin, alice', 'X-Forwarded-Groups': 'sre' }],
    ['an empty value', { 'X-Forwarded-User': '' }],
    // supertest sends a list as repeated headers, which Node joins.
    ['repeated headers', { 'X-Forwarded-User': ['admin', 'root'] }],
  ];

  for (const [name, spoof] of spoofs) {
    it(`replaces ${name} with the authenticated user`, async () => {
      const app = appWith({});
      let call = request(app).get('/prometheus/api/v1/query').set('authorization', ALICE);
      for (const [header, value] of Object.entries(spoof)) call = call.set(header, value as string);
      assert.equal((await call).status, 200);
      const seen = upstream.requests.at(-1)!.headers;
      assert.equal(seen['x-forwarded-user'], 'alice');
      assert.equal(seen['x-forwarded-groups'], undefined, 'basic auth vouches for no groups');
    });

    it(`removes ${name} from an anonymous request, even from a trusted proxy`, async () => {
      const app = appWith({});
      let call = request(app).get('/prometheus/public');
      for (const [header, value] of Object.entries(spoof)) call = call.set(header, value as string);
      assert.equal((await call).status, 200);
      const seen = upstream.requests.at(-1)!.headers;
      assert.equal(seen['x-forwarded-user'], undefined);
      assert.equal(seen['x-forwarded-groups'], undefined);
    });
  }

  it('uses the configured names, and removes those from the client', async () => {
    const app = appWith({ user: 'X-WEBAUTH-USER', groups: 'X-WEBAUTH-GROUPS' }, ['sre', 'team-a']);
    const response = await request(app)
      .get('/prometheus/api/v1/query')
      .set('authorization', ALICE)
      .set('x-webauth-user', 'admin')
      .set('x-webauth-groups', 'admins');
    assert.equal(response.status, 200);
    const seen = upstream.requests.at(-1)!.headers;
    assert.equal(seen['x-webauth-user'], 'alice');
    assert.equal(seen['x-webauth-groups'], 'sre,team-a');
  });

  it('cannot be tricked by a group name holding a comma or a line break', async () => {
    const app = appWith({}, ['a,admins', 'b\r\nx-forwarded-user: root', 'équipe']);
    const response = await request(app).get('/prometheus/api/v1/query').set('authorization', ALICE);
    assert.equal(response.status, 200);
    const seen = upstream.requests.at(-1)!.headers;
    assert.equal(seen['x-forwarded-user'], 'alice');
    assert.equal(seen['x-forwarded-groups'], 'a%2Cadmins,b%0D%0Ax-forwarded-user%3A%20root,%C3%A9quipe');
  });

  it('leaves the headers alone when identityHeaders is not configured', async () => {
    const gateway = createGateway({ upstream: upstream.url });
    gateways.push(gateway);
    const app = express().use('/prometheus', gateway);
    await request(app).get('/prometheus/api/v1/query').set('x-forwarded-user', 'someone');
    assert.equal(upstream.requests.at(-1)!.headers['x-forwarded-user'], 'someone');
  });
});
