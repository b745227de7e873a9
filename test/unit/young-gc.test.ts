import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { createScavengeTrigger, exposedCollector, youngGenerationCapped } from '../../middleware/proxy/young-gc.ts';

describe('scavenges while large bodies stream', () => {
  const counting = () => {
    const calls: unknown[] = [];
    return { calls, gc: (options: { type: 'minor'; execution: 'sync' }) => void calls.push(options) };
  };

  it('runs one young-generation collection per threshold of streamed bytes', () => {
    const { calls, gc } = counting();
    const streamed = createScavengeTrigger(1 << 20, gc);
    for (let index = 0; index < 16; index++) streamed(256 << 10); // 4 MiB in 256 KiB chunks
    assert.deepEqual(calls, Array(4).fill({ type: 'minor', execution: 'sync' }));
  });

  it('leaves small bodies to V8', () => {
    const { calls, gc } = counting();
    const streamed = createScavengeTrigger(1 << 20, gc);
    for (let index = 0; index < 100; index++) streamed(512); // 50 KiB
    assert.equal(calls.length, 0);
  });

  it("never changes the process's V8 flags: without a collector it does nothing", () => {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'this test runs without --expose-gc');
    const streamed = createScavengeTrigger(1, exposedCollector());
    streamed(1 << 20);
    // setFlagsFromString('--expose-gc') would show in every new context.
    assert.equal(runInNewContext('typeof gc'), 'undefined');
  });

  it('scavenges for real with the collector of a process started with --expose-gc, and never without it', () => {
    const module = fileURLToPath(new URL('../../middleware/proxy/young-gc.ts', import.meta.url));
    const script = `
      import { constants, PerformanceObserver } from 'node:perf_hooks';
      import { setTimeout as sleep } from 'node:timers/promises';
      import { createScavengeTrigger, exposedCollector } from ${JSON.stringify(module)};
      let minor = 0;
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
      });
      observer.observe({ entryTypes: ['gc'] });
      const counts = [];
      for (const collector of [undefined, exposedCollector()]) {
        minor = 0;
        const streamed = createScavengeTrigger(1 << 20, collector);
        for (let index = 0; index < 16; index++) streamed(256 << 10);
        await sleep(100); // V8 reports collections a little later
        counts.push(minor);
      }
      process.stdout.write(counts.join(' '));
    `;
    const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '--eval', script], {
      encoding: 'utf8',
    });
    assert.equal(child.stderr, '');
    const [without, withCollector] = child.stdout.split(' ').map(Number);
    assert.equal(without, 0, 'a library host that exposed gc for itself is left alone');
    assert.ok(withCollector! >= 4, `expected at least 4 scavenges for 4 MiB, saw ${withCollector}`);
  });
});

describe('a capped young generation is noticed wherever Node took the option', () => {
  const cases: [string, string[], string, boolean][] = [
    ['in the arguments', ['--max-semi-space-size=4'], '', true],
    ['with underscores, as V8 also reads it', ['--max_semi_space_size=4'], '', true],
    ['with its value apart', ['--max-semi-space-size', '4'], '', true],
    ['in NODE_OPTIONS', [], '--enable-source-maps --max-semi-space-size=4', true],
    ['not at all', ['--expose-gc', '--max-old-space-size=256'], '--enable-source-maps', false],
    ['only a longer option that starts alike', ['--max-semi-space-size-x=4'], '', false],
  ];
  for (const [name, execArgv, nodeOptions, capped] of cases) {
    it(name, () => assert.equal(youngGenerationCapped(execArgv, nodeOptions), capped));
  }
});
