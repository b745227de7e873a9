import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import { createGateway, HOOKS } from '../../src/index.ts';
import { chainStages } from '../../src/gateway.ts';

const fakeReq = {} as Request;
const fakeRes = {} as Response;

describe('stage chain', () => {
  it('runs stages in order and then hands on', async () => {
    const seen: string[] = [];
    const stage = (name: string) => ({
      name,
      handle: (_req: Request, _res: Response, next: NextFunction) => (seen.push(name), next()),
    });
    const done = await new Promise<unknown>((resolve) =>
      chainStages([stage('a'), stage('b'), stage('c')])(fakeReq, fakeRes, resolve),
    );
    assert.deepEqual(seen, ['a', 'b', 'c']);
    assert.equal(done, undefined);
  });

  it('stops at the stage that answered', async () => {
    const seen: string[] = [];
    const chain = chainStages([
      { name: 'answers', handle: () => void seen.push('answers') },
      { name: 'never', handle: () => void seen.push('never') },
    ]);
    chain(fakeReq, fakeRes, () => seen.push('done'));
    assert.deepEqual(seen, ['answers']);
  });

  it('passes thrown errors and rejected promises to the error handler', async () => {
    const thrown = new Error('thrown');
    const fromThrow = await new Promise((resolve) =>
      chainStages([
        {
          name: 't',
          handle: () => {
            throw thrown;
          },
        },
      ])(fakeReq, fakeRes, resolve),
    );
    assert.equal(fromThrow, thrown);
    const rejected = new Error('rejected');
    const fromReject = await new Promise((resolve) =>
      chainStages([
        {
          name: 'r',
          handle: async () => {
            throw rejected;
          },
        },
      ])(fakeReq, fakeRes, resolve),
    );
    assert.equal(fromReject, rejected);
  });

  it('slots user middleware into the named hooks, in the visible order', () => {
    const noop = (_req: Request, _res: Response, next: NextFunction) => next();
    const gateway = createGateway({ middleware: { beforeProxy: noop, beforeAuth: [noop, noop] } });
    assert.deepEqual(gateway.stages, [
      'metrics',
      'origin-form',
      'security-headers',
      'request-path',
      'client-headers',
      'health',
      'base-path-redirect',
      'beforeAuth[0]',
      'beforeAuth[1]',
      'access-control',
      'tenancy',
      'beforeProxy[0]',
      'proxy',
    ]);
    assert.deepEqual([...HOOKS], ['beforeAuth', 'afterAuth', 'beforeProxy']);
    gateway.close();
  });

  it('validates library options with the config schema', () => {
    assert.throws(() => createGateway({ upstream: 'localhost:9090' }), {
      message: /createGateway options: upstream\.url: must be an http/,
    });
  });
});
