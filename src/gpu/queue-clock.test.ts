// The queue clock (queue-clock.ts): what it learns from waits, and how long it lets a wait sleep.
import { describe, expect, it } from 'vitest';
import { MIN_SAMPLES, MIN_SLEEP_MS, OVERSLEPT_MS, QueueClock } from './queue-clock';

/** Queue `n` steps at `at` ms, then see the queue drained at `end` after a wait that did not sleep. */
function window(c: QueueClock, at: number, n: number, end: number): void {
  for (let i = 0; i < n; i++) c.submitted('step', at);
  c.drained(end);
}

/** MIN_SAMPLES windows of 10 steps at `ms` a step. */
function learn(c: QueueClock, ms: number): void {
  for (let k = 0; k < MIN_SAMPLES; k++) window(c, 1000 * k, 10, 1000 * k + 10 * ms);
}

describe('QueueClock', () => {
  it(`has no estimate, so no sleep, before ${MIN_SAMPLES} windows were measured`, () => {
    const c = new QueueClock();
    for (let k = 0; k < MIN_SAMPLES - 1; k++) window(c, 100 * k, 10, 100 * k + 40);
    for (let i = 0; i < 10; i++) c.submitted('step', 1000);
    expect(c.msPerStep).toBeNull();
    expect(c.sleepBefore(1000)).toBe(0);
    c.drained(1040);
    expect(c.msPerStep).toBeCloseTo(4, 9);
  });

  it('learns the fewest ms a step of recent windows and sleeps through the margin of what is left', () => {
    const c = new QueueClock(8, 0.85);
    learn(c, 4.4);
    window(c, 5000, 120, 5000 + 120 * 4.6); // a late wake-up: longer, not the estimate
    expect(c.msPerStep).toBeCloseTo(4.4, 9);
    for (let i = 0; i < 120; i++) c.submitted('step', 7000);
    // 150 ms after the first submission: 0.85 · 120 · 4.4 − 150 ms left to sleep.
    expect(c.sleepBefore(7150)).toBeCloseTo(0.85 * 120 * 4.4 - 150, 9);
    // Leaving 10 steps queued (the driver's bound): 110 steps' worth.
    expect(c.sleepBefore(7150, 10)).toBeCloseTo(0.85 * 110 * 4.4 - 150, 9);
    // Close to the end, or with no more than `leave` queued: no sleep.
    expect(c.sleepBefore(7000 + 0.85 * 120 * 4.4 - MIN_SLEEP_MS / 2)).toBe(0);
    expect(c.sleepBefore(7150, 120)).toBe(0);
  });

  it('learns nothing from a wait that slept, and forgets its estimate when it overslept', () => {
    const c = new QueueClock();
    learn(c, 4);
    // A sleep that woke before the GPU was done: the window says nothing of the step time.
    for (let i = 0; i < 10; i++) c.submitted('step', 10000);
    c.drained(10100, true, 5);
    expect(c.msPerStep).toBeCloseTo(4, 9);
    // A sleep that found the GPU done: the estimate was too long; learn again.
    for (let i = 0; i < 10; i++) c.submitted('step', 20000);
    c.drained(20050, true, OVERSLEPT_MS / 2);
    expect(c.msPerStep).toBeNull();
  });

  it('forgets windows beyond `keep`, and all of them on reset', () => {
    const c = new QueueClock(MIN_SAMPLES);
    learn(c, 1);
    window(c, 5000, 10, 5030); // 3 ms a step pushes out a 1 ms window
    expect(c.msPerStep).toBeCloseTo(1, 9);
    for (let k = 1; k < MIN_SAMPLES; k++) window(c, 6000 + 100 * k, 10, 6000 + 100 * k + 20);
    expect(c.msPerStep).toBeCloseTo(2, 9);
    c.reset();
    expect(c.msPerStep).toBeNull();
  });

  it('neither sleeps nor learns over other work; readbacks are neutral', () => {
    const c = new QueueClock();
    learn(c, 4);
    for (let i = 0; i < 10; i++) c.submitted('step', 10000);
    c.submitted('readback', 10000);
    expect(c.sleepBefore(10001)).toBeGreaterThan(0);
    c.submitted('other', 10000);
    expect(c.sleepBefore(10001)).toBe(0);
    c.drained(10020); // 2 ms a step, but with an evaluation in the queue: not a sample
    expect(c.msPerStep).toBeCloseTo(4, 9);
    // The next window starts clean.
    for (let i = 0; i < 10; i++) c.submitted('step', 11000);
    expect(c.sleepBefore(11001)).toBeCloseTo(0.85 * 40 - 1, 9);
  });
});
