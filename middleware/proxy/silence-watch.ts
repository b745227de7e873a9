// The upstream timeout without a timer per request. undici's headers and body timeouts are "fast
// timers": one object per request that stays in undici's timer list for up to a second after the
// request ended, long enough for V8 to promote it; under small-API load they were half of what
// reached the old generation, and each mark-compact that follows is a p99 spike. Here one
// interval per proxy stage walks the requests in flight, each stamped with the tick of the
// upstream's last sign of life: nothing is allocated per request.

/** A request in flight, as the watch sees it: an intrusive list node with its last stamp. */
export interface Watched {
  watchPrev: Watched | undefined;
  watchNext: Watched | undefined;
  /** The watch's tick at the upstream's last sign of life. */
  lastTick: number;
  /** Waiting for a slow client, not for the upstream: never silent then. */
  held: boolean;
  /** The upstream stayed silent for the whole timeout. */
  expire(): void;
}

/** The longest step between checks; with long timeouts a check per second is precise enough. */
export const MAX_TICK_MS = 1000;

export class SilenceWatch {
  /** Checks per timeout: a request expires between timeoutMs and timeoutMs + tickMs. */
  readonly tickMs: number;
  private readonly ticksPerTimeout: number;
  private tick = 0;
  private first: Watched | undefined;
  private last: Watched | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number) {
    this.tickMs = Math.max(1, Math.min(MAX_TICK_MS, Math.ceil(timeoutMs / 4)));
    this.ticksPerTimeout = Math.ceil(timeoutMs / this.tickMs);
  }

  /** The request went to the upstream: the timeout runs from now. */
  start(entry: Watched): void {
    entry.lastTick = this.tick;
    entry.held = false;
    entry.watchPrev = this.last;
    entry.watchNext = undefined;
    if (this.last) this.last.watchNext = entry;
    else this.first = entry;
    this.last = entry;
    // Only while something is in flight: an idle gateway has no timer running.
    this.timer ??= setInterval(() => this.check(), this.tickMs).unref();
  }

  /** Headers or a body chunk arrived, or the client caught up: the timeout starts over. */
  renew(entry: Watched): void {
    entry.lastTick = this.tick;
  }

  /** The request ended (answered, failed or aborted); unwatched entries are ignored. */
  stop(entry: Watched): void {
    if (entry.watchPrev) entry.watchPrev.watchNext = entry.watchNext;
    else if (this.first === entry) this.first = entry.watchNext;
    else return;
    if (entry.watchNext) entry.watchNext.watchPrev = entry.watchPrev;
    else this.last = entry.watchPrev;
    entry.watchPrev = entry.watchNext = undefined;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    this.tick++;
    if (!this.first) return this.close();
    let entry: Watched | undefined = this.first;
    while (entry) {
      if (!entry.held && this.tick - entry.lastTick > this.ticksPerTimeout) {
        this.stop(entry);
        entry.expire();
        // expire() may have stopped or started other requests: walk again from the start (the
        // ones already seen are not due at this tick). Rare: only when something timed out.
        entry = this.first;
      } else {
        entry = entry.watchNext;
      }
    }
  }
}
