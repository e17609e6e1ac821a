// Drives a SweepEngine: submits steps back to back, reports losses a few times a second, validates
// every k steps, and applies stop/add requests between steps. Shared by the CLI and the Web Worker.
import type { RunSpec } from './config';
import type { StepReport, SweepEngine } from './sweep';

export type SweepEvent =
  | { type: 'report'; report: StepReport }
  | { type: 'validation'; step: number; losses: number[] }
  | { type: 'diverged'; runId: string; step: number }
  | { type: 'runsChanged'; runs: RunSpec[] }
  | { type: 'done'; step: number; seconds: number };

export interface DriverOptions {
  /** Minimum time between reports (ms). */
  reportEveryMs?: number;
  /** Sample gradient and update norms every n steps. */
  normsEvery?: number;
  /**
   * Steps the CPU may run ahead of the GPU: a fixed number, or (by default) as many as fill `inFlightMs` at
   * the step time measured so far (`inFlightDepth`), at least 3.
   */
  maxInFlight?: number;
  /** Milliseconds of GPU work to keep queued when maxInFlight is not given (default 40). */
  inFlightMs?: number;
  /** Also report at every multiple of this many steps (checkpoints are taken at reports). */
  reportEvery?: number;
  signal?: AbortSignal;
  now?: () => number;
}

/** Fewest steps kept in flight, and the most (the loss history holds 256 unread rows; reports come at 128). */
export const MIN_IN_FLIGHT = 3;
export const MAX_IN_FLIGHT = 64;

/**
 * Steps to keep queued so that the GPU holds about `targetMs` of work at `stepMs` a step. A pause of the host
 * shorter than that (a garbage collection: 5–30 ms under Node, where Dawn's event polling alone makes tens of
 * MB of garbage a second while a promise is pending) then no longer leaves the GPU idle; three steps are 4 ms
 * of work at lab-gpt's R = 1 on an H200. A stop or add request still waits for at most that much work.
 */
export function inFlightDepth(stepMs: number, targetMs: number): number {
  if (!(stepMs > 0) || !Number.isFinite(stepMs)) return MIN_IN_FLIGHT;
  return Math.min(MAX_IN_FLIGHT, Math.max(MIN_IN_FLIGHT, Math.ceil(targetMs / stepMs)));
}

export class SweepDriver {
  private requests: (() => Promise<void>)[] = [];
  private reportedDiverged = new Set<string>();

  constructor(
    readonly engine: SweepEngine,
    public onEvent: (e: SweepEvent) => void,
  ) {}

  /** Queue a new run; it joins at the next step boundary. */
  addRun(spec: RunSpec): void {
    this.requests.push(async () => {
      await this.flush(0, 0);
      await this.engine.addRun(spec);
      this.onEvent({ type: 'runsChanged', runs: this.engine.runSpecs });
    });
  }

  stopRun(id: string): void {
    this.requests.push(async () => {
      this.engine.stopRun(id);
      this.onEvent({ type: 'runsChanged', runs: this.engine.runSpecs });
    });
  }

  /**
   * Run `task` between two steps (the engine's buffers hold a whole step) and resolve with its result.
   * Tasks still queued when the loop ends run after it, so the promise always settles.
   */
  atStepBoundary<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.requests.push(() => task().then(resolve, reject));
    });
  }

  /**
   * The sweep's state as checkpoint bytes, taken between two steps after the pending losses were
   * reported (so a sweep resumed from it reports every step after `step` and none twice).
   */
  checkpoint(): Promise<{ step: number; bytes: Uint8Array }> {
    return this.atStepBoundary(async () => {
      await this.flush(0, 0);
      return { step: this.engine.step, bytes: await this.engine.checkpoint() };
    });
  }

  private async flush(seconds: number, steps: number): Promise<void> {
    if (this.engine.pendingRows === 0) return;
    const report = await this.engine.report(seconds, steps);
    this.onEvent({ type: 'report', report });
    report.divergedAtStep.forEach((step, i) => {
      const id = this.engine.runSpecs[i].id;
      if (step !== null && !this.reportedDiverged.has(id)) {
        this.reportedDiverged.add(id);
        this.onEvent({ type: 'diverged', runId: id, step });
      }
    });
  }

  async run(opts: DriverOptions = {}): Promise<void> {
    const e = this.engine;
    const now = opts.now ?? (() => performance.now());
    const reportEveryMs = opts.reportEveryMs ?? 250;
    const normsEvery = opts.normsEvery ?? 10;
    const inFlightMs = opts.inFlightMs ?? 40;
    let maxInFlight = opts.maxInFlight ?? MIN_IN_FLIGHT;
    const total = e.config.steps;
    const t0 = now();
    let windowStart = t0;
    let windowSteps = 0;
    const inFlight: Promise<unknown>[] = [];
    // The queue's depth from the last report window's time a step (a window that only drained the queue,
    // with no new step, says nothing).
    const measure = (ms: number, steps: number) => {
      if (opts.maxInFlight === undefined && steps > 0) maxInFlight = inFlightDepth(ms / steps, inFlightMs);
    };
    while (e.step < total && !opts.signal?.aborted) {
      while (this.requests.length > 0) await this.requests.shift()!();
      const next = e.step + 1;
      e.submitStep(next % normsEvery === 0 || next === total);
      windowSteps++;
      // Under Node the queue clock paces the loop (a pending promise per step would keep dawn.node polling);
      // elsewhere, and before the clock has a step time, a promise per step bounds the queue.
      if (!(await e.gpu.paceSteps(maxInFlight))) {
        inFlight.push(e.gpu.device.queue.onSubmittedWorkDone());
        while (inFlight.length > maxInFlight) await inFlight.shift();
      }
      const t = now();
      // Step 1 is reported at once: its time tells a user on a slow adapter what to expect.
      const due = opts.reportEvery !== undefined && opts.reportEvery > 0 && e.step % opts.reportEvery === 0;
      if (
        t - windowStart >= reportEveryMs ||
        e.pendingRows >= 128 ||
        e.step === 1 ||
        e.step === total ||
        due
      ) {
        const ms = now() - windowStart;
        await this.flush(ms / 1000, windowSteps);
        measure(ms, windowSteps);
        windowStart = now();
        windowSteps = 0;
      }
      const valEvery = e.config.valEvery;
      if ((valEvery > 0 && e.step % valEvery === 0) || e.step === total) {
        await this.flush((now() - windowStart) / 1000, windowSteps);
        windowStart = now();
        windowSteps = 0;
        const losses = await e.validate();
        if (losses) this.onEvent({ type: 'validation', step: e.step, losses });
      }
    }
    await this.flush((now() - windowStart) / 1000, windowSteps);
    while (this.requests.length > 0) await this.requests.shift()!();
    this.onEvent({ type: 'done', step: e.step, seconds: (now() - t0) / 1000 });
  }
}

/** The driver's events as an async stream (for `for await` consumers: the CLI, the Web Worker, tests). */
export async function* sweepEvents(
  engine: SweepEngine,
  opts: DriverOptions = {},
): AsyncGenerator<SweepEvent> {
  const queue: SweepEvent[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  let finished = false;
  const driver = new SweepDriver(engine, (e) => {
    queue.push(e);
    wake?.();
  });
  driver
    .run(opts)
    .catch((e: unknown) => (failure = e ?? new Error('sweep failed')))
    .finally(() => {
      finished = true;
      wake?.();
    });
  for (;;) {
    while (queue.length > 0) yield queue.shift()!;
    if (failure !== undefined) throw failure;
    if (finished) return;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}
