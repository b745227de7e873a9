// While large responses stream, the upstream socket's read buffers (outside the JS heap) are
// garbage as soon as they are written to the client, but the young generation, where their small
// JS handles live, fills slowly, so V8 rarely scavenges and its external-memory limit starts full
// mark-compacts instead. A scavenge every few MiB of streamed body frees those buffers for less.
// Only the standalone server hands a collector in, and only when the operator exposed one: a
// library must neither change the runtime flags nor collect garbage in someone else's process.

/** Streamed body bytes between two young-generation collections. */
export const BYTES_PER_SCAVENGE = 8 << 20;

export type CollectGarbage = (options: { type: 'minor'; execution: 'sync' }) => void;

/** V8's gc(), when Node was started with the option that exposes it; else undefined. */
export function exposedCollector(): CollectGarbage | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as CollectGarbage) : undefined;
}

/** Node was started with a capped young generation (`--max-semi-space-size`), in its arguments or NODE_OPTIONS. */
export function youngGenerationCapped(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(arg));
}

/** Counts streamed body bytes; every `bytesPerScavenge`, one scavenge (none without a collector). */
export function createScavengeTrigger(
  bytesPerScavenge = BYTES_PER_SCAVENGE,
  gc: CollectGarbage | undefined,
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
