// Tokens whose signature and claims were checked, by the SHA-256 of the token, so a client that
// repeats its token (every Grafana query does) costs a hash and a lookup, not a signature check.
import type { Identity } from '../../src/kernel/request-state.ts';

export interface VerifiedToken {
  identity: Identity;
  /** Epoch milliseconds after which the token must be checked again: its exp, or the cache's limit. */
  until: number;
}

/** Bounded and least-recently-used first out; an entry past its `until` is never returned. */
export class VerifiedTokens {
  readonly #entries = new Map<string, VerifiedToken>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(key: string, now: number): VerifiedToken | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.until <= now) return undefined;
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: VerifiedToken): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
  }

  get size(): number {
    return this.#entries.size;
  }
}
