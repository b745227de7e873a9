import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { createAuthenticationStage } from '../../middleware/authentication/index.ts';
import { createBasicAuthenticator } from '../../middleware/basic-auth/index.ts';
import { credentialsOf, type Authenticator, type PromgateRequestState } from '../../src/kernel/request-state.ts';
import { silentLogger } from '../../src/index.ts';
import { basicAuth } from '../helpers/client.ts';

type FakeRequest = IncomingMessage & { url: string; promgate?: PromgateRequestState };

const request = (url: string, authorization?: string): FakeRequest =>
  ({
    url,
    method: 'GET',
    headers: authorization === undefined ? {} : { authorization },
    socket: {},
  }) as unknown as FakeRequest;

function response() {
  const answer = { status: 0, headers: {} as Record<string, unknown>, body: '' };
  const res = {
    writeHead(status: number, headers: Record<string, unknown>) {
      answer.status = status;
      answer.headers = headers;
    },
    end(body?: string) {
      answer.body = body ?? '';
    },
  } as unknown as ServerResponse;
  return { res, answer };
}

/** Runs the stage; resolves 'next' when the request went on, else 'answered' once the response ended. */
function run(
  stage: ReturnType<typeof createAuthenticationStage>,
  req: FakeRequest,
  res: ServerResponse,
): Promise<'next' | 'answered'> {
  return new Promise((resolve, reject) => {
    const end = res.end.bind(res);
    res.end = ((body?: string) => (end(body), resolve('answered'))) as ServerResponse['end'];
    stage.handle(req, res, (error?: unknown) => (error ? reject(error) : resolve('next')));
  });
}

const byHeader = (method: string, prefix: string): Authenticator => ({
  method,
  presents: (req) => req.headers.authorization?.startsWith(prefix) === true,
  authenticate: () => ({ user: `${method}-user`, groups: ['g'], method }),
});

const stageOf = (authenticators: Authenticator[], required: boolean) =>
  createAuthenticationStage({
    authenticators,
    required,
    realm: 'promgate',
    unauthenticatedPaths: [],
    logger: silentLogger,
  });

describe('the authentication seam', () => {
  it('judges a request by the first authenticator whose credentials it presents', async () => {
    const stage = stageOf([byHeader('token', 'Token '), byHeader('other', 'To')], true);
    const first = request('/x', 'Token abc');
    assert.equal(await run(stage, first, response().res), 'next');
    assert.deepEqual(first.promgate?.identity, { user: 'token-user', groups: ['g'], method: 'token' });
    assert.equal(first.promgate?.user, 'token-user');
    const second = request('/x', 'Tobias');
    assert.equal(await run(stage, second, response().res), 'next');
    assert.equal(second.promgate?.identity?.method, 'other');
  });

  it('lets a request presenting nothing go on anonymous, unless the route requires a login', async () => {
    const anonymous = request('/x');
    assert.equal(await run(stageOf([byHeader('token', 'Token ')], false), anonymous, response().res), 'next');
    assert.equal(anonymous.promgate?.identity, undefined);
    const { res, answer } = response();
    assert.equal(await run(stageOf([byHeader('token', 'Token ')], true), request('/api/v1/query'), res), 'answered');
    assert.equal(answer.status, 401);
    assert.equal(answer.headers['www-authenticate'], 'Basic realm="promgate", charset="UTF-8"');
    assert.deepEqual(JSON.parse(answer.body), {
      status: 'error',
      errorType: 'unauthorized',
      error: 'authentication required',
    });
  });

  it("takes a Bearer header for no basic credentials (the route's 401, counted as missing credentials), then judges Basic ones", async () => {
    const basic = createBasicAuthenticator({
      staticUsers: new Map([['alice', { scheme: 'bcrypt', hash: await bcrypt.hash('a', 4) }]]),
      allowPlaintext: false,
      cacheSize: 10,
      cacheTtlMs: 60_000,
      logger: silentLogger,
    });
    const failures: string[] = [];
    const stage = createAuthenticationStage({
      authenticators: [basic],
      required: true,
      realm: 'promgate',
      unauthenticatedPaths: [],
      logger: silentLogger,
      onFailure: (reason) => failures.push(reason),
    });
    const bearer = request('/x', 'Bearer eyJhbGciOi');
    assert.equal(basic.presents(bearer), false);
    const { res, answer } = response();
    assert.equal(await run(stage, bearer, res), 'answered');
    assert.equal(answer.status, 401);
    assert.equal(answer.body, '401 Unauthorized\n');
    const wrong = response();
    assert.equal(await run(stage, request('/x', basicAuth('alice', 'b')), wrong.res), 'answered');
    const right = request('/x', basicAuth('alice', 'a'));
    assert.equal(await run(stage, right, response().res), 'next');
    assert.deepEqual(right.promgate?.identity, { user: 'alice', groups: [], method: 'basic' });
    assert.deepEqual(failures, ['missing_credentials', 'wrong_password']);
    basic.close();
  });

  it('parses the Authorization header once per request and never serializes it', () => {
    const req = request('/x', basicAuth('alice', 'secret'));
    const parsed = credentialsOf(req);
    assert.deepEqual(parsed, { scheme: 'basic', user: 'alice', password: 'secret' });
    req.headers.authorization = 'Bearer changed';
    assert.equal(credentialsOf(req), parsed, 'the cached form is what later stages read');
    assert.doesNotMatch(JSON.stringify(req.promgate), /secret/);
    assert.deepEqual(credentialsOf(request('/x', 'Bearer  abc ')), { scheme: 'bearer', token: 'abc' });
    assert.equal(credentialsOf(request('/x')), undefined);
  });
});
