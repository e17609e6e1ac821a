// A sweep's configuration: one serialisable object (the CLI's flags and the page's state map onto it).
import type { LabGptConfig } from '../model/config';
import { targetDims, type LoraTarget } from '../model/lora-layout';
import {
  DEFAULT_HYPER,
  OPTIMIZERS,
  type OptimizerHyper,
  type OptimizerKind,
  type RunOverrides,
} from '../optim/optimizer';
import type { Decay } from './schedule';

/** A run: an optimizer, its learning rate, and optionally its own hyper-parameters (ALGORITHM.md). */
export interface RunSpec extends RunOverrides {
  id: string;
  optimizer: OptimizerKind;
  lr: number;
}

export interface SweepConfig {
  lora: { r: number; alpha: number; targets: LoraTarget[] };
  steps: number;
  batch: number;
  seq: number;
  warmup: number;
  decay: Decay;
  seed: number;
  order: 'sequential' | 'shuffled';
  valFraction: number;
  /** Validation loss every `valEvery` steps (0 = only at the end). */
  valEvery: number;
  /** At most this many validation batches per evaluation. */
  valBatches: number;
  /** A run is diverged when its loss is NaN/Inf or exceeds divergenceFactor × its first loss. */
  divergenceFactor: number;
  hyper: OptimizerHyper;
  runs: RunSpec[];
}

export const DEFAULT_SWEEP: Omit<SweepConfig, 'runs'> = {
  lora: { r: 4, alpha: 8, targets: ['c_attn'] },
  steps: 200,
  batch: 8,
  seq: 128,
  warmup: 0,
  decay: 'constant',
  seed: 0,
  order: 'shuffled',
  valFraction: 0.1,
  valEvery: 50,
  valBatches: 8,
  divergenceFactor: 3,
  hyper: DEFAULT_HYPER,
};

export function runId(optimizer: OptimizerKind, lr: number): string {
  return `${optimizer}@${lr}`;
}

/** Per-run hyper-parameter axes of a grid: each list multiplies the runs; a single value sets it for all. */
export type GridAxes = { [K in keyof RunOverrides]?: readonly number[] };

/** The name of each axis in run ids (and the flag it comes from, singular). */
export const AXIS_NAMES: Record<keyof RunOverrides, string> = {
  damping: 'damping',
  weightDecay: 'weight-decay',
  beta1: 'beta1',
  beta2: 'beta2',
  eps: 'eps',
  loraplusRatio: 'loraplus-ratio',
};

/** 1e-4 rather than 0.0001; 0.01 and 16 as they are. */
export function shortNumber(x: number): string {
  const plain = String(x);
  const exp = x.toExponential();
  return exp.length < plain.length ? exp : plain;
}

/** A run id with one axis value named: `adamw@0.001` → `adamw@0.001,damping=1e-4`. */
export function withAxisId(id: string, key: keyof RunOverrides, value: number): string {
  return `${id},${AXIS_NAMES[key]}=${shortNumber(value)}`;
}

/**
 * The grid: every optimizer × learning rate × value of each axis. A run's id names its optimizer and
 * learning rate (`adamw@0.001`), then every axis value that varies across the grid (`,damping=1e-4`).
 */
export function gridRuns(
  optimizers: readonly OptimizerKind[],
  lrs: readonly number[],
  axes: GridAxes = {},
): RunSpec[] {
  let runs: RunSpec[] = optimizers.flatMap((optimizer) =>
    lrs.map((lr) => ({ id: runId(optimizer, lr), optimizer, lr })),
  );
  for (const key of Object.keys(AXIS_NAMES) as (keyof RunOverrides)[]) {
    const values = axes[key];
    if (!values || values.length === 0) continue;
    const named = values.length > 1;
    runs = runs.flatMap((run) =>
      values.map((v) => ({
        ...run,
        [key]: v,
        id: named ? withAxisId(run.id, key, v) : run.id,
      })),
    );
  }
  return runs;
}

