import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { createScavengeTrigger } from '../../middleware/proxy/young-gc.ts';

/** Young-generation collections V8 reports while `run` runs (and a moment after). */
async function minorCollectionsDuring(run: () => void): Promise<number> {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if (
        (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ===
        constants.NODE_PERFORMANCE_GC_MINOR
      )
        count++;
  });
  observer.observe({ entryTypes: ['gc'] });
  run();
  await new Promise((resolve) => setTimeout(resolve, 50)); // kept: V8 reports collections later, and "none" has no entry to wait for
  observer.disconnect();
  return count;
}

describe('scavenges while large bodies stream', () => {
  it('runs one young-generation collection per threshold of streamed bytes', async () => {
    const streamed = createScavengeTrigger(1 << 20);
    const collections = await minorCollectionsDuring(() => {
      for (let index = 0; index < 16; index++) streamed(256 << 10); // 4 MiB in 256 KiB chunks
    });
    assert.ok(collections >= 4, `expected at least 4 scavenges for 4 MiB, saw ${collections}`);
  });

  it('leaves small bodies to V8', async () => {
    const streamed = createScavengeTrigger(1 << 20);
    const collections = await minorCollectionsDuring(() => {
      for (let index = 0; index < 100; index++) streamed(512); // 50 KiB
    });
    assert.equal(collections, 0);
  });
});
