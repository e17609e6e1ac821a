// The page's "reproduce the paper" preset: a scaled-down version of the grid of docs/reproduction.md
// (Zhang & Pilanci, ICML 2024: plain vs Riemannian-preconditioned SGD/AdamW on LoRA, plus LoRA+), in the
// shape of the page's settings, with its own learning-rate list per optimizer (the page's single list
// cannot hold SGD's and AdamW's ranges at once) and a damping list for the Riemannian optimizers.
import type { LoraTarget } from '../model/lora-layout';
import { DEFAULT_HYPER, type OptimizerKind } from '../optim/optimizer';
import { DEFAULT_SWEEP, gridRuns, type RunSpec, type SweepConfig } from './config';
import type { Decay } from './schedule';
import type { BuiltinDataset, BuiltinModel } from './messages';

/** The adapter and training knobs a preset sets, in the page's settings' names (they extend this too). */
export interface TrainingKnobs {
  r: number;
  alpha: number;
  targets: LoraTarget[];
  steps: number;
  batch: number;
  seq: number;
  warmup: number;
  decay: Decay;
  weightDecay: number;
  seed: number;
  valEvery: number;
}

export interface SweepPreset extends TrainingKnobs {
  name: string;
  model: BuiltinModel;
  dataset: BuiltinDataset;
  optimizers: OptimizerKind[];
  /** Learning rates of each optimizer (log-spaced, each bracketing that optimizer's best and its divergence edge). */
  lrs: Record<OptimizerKind, number[]>;
  /** Dampings δ of the Riemannian optimizers (each one a run per learning rate); the others use the default. */
  dampings: number[];
  /** How the preset is scaled down from the report's grid. */
  scaling: string;
  reportPath: string;
}

/**
 * The report's grid (docs/reproduction.md) is 5 optimizers × 11–12 half-decade learning rates, 4 dampings,
 * 600 steps and 3 seeds on an H200. The preset keeps 5 learning rates per optimizer around the best ones the
 * report found (E2E-style set, c_attn, r 4), including the first rate at which each one fails.
 */
export const REPRODUCE_PAPER: SweepPreset = {
  name: 'Reproduce the paper (scaled down)',
  model: 'lab-gpt',
  dataset: 'e2e-restaurants.jsonl',
  optimizers: ['sgd', 'riemannian-sgd', 'adamw', 'riemannian-adamw', 'loraplus-adamw'],
  lrs: {
    sgd: [0.01, 0.1, 0.316, 1, 3.16],
    'riemannian-sgd': [0.01, 0.1, 0.316, 1, 3.16],
    adamw: [1e-4, 1e-3, 3.16e-3, 0.01, 0.1],
    'riemannian-adamw': [1e-4, 1e-3, 3.16e-3, 0.01, 0.1],
    'loraplus-adamw': [1e-5, 1e-4, 1e-3, 3.16e-3, 0.01],
  },
  dampings: [1e-6, 1e-2],
  r: 4,
  alpha: 8,
  targets: ['c_attn'],
  steps: 300,
  batch: 8,
  seq: 128,
  warmup: 0,
  decay: 'constant',
  weightDecay: 0.01,
  seed: 0,
  valEvery: 25,
  scaling:
    'Scaled down from the report (docs/reproduction.md: 11–12 learning rates per optimizer over 5–5.5 decades, ' +
    '4 dampings, 600 steps, 3 seeds, 378 runs on an H200) to 5 learning rates per optimizer (one or half a decade ' +
    'apart, around the best rates the report found and up to the first that fails), 2 dampings (1e-6, 1e-2), ' +
    '300 steps and 1 seed: 35 runs in one lockstep sweep, a few minutes on a laptop GPU. The curves stop ' +
    'before they flatten, so the best learning rates of a longer run can sit one grid step lower.',
  reportPath: 'docs/reproduction.md',
};

const RIEMANNIAN: readonly OptimizerKind[] = ['riemannian-sgd', 'riemannian-adamw'];

/** The engine's sweep configuration of a preset: each optimizer over its own rates (× dampings if Riemannian). */
export function presetSweepConfig(p: SweepPreset): SweepConfig {
  const runs: RunSpec[] = p.optimizers.flatMap((o) =>
    gridRuns([o], p.lrs[o], RIEMANNIAN.includes(o) ? { damping: p.dampings } : {}),
  );
  return {
    ...DEFAULT_SWEEP,
    lora: { r: p.r, alpha: p.alpha, targets: [...p.targets] },
    steps: p.steps,
    batch: p.batch,
    seq: p.seq,
    warmup: p.warmup,
    decay: p.decay,
    seed: p.seed,
    valEvery: p.valEvery,
    hyper: { ...DEFAULT_HYPER, weightDecay: p.weightDecay },
    runs,
  };
}
