// A sweep trained on the test device, and the float64 reference's losses for the same runs: the harness
// of the engine-against-reference tests (train/sweep.test.ts on lab-gpt's tiny config, model/ on a
// Hugging Face GPT-2 checkpoint).
import type { LabGptConfig, Weights } from '../model/config';
import { initLora } from '../model/init';
import { loraLayout } from '../model/lora-layout';
import { referenceTrain, type OptimHyper } from '../optim/reference';
import { resolveRunHyper } from '../optim/optimizer';
import { lrFactor } from '../train/schedule';
import type { BatchSource } from '../train/batch';
import type { SweepConfig } from '../train/config';
import { SweepDriver, type SweepEvent } from '../train/driver';
import { SweepEngine, type EngineOptions } from '../train/sweep';
import type { InitialAdapter } from '../train/engine-types';
import { testGpu } from './gpu';

export interface TrainedSweep {
  /** losses[run][step] as reported. */
  losses: number[][];
  events: SweepEvent[];
  engine: SweepEngine;
}

/** Train `config` to its last step on the test device, from `init` or the seeded adapter (the caller destroys the engine). */
export async function trainSweep(
  cfg: LabGptConfig,
  weights: Weights,
  config: SweepConfig,
  source: BatchSource,
  options: EngineOptions = {},
  init?: InitialAdapter,
): Promise<TrainedSweep> {
  const gpu = await testGpu();
  const engine = new SweepEngine(gpu, cfg, weights, config, source, init, options);
  const events: SweepEvent[] = [];
  await new SweepDriver(engine, (e) => events.push(e)).run({ reportEveryMs: 0 });
  const losses: number[][] = config.runs.map(() => []);
  for (const e of events)
    if (e.type === 'report') e.report.losses.forEach((row) => row.forEach((l, i) => losses[i].push(l)));
  return { losses, events, engine };
}

/**
 * The float64 model's losses of every run of `config` (its schedule, each run's hyper-parameters resolved
 * as the engine does), from the sweep's seeded initial adapter on the same batches.
 */
export function referenceSweepLosses(
  cfg: LabGptConfig,
  weights: Weights,
  config: SweepConfig,
  source: BatchSource,
): number[][] {
  const layout = loraLayout(cfg, config.lora);
  const init = initLora(layout, config.seed);
  const batches = Array.from({ length: config.steps }, (_, k) => source.train(k));
  const schedule = { steps: config.steps, warmup: config.warmup, decay: config.decay };
  return config.runs.map((run) => {
    const r = resolveRunHyper(run.optimizer, run, config.hyper);
    const h: OptimHyper = { ...r, lr: run.lr };
    return referenceTrain(cfg, weights, layout, run.optimizer, h, init.A, init.B, batches, {
      lrAt: (t) => run.lr * lrFactor(schedule, t),
      bFromOldA: config.hyper.preconditionerOrder === 'old-iterate',
    });
  });
}
