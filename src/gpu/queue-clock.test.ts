// The queue clock (queue-clock.ts): what it learns from waits, and how long it lets a wait sleep.
import { describe, expect, it } from 'vitest';
import { MIN_SAMPLES, MIN_SLEEP_MS, QueueClock } from './queue-clock';

/** Queue `n` steps at `at` ms, then see the queue drained at `end`. */
function window(c: QueueClock, at: number, n: number, end: number): void {
  for (let i = 0; i < n; i++) c.submitted('step', at);
  c.drained(end);
}

describe('QueueClock', () => {
  it(`has no estimate, so no sleep, before ${MIN_SAMPLES} windows were measured`, () => {
    const c = new QueueClock();
    c.submitted('step', 0);
    expect(c.sleepBefore(0)).toBe(0);
    c.drained(10);
    expect(c.msPerStep).toBeNull();
    window(c, 100, 10, 200);
    expect(c.msPerStep).toBeCloseTo(10, 9);
  });

  it('learns the fewest ms a step of recent windows and sleeps through the margin of what is left', () => {
    const c = new QueueClock(8, 0.85);
    window(c, 0, 120, 528); // 4.4 ms a step
    window(c, 1000, 120, 1000 + 120 * 4.6); // a late wake-up: longer, not the estimate
    expect(c.msPerStep).toBeCloseTo(4.4, 9);
    for (let i = 0; i < 120; i++) c.submitted('step', 2000);
    // 150 ms after the first submission: 0.85 · 120 · 4.4 − 150 ms left to sleep.
    expect(c.sleepBefore(2150)).toBeCloseTo(0.85 * 120 * 4.4 - 150, 9);
    // Leaving 10 steps queued (the driver's bound): 110 steps' worth.
    expect(c.sleepBefore(2150, 10)).toBeCloseTo(0.85 * 110 * 4.4 - 150, 9);
    // Close to the end, or with no more than `leave` queued: no sleep.
    expect(c.sleepBefore(2000 + 0.85 * 120 * 4.4 - MIN_SLEEP_MS / 2)).toBe(0);
    expect(c.sleepBefore(2150, 120)).toBe(0);
  });

  it('comes down from an estimate too long: each over-long sleep gives a window the margin as long', () => {
    const c = new QueueClock(8, 0.85);
    // The first windows of a new model: its buffers are cleared at their first use (5 ms a step, truly 4).
    window(c, 0, 10, 50);
    window(c, 100, 10, 150);
    let t = 1000;
    const estimates: number[] = [];
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < 100; i++) c.submitted('step', t);
      const wake = t + c.sleepBefore(t);
      // The GPU (4 ms a step) is done at t + 400; the host wakes at `wake` and sees it done (or waits).
      c.drained(Math.max(wake, t + 400));
      estimates.push(c.msPerStep!);
      t += 1000;
    }
    expect(estimates[0]).toBeCloseTo(0.85 * 5, 9);
    expect(estimates[1]).toBeCloseTo(4, 9);
    expect(estimates[2]).toBeCloseTo(4, 9);
  });

  it('forgets windows beyond `keep`, and all of them on reset', () => {
    const c = new QueueClock(2);
    window(c, 0, 10, 10); // 1 ms a step
    window(c, 100, 10, 130); // 3
    window(c, 200, 10, 220); // 2: the 1 ms window is gone
    expect(c.msPerStep).toBeCloseTo(2, 9);
    c.reset();
    expect(c.msPerStep).toBeNull();
  });

  it('neither sleeps nor learns over other work; readbacks are neutral', () => {
    const c = new QueueClock();
    window(c, 0, 10, 40);
    window(c, 50, 10, 90);
    expect(c.msPerStep).toBeCloseTo(4, 9);
    for (let i = 0; i < 10; i++) c.submitted('step', 100);
    c.submitted('readback', 100);
    expect(c.sleepBefore(101)).toBeGreaterThan(0);
    c.submitted('other', 100);
    expect(c.sleepBefore(101)).toBe(0);
    c.drained(120); // 2 ms a step, but with an evaluation in the queue: not a sample
    expect(c.msPerStep).toBeCloseTo(4, 9);
    // The next window starts clean.
    for (let i = 0; i < 10; i++) c.submitted('step', 300);
    expect(c.sleepBefore(301)).toBeCloseTo(0.85 * 40 - 1, 9);
  });
});
