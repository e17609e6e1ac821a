// When the GPU should be done with the training steps queued so far: what `Gpu.sync` and the driver sleep through
// under Node before they wait, so that no promise is pending while the GPU still has a long way to go.
//
// Why: dawn.node settles a pending promise (onSubmittedWorkDone, mapAsync) by polling Dawn in a setImmediate loop
// for as long as one is pending, and that loop makes tens of MB of garbage a second (a wait on an idle script grew
// the heap by 21 MB in 1.7 s here). V8 then pauses the host 5–30 ms at a time to collect it. On an H200, 5 of 8
// bench trials of 120 steps at lab-gpt's R = 8 ended 7–33 ms late for it, while the GPU's own span was the same in
// every trial; sleeping through most of the steps first (or collecting garbage before each trial) left all 8 within
// 2 ms of the span (bench/RESULTS.md, 2026-12-01 s12, call 3).
//
// The clock learns the time a step takes from the windows of steps between two drains whose wait did not sleep:
// (end of the wait − first submission) / steps is never less than the GPU's time a step (the GPU was done by
// then), and equals it where the host kept the GPU busy and heard of its end at once. A late wake-up (a
// collection), a host slower than the GPU and the first steps of a new model (Dawn clears each buffer at its
// first use) only lengthen a window, so the estimate is the least of the last few, and the clock sleeps only
// once MIN_SAMPLES windows were measured since the last reset. A wait that slept teaches it nothing (an
// over-long sleep would make the window look like the steps' time), except that an estimate too long shows:
// the GPU was already done when the host woke, and the clock forgets its samples and learns again. It plans for
// `margin` of the estimate. Windows with other work than steps (an evaluation, a checkpoint read) teach it
// nothing and get no sleep; readbacks' copies are neutral.
//
// On an H200 (bench/RESULTS.md, 2026-12-01 s12, call 5) learning from every window instead let one late window
// of 30 short steps make the estimate 2.5 times too long: the bench's AdamW trials took 3.18 ms a step for 1.26
// of GPU time.

/** Sleeps shorter than this are not worth a timer. */
export const MIN_SLEEP_MS = 2;
/** Windows measured since the last reset before the clock lets a wait sleep. */
export const MIN_SAMPLES = 3;
/** A wait after a sleep that ends sooner than this found the GPU done: the estimate was too long. */
export const OVERSLEPT_MS = 0.5;

export type QueuedWork = 'step' | 'readback' | 'other';

export class QueueClock {
  /** When the first submission after the queue was last seen idle was made (ms); null: idle. */
  private since: number | null = null;
  private steps = 0;
  private mixed = false;
  private samples: number[] = [];

  constructor(
    /** Windows the estimate is the minimum of. */
    readonly keep = 8,
    /** The share of the expected time to sleep through (the bench's `--clock-margin` sets it to time others). */
    public margin = 0.85,
  ) {}

  submitted(work: QueuedWork, now: number): void {
    if (this.since === null) this.since = now;
    if (work === 'step') this.steps++;
    else if (work === 'other') this.mixed = true;
  }

  /** The learned milliseconds a step takes, or null before MIN_SAMPLES windows were measured. */
  get msPerStep(): number | null {
    return this.samples.length >= MIN_SAMPLES ? Math.min(...this.samples) : null;
  }

  /**
   * How long to sleep before waiting for the queue to hold at most `leave` of the steps queued (0: drained):
   * 0 when there is no estimate, other work is queued, or the time left is short.
   */
  sleepBefore(now: number, leave = 0): number {
    const per = this.msPerStep;
    if (per === null || this.since === null || this.mixed || this.steps <= leave) return 0;
    const left = this.since + (this.steps - leave) * per * this.margin - now;
    return left >= MIN_SLEEP_MS ? left : 0;
  }

  /**
   * The queue was seen empty at `now`, after a wait of `waitedMs` (its promise pending that long) that first
   * slept or not.
   */
  drained(now: number, slept = false, waitedMs = Infinity): void {
    if (slept) {
      if (waitedMs < OVERSLEPT_MS) this.samples = [];
    } else if (this.since !== null && !this.mixed && this.steps > 0) {
      this.samples.push((now - this.since) / this.steps);
      if (this.samples.length > this.keep) this.samples.shift();
    }
    this.since = null;
    this.steps = 0;
    this.mixed = false;
  }

  /** Forget the samples (a new model, or the steps' cost changed: a run was added). */
  reset(): void {
    this.samples = [];
  }
}
