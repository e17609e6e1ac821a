// The engine's data shapes: what a report carries, the per-run host bookkeeping, and the state a
// checkpoint saves (checkpoint.ts) and an engine resumes from.
import type { AttentionChoice } from '../kernels/attention-variant';
import type { RunSpec } from './config';

export interface StepReport {
  /** Steps covered by this report, in order. */
  steps: number[];
  /** losses[i][run]: training loss of run `run` at steps[i] (NaN once diverged is kept as measured). */
  losses: number[][];
  tokensPerSec: number;
  gradNorm: number[];
  updateNorm: number[];
  choleskyFallbacks: number[];
  alive: boolean[];
  divergedAtStep: (number | null)[];
}

/** Per-run bookkeeping on the host (the GPU holds the numbers). */
export interface HostRun {
  spec: RunSpec;
  startStep: number;
  stoppedAtStep: number | null;
}

export interface InitialAdapter {
  A: Float32Array; // one run's [SA]
  B: Float32Array; // one run's [SB]
}

/** A checkpoint's state (checkpoint.ts): the engine starts from it instead of step 0. */
export interface ResumeState {
  runs: HostRun[];
  snapshot: Snapshot;
  step: number;
  batchIndex: number;
}

export interface EngineOptions {
  /** Minimum rows per chunk of the split-K LoRA weight gradients (tests lower it to exercise it). */
  splitMinChunk?: number;
  /** Attention kernels: 'auto' (default: by shape and device, attention-variant.ts), or one forced. */
  attention?: AttentionChoice;
  resume?: ResumeState;
}

export interface Snapshot {
  A: Float32Array;
  B: Float32Array;
  mA: Float32Array;
  vA: Float32Array;
  mB: Float32Array;
  vB: Float32Array;
  state: Float32Array;
}
