// A sweep's results: JSON (config, per-run per-step losses, validation losses, diverged step, timings) and CSV.
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
}

export interface SweepResults {
  version: 1;
  config: SweepConfig;
  model: { name: string; n_layer: number; n_head: number; n_embd: number; n_positions: number };
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

/** Long format: one row per run per step, with the validation loss where one was measured. */
export function resultsToCsv(r: SweepResults): string {
  const lines = ['run,optimizer,lr,step,train_loss,val_loss,diverged_at_step'];
  for (const run of r.runs) {
    const val = new Map(run.validation.map((v) => [v.step, v.loss]));
    run.losses.forEach((loss, i) => {
      const step = i + 1;
      lines.push(
        [run.id, run.optimizer, run.lr, step, loss, val.get(step) ?? null, run.divergedAtStep]
          .map(csvField)
          .join(','),
      );
    });
  }
  return lines.join('\n') + '\n';
}
