// While large responses stream, the upstream socket's read buffers (outside the JS heap) are
// garbage as soon as they are written to the client, but the young generation, where their small
// JS handles live, fills slowly, so V8 rarely scavenges and its external-memory limit starts full
// mark-compacts instead. A scavenge every few MiB of streamed body frees those buffers for less.
// Only where the operator started Node with --expose-gc: a library must not change the runtime
// flags of the process it runs in (docs/decisions.md).

/** Streamed body bytes between two young-generation collections. */
export const BYTES_PER_SCAVENGE = 8 << 20;

type CollectGarbage = (options: { type: 'minor'; execution: 'sync' }) => void;

/** V8's gc(), when the process was started with --expose-gc; else undefined. */
function exposedCollector(): CollectGarbage | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as CollectGarbage) : undefined;
}

/** Counts streamed body bytes; every `bytesPerScavenge`, one scavenge (none without a collector). */
export function createScavengeTrigger(
  bytesPerScavenge = BYTES_PER_SCAVENGE,
  gc: CollectGarbage | undefined = exposedCollector(),
): (bytes: number) => void {
  if (!gc) return () => {};
  let streamed = 0;
  return (bytes) => {
    streamed += bytes;
    if (streamed < bytesPerScavenge) return;
    streamed = 0;
    gc({ type: 'minor', execution: 'sync' });
  };
}
