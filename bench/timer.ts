// Timing of dispatch lists: GPU timestamps around one compute pass of N repetitions when the device
// has 'timestamp-query', otherwise wall time around submit + onSubmittedWorkDone.
import type { Dispatch, Gpu } from '../src/gpu/context';
import { resolveTimestamps } from './gpu';

export type TimingSource = 'timestamp' | 'wall';

export interface Timing {
  /** Median time of one repetition of the list, in ms. */
  ms: number;
  /** Every trial's per-repetition time (ms), for spread. */
  trials: number[];
  reps: number;
  source: TimingSource;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface TimeOptions {
  /** Repetitions of the list inside one timed pass (or one timed submit on the wall clock). */
  reps: number;
  trials: number;
  /** Untimed passes first (pipelines warm, clocks up). */
  warmup?: number;
  /** Force wall-clock timing even with timestamps (to compare the two). */
  wall?: boolean;
}

function encodeReps(pass: GPUComputePassEncoder, list: readonly Dispatch[], reps: number): void {
  for (let r = 0; r < reps; r++) for (const d of list) d.encode(pass);
}

/** Time `list` (encoded `reps` times back to back in one compute pass), median over trials. */
export async function timeList(gpu: Gpu, list: readonly Dispatch[], o: TimeOptions): Promise<Timing> {
  const useStamps = gpu.hasTimestamps && !o.wall;
  for (let w = 0; w < (o.warmup ?? 1); w++) {
    gpu.submitEncoded('bench warmup', (enc) => {
      const pass = enc.beginComputePass({ label: 'bench warmup' });
      encodeReps(pass, list, Math.min(o.reps, 2));
      pass.end();
    });
  }
  await gpu.sync('bench warmup');
  const trials: number[] = [];
  if (useStamps) {
    const querySet = gpu.device.createQuerySet({ type: 'timestamp', count: 2 * o.trials });
    for (let t = 0; t < o.trials; t++) {
      gpu.submitEncoded('bench timed', (enc) => {
        const pass = enc.beginComputePass({
          label: 'bench timed',
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * t, endOfPassWriteIndex: 2 * t + 1 },
        });
        encodeReps(pass, list, o.reps);
        pass.end();
      });
    }
    const ns = await resolveTimestamps(gpu, querySet, o.trials);
    querySet.destroy();
    for (const n of ns) trials.push(n / 1e6 / o.reps);
  } else {
    for (let t = 0; t < o.trials; t++) {
      const t0 = performance.now();
      gpu.submitEncoded('bench timed', (enc) => {
        const pass = enc.beginComputePass({ label: 'bench timed' });
        encodeReps(pass, list, o.reps);
        pass.end();
      });
      await gpu.device.queue.onSubmittedWorkDone();
      trials.push((performance.now() - t0) / o.reps);
    }
    await gpu.sync('bench timed');
  }
  return { ms: median(trials), trials, reps: o.reps, source: useStamps ? 'timestamp' : 'wall' };
}

/**
 * Pick reps so that one timed pass lasts about `targetMs` (from a short probe), within [1, maxReps]:
 * long enough that timer resolution and pass overhead vanish, short enough for the device budget.
 */
export async function autoReps(
  gpu: Gpu,
  list: readonly Dispatch[],
  targetMs: number,
  maxReps: number,
): Promise<number> {
  const probe = await timeList(gpu, list, { reps: 1, trials: 1, warmup: 1 });
  if (!(probe.ms > 0)) return maxReps;
  return Math.max(1, Math.min(maxReps, Math.round(targetMs / probe.ms)));
}

export async function timeAuto(
  gpu: Gpu,
  list: readonly Dispatch[],
  o: { targetMs: number; maxReps: number; trials: number },
): Promise<Timing> {
  const reps = await autoReps(gpu, list, o.targetMs, o.maxReps);
  return timeList(gpu, list, { reps, trials: o.trials, warmup: 1 });
}
