import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/kernel/logger.ts';
import { type ListenerTls, reloadListenerTls } from '../../src/tls/listener-tls.ts';
import { waitFor } from '../helpers/wait.ts';

describe('TLS reload', () => {
  it('applies nothing and watches nothing when closed while a reload is loading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promgate-tls-reload-'));
    const [watched, other] = [join(dir, 'tls.crt'), join(dir, 'other.crt')];
    writeFileSync(watched, 'one');
    writeFileSync(other, 'one');
    const state = (files: string[]) =>
      ({ files, context: {}, clientAuth: undefined, webConfig: undefined }) as unknown as ListenerTls;
    let finishLoad!: (next: ListenerTls) => void;
    let loads = 0;
    const applied: string[] = [];
    const server = { setSecureContext: () => applied.push('context') } as unknown as Server;
    const holder = reloadListenerTls(
      server,
      state([watched]),
      () => (loads++, new Promise<ListenerTls>((resolve) => (finishLoad = resolve))),
      silentLogger,
      { intervalMs: 10, prepare: () => () => applied.push('users and headers') },
    );
    writeFileSync(watched, 'two, longer');
    await waitFor(() => loads === 1, { message: 'the change started a load' });
    holder.close();
    finishLoad(state([other])); // a web config that names another file
    await new Promise((resolve) => setImmediate(resolve));
    writeFileSync(other, 'two, longer');
    writeFileSync(watched, 'three, longer still');
    await new Promise((resolve) => setTimeout(resolve, 100)); // ten check intervals: no watcher may fire
    assert.deepEqual(applied, [], 'nothing applied after close');
    assert.equal(loads, 1, 'no watcher started after close');
  });
});
