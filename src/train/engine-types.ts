// The engine's data shapes: what a report carries, the per-run host bookkeeping, and the state a
// checkpoint saves (checkpoint.ts) and an engine resumes from.
import type { MatmulSplitK } from '../model/gpu-model';
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
  /**
   * The skinny LoRA products on lora-skinny.ts's kernels (true) or the general matmul with split-K
   * (false); default: the skinny kernels wherever r allows (tests force both).
   */
  loraSkinny?: boolean;
  /** Attention kernels: 'auto' (default: by shape and device, attention-variant.ts), or one forced. */
  attention?: AttentionChoice;
  /** At most this many rows per chunk of the LM head (tests force several; default: by memory). */
  lmHeadChunkRows?: number;
  /** Split-K of the frozen-weight products (gpu-model.ts MatmulSplitK): 'auto' (default), 'off', or forced. */
  matmulSplitK?: MatmulSplitK;
  /**
   * At most this many bytes per piece of wte (tests force several pieces; default: the device's binding
   * limits, past which wte is split: model/buffers.ts, wtePieceRows).
   */
  wtePieceBytes?: number;
  /**
   * The step's bookkeeping and optimizer in fewer dispatches (default true): lossGuard (the loss sums and the
   * divergence guard) and, where the device's storage bindings allow, optimizerFused (the whole optimizer).
   * False keeps the split dispatches they are bit for bit (tests compare the two).
   */
  fusedTail?: boolean;
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
  /**
   * Each run's last good weights [R, SA] / [R, SB] (keepLastGood): the weights of its last step whose loss
   * passed the divergence guard. Absent in checkpoints written before they existed: then a copy of A / B.
   */
  lastA?: Float32Array;
  lastB?: Float32Array;
}

/** One run's adapter as the engine exports it. */
export interface RunAdapter extends InitialAdapter {
  /**
   * null: A/B are the run's current weights. N: the run diverged at step N, and A/B are the weights its
   * finite loss of step N − 1 was measured on (after N − 2 updates; the initial adapter when N = 1), not
   * the frozen weights whose loss went bad, which an overflowing update may have made NaN/Inf.
   */
  divergedAtStep: number | null;
}
