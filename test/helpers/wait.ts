// The one way a test waits for something it cannot get an event for: check, pause, check again.
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForOptions {
  /** Gives up after this long. */
  timeoutMs?: number;
  /** Pause between two checks. */
  intervalMs?: number;
  /** What is awaited, for the timeout error; a function is called only then, to describe the state at that moment. */
  message?: string | (() => string | Promise<string>);
  /** Fails the wait at once when it rejects (a process that exited will never become ready). */
  failOn?: Promise<unknown>;
}

export const WAIT_TIMEOUT_MS = 5000;
export const WAIT_INTERVAL_MS = 50;

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Resolves with the first truthy result of `condition`. A check that throws counts as "not yet"
 * (so assertions can be the condition); on timeout the last such error is part of the failure.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Truthy<T>> {
  const { timeoutMs = WAIT_TIMEOUT_MS, intervalMs = WAIT_INTERVAL_MS, message = 'the condition', failOn } = options;
  let failure: { error: unknown } | undefined;
  const failed = failOn?.then(
    () => new Promise<never>(() => undefined),
    (error: unknown) => {
      failure = { error };
      throw error;
    },
  );
  failed?.catch(() => undefined); // only raced below; a rejection after the wait is not this wait's failure
  const race = <R>(promise: Promise<R>) => (failed ? Promise.race([promise, failed]) : promise);
  const started = performance.now();
  let lastError: unknown;
  for (;;) {
    try {
      const result = await race(Promise.resolve().then(condition));
      if (result) return result as Truthy<T>;
    } catch (error) {
      if (failure && error === failure.error) throw error;
      lastError = error;
    }
    const elapsed = performance.now() - started;
    if (elapsed >= timeoutMs) {
      const what = typeof message === 'string' ? message : await message();
      const last = lastError instanceof Error ? `; last check failed: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`, { cause: lastError });
    }
    await race(delay(Math.min(intervalMs, timeoutMs - elapsed)));
  }
}
