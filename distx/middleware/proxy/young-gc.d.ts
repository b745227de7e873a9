/** Streamed body bytes between two young-generation collections. */
export declare const BYTES_PER_SCAVENGE: number;
/** Counts streamed body bytes; every BYTES_PER_SCAVENGE, one scavenge. */
export declare function createScavengeTrigger(bytesPerScavenge?: number): (bytes: number) => void;
