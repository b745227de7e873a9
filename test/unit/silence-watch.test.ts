import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { MAX_TICK_MS, SilenceWatch, type Watched } from '../../middleware/proxy/silence-watch.ts';

interface Entry extends Watched {
  expired: number;
}

function entry(onExpire?: () => void): Entry {
  const made: Entry = {
    watchPrev: undefined,
    watchNext: undefined,
    lastTick: 0,
    held: false,
    expired: 0,
    expire() {
      made.expired++;
      onExpire?.();
    },
  };
  return made;
}

describe('SilenceWatch: the upstream timeout without a timer per request', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
  afterEach(() => mock.timers.reset());

  it('expires a request after the timeout, at most one check later, and not before', () => {
    const watch = new SilenceWatch(1000);
    assert.equal(watch.tickMs, 250);
    const silent = entry();
    watch.start(silent);
    mock.timers.tick(1000);
    assert.equal(silent.expired, 0, 'not before the timeout');
    mock.timers.tick(watch.tickMs);
    assert.equal(silent.expired, 1);
    mock.timers.tick(5000);
    assert.equal(silent.expired, 1, 'once');
  });

  it('starts the timeout over on each sign of life', () => {
    const watch = new SilenceWatch(1000);
    const streaming = entry();
    watch.start(streaming);
    for (let elapsed = 0; elapsed < 5000; elapsed += 500) {
      mock.timers.tick(500);
      watch.renew(streaming);
    }
    assert.equal(streaming.expired, 0);
    mock.timers.tick(1250);
    assert.equal(streaming.expired, 1);
  });

  it('never expires a request held for a slow client, and times it again once released', () => {
    const watch = new SilenceWatch(1000);
    const held = entry();
    watch.start(held);
    held.held = true;
    mock.timers.tick(10_000);
    assert.equal(held.expired, 0);
    held.held = false;
    watch.renew(held);
    mock.timers.tick(1000);
    assert.equal(held.expired, 0);
    mock.timers.tick(250);
    assert.equal(held.expired, 1);
  });

  it('forgets stopped requests wherever they are in the list, and the others still expire', () => {
    const watch = new SilenceWatch(1000);
    const entries = Array.from({ length: 5 }, () => entry());
    for (const each of entries) watch.start(each);
    const [first, second, middle, fourth, last] = entries as [Entry, Entry, Entry, Entry, Entry];
    watch.stop(middle);
    watch.stop(first);
    watch.stop(last);
    watch.stop(last); // twice: ignored
    watch.stop(entry()); // never started: ignored
    mock.timers.tick(1250);
    assert.deepEqual(
      entries.map((each) => each.expired),
      [0, 1, 0, 1, 0],
    );
    assert.ok(second.expired && fourth.expired);
  });

  it('lets an expiring request stop itself and others during the check', () => {
    const watch = new SilenceWatch(1000);
    const later = entry();
    const first: Entry = entry(() => {
      watch.stop(first); // the handler's abort ends in onResponseError, which stops it again
      watch.stop(later);
    });
    watch.start(first);
    watch.start(later);
    mock.timers.tick(1250);
    assert.equal(first.expired, 1);
    assert.equal(later.expired, 0, 'stopped by the first one before its turn');
    const next = entry();
    watch.start(next); // the list is still sound
    mock.timers.tick(1250);
    assert.equal(next.expired, 1);
  });

  it('checks at most once a second for long timeouts, and keeps timing after an idle spell', () => {
    const watch = new SilenceWatch(150_000);
    assert.equal(watch.tickMs, MAX_TICK_MS);
    const one = entry();
    watch.start(one);
    watch.stop(one);
    mock.timers.tick(5000); // nothing in flight: the interval stops
    const two = entry();
    watch.start(two);
    mock.timers.tick(150_000);
    assert.equal(two.expired, 0);
    mock.timers.tick(MAX_TICK_MS);
    assert.equal(two.expired, 1);
  });

  it('stops checking when closed', () => {
    const watch = new SilenceWatch(100);
    const silent = entry();
    watch.start(silent);
    watch.close();
    mock.timers.tick(1000);
    assert.equal(silent.expired, 0);
  });
});