/** Checks a run's own hyper-parameters; throws naming the first bad one. */
export function validateOverrides(r: RunSpec): void {
  const bad = (what: string, v: number) => new Error(`run '${r.id}': ${what} (got ${v})`);
  if (r.damping !== undefined && !(r.damping > 0)) throw bad('damping must be > 0', r.damping);
  if (r.weightDecay !== undefined && !(r.weightDecay >= 0))
    throw bad('weight decay must be >= 0', r.weightDecay);
  for (const [name, b] of [
    ['beta1', r.beta1],
    ['beta2', r.beta2],
  ] as const)
    if (b !== undefined && !(b >= 0 && b < 1)) throw bad(`${name} must be in [0, 1)`, b);
  if (r.eps !== undefined && !(r.eps > 0)) throw bad('eps must be > 0', r.eps);
  if (r.loraplusRatio !== undefined && !(r.loraplusRatio > 0 && Number.isFinite(r.loraplusRatio)))
    throw bad('LoRA+ ratio must be a positive number', r.loraplusRatio);
}

/**
 * A rank above an adapted layer's smaller width gains nothing (BA's rank is at most that width) and makes
 * BᵀB or AAᵀ singular; throws naming the first target too narrow for it.
 */
export function checkRank(lora: SweepConfig['lora'], cfg: LabGptConfig): void {
  for (const target of lora.targets) {
    const { inDim, outDim } = targetDims(cfg, target);
    const width = Math.min(inDim, outDim);
    if (lora.r > width)
      throw new Error(
        `rank ${lora.r} is larger than the width of ${target} (${width}: ${inDim} in, ${outDim} out) in this model; use a rank of at most ${width}`,
      );
  }
}

/**
 * Checks a config and throws an Error naming the first bad field. With the model's config, the rank is
 * checked against the adapted layers' widths too.
 */
export function validateSweep(c: SweepConfig, maxPositions: number, model?: LabGptConfig): void {
  const posInt = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer (got ${v})`);
  };
  posInt(c.steps, 'steps');
  posInt(c.batch, 'batch');
  posInt(c.seq, 'seq');
  if (c.seq > maxPositions) throw new Error(`seq ${c.seq} exceeds the model's n_positions ${maxPositions}`);
  if (!Number.isInteger(c.warmup) || c.warmup < 0)
    throw new Error(`warmup must be a non-negative integer (got ${c.warmup})`);
  if (!(c.valFraction >= 0 && c.valFraction < 1))
    throw new Error(`val-fraction must be in [0, 1) (got ${c.valFraction})`);
  if (!(c.divergenceFactor > 1)) throw new Error(`divergence factor must be > 1 (got ${c.divergenceFactor})`);
  if (!(c.lora.alpha > 0)) throw new Error(`alpha must be > 0 (got ${c.lora.alpha})`);
  if (model) checkRank(c.lora, model);
  const h = c.hyper;
  if (!(h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 && h.beta2 < 1))
    throw new Error(`betas must be in [0, 1) (got ${h.beta1}, ${h.beta2})`);
  if (!(h.eps > 0)) throw new Error(`eps must be > 0 (got ${h.eps})`);
  if (!(h.damping > 0)) throw new Error(`damping must be > 0 (got ${h.damping})`);
  if (!(h.weightDecay >= 0)) throw new Error(`weight decay must be >= 0 (got ${h.weightDecay})`);
  if (c.runs.length === 0) throw new Error('a sweep needs at least one run');
  const ids = new Set<string>();
  for (const r of c.runs) {
    if (!OPTIMIZERS.includes(r.optimizer))
      throw new Error(`unknown optimizer '${r.optimizer}' (choose from ${OPTIMIZERS.join(', ')})`);
    if (!(r.lr > 0 && Number.isFinite(r.lr)))
      throw new Error(`learning rate must be a positive number (got ${r.lr})`);
    validateOverrides(r);
    if (ids.has(r.id)) throw new Error(`duplicate run '${r.id}'`);
    ids.add(r.id);
  }
}
