// A sweep's results: JSON (config, per-run per-step losses, validation losses, diverged step, timings) and CSV.
import type { RunHyper } from '../optim/optimizer';
import type { SweepConfig } from './config';

export interface RunResult {
  id: string;
  optimizer: string;
  lr: number;
  /** Step at which the run joined the sweep (0 for runs present from the start). */
  startStep: number;
  /** Training loss per step, index 0 = step 1 (null where the run had not started). */
  losses: (number | null)[];
  validation: { step: number; loss: number }[];
  /** Step at which the run was marked diverged and frozen, or null. */
  divergedAtStep: number | null;
  stoppedAtStep: number | null;
  choleskyFallbacks: number;
  /** Last sampled gradient and update norms (L2 over all LoRA parameters of the run). */
  gradNorm: number | null;
  updateNorm: number | null;
  /** The run's hyper-parameters as it trained with them (its own, else the sweep's). */
  hyper: RunHyperValues;
}

export type RunHyperValues = Omit<RunHyper, 'kind'>;

export interface SweepResults {
  version: 1;
  config: SweepConfig;
  model: {
    name: string;
    n_layer: number;
    n_head: number;
    n_embd: number;
    n_positions: number;
    /** Written since fingerprints were kept; results stored by older versions (History) lack both. */
    vocab_size?: number;
    /** model/fingerprint.ts: tells apart two models of one name. */
    fingerprint?: string;
  };
  dataset: { name: string; trainTokens: number; valTokens: number };
  adapter: { vendor: string; architecture: string; description: string };
  steps: number;
  timings: { totalSeconds: number; secondsPerStep: number; tokensPerSec: number };
  runs: RunResult[];
}

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Long format: one row per run per step, with the validation loss where one was measured, then the run's
 * hyper-parameters (columns added at the end, so readers of the first seven keep working).
 */
export function resultsToCsv(r: SweepResults): string {
  const lines = [
    'run,optimizer,lr,step,train_loss,val_loss,diverged_at_step,damping,weight_decay,beta1,beta2,eps,loraplus_ratio',
  ];
  for (const run of r.runs) {
    const val = new Map(run.validation.map((v) => [v.step, v.loss]));
    const h = run.hyper;
    const hyper = [h.damping, h.weightDecay, h.beta1, h.beta2, h.eps, h.loraplusRatio];
    run.losses.forEach((loss, i) => {
      const step = i + 1;
      lines.push(
        [run.id, run.optimizer, run.lr, step, loss, val.get(step) ?? null, run.divergedAtStep, ...hyper]
          .map(csvField)
          .join(','),
      );
    });
  }
  return lines.join('\n') + '\n';
}

/**
 * A resumed sweep's results: the runs' losses and validations up to the checkpoint's step from the
 * results before it (when known), the rest from the resumed sweep; timings over the whole sweep.
 */
export function joinResults(
  before: { fromStep: number; seconds: number; results?: SweepResults },
  after: SweepResults,
): SweepResults {
  const { fromStep } = before;
  const old = new Map(before.results?.runs.map((r) => [r.id, r]));
  const runs = after.runs.map((r) => {
    const b = old.get(r.id);
    if (!b) return r;
    const losses = r.losses.map((l, i) => (i < fromStep ? (b.losses[i] ?? null) : l));
    const validation = [
      ...b.validation.filter((v) => v.step <= fromStep),
      ...r.validation.filter((v) => v.step > fromStep),
    ];
    return { ...r, losses, validation };
  });
  // after.timings divide the whole sweep's tokens by the resumed part's seconds only.
  const t = after.timings;
  const totalSeconds = before.seconds + t.totalSeconds;
  const tokens = t.tokensPerSec * t.totalSeconds;
  const timings = {
    totalSeconds,
    secondsPerStep: after.steps > 0 ? totalSeconds / after.steps : 0,
    tokensPerSec: totalSeconds > 0 ? tokens / totalSeconds : 0,
  };
  return { ...after, runs, timings };
}
