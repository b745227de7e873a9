// While large responses stream, the upstream socket's read buffers (64 KiB each, outside the JS
// heap) are garbage as soon as they are written to the client, but the young generation, where
// their small JS handles live, fills slowly, so V8 rarely scavenges. Instead, its external-memory
// limit starts a full mark-compact about every 64 MiB of body: ~80 per 8 s of one 10 MiB download
// load, each walking the whole heap (~20% of the CPU; bench/README.md). A scavenge every few MiB
// of streamed body frees those buffers for a fraction of that (415 -> ~640 MB/s, peak RSS 190 ->
// 150 MB in the 8-client download bench). Small API answers never get near the threshold.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
/** Streamed body bytes between two young-generation collections. */
export const BYTES_PER_SCAVENGE = 8 << 20;
let collect;
/** V8's gc() without --expose-gc on the command line: only new contexts see the flag. */
function collector() {
    if (collect === undefined) {
        try {
            setFlagsFromString('--expose-gc');
            collect = runInNewContext('gc');
        }
        catch {
            collect = null; // a runtime without it: V8's own heuristics, as before
        }
    }
    return collect;
}
/** Counts streamed body bytes; every BYTES_PER_SCAVENGE, one scavenge. */
export function createScavengeTrigger(bytesPerScavenge = BYTES_PER_SCAVENGE) {
    const gc = collector();
    if (!gc)
        return () => { };
    let streamed = 0;
    return (bytes) => {
        streamed += bytes;
        if (streamed < bytesPerScavenge)
            return;
        streamed = 0;
        gc({ type: 'minor', execution: 'sync' });
    };
}
//# sourceMappingURL=young-gc.js.map