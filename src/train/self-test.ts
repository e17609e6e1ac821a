// An end-to-end check of the engine on whatever GPU runs it (the page's "Run engine self-test"):
// a tiny random lab-gpt, a 3-step sweep of plain and Riemannian AdamW, and the first step's loss
// compared with the float64 reference model on the CPU.
import type { Gpu } from '../gpu/context';
import { referenceLoss } from '../model/reference';
import { loraLayout } from '../model/lora-layout';
import { initLora } from '../model/init';
import { SweepEngine } from './sweep';
import { sweepEvents } from './driver';
import { TINY, tinySource, tinySweep, tinyWeights } from './tiny-sweep';

export interface SelfTestResult {
  passed: boolean;
  /** Step-1 loss of each run on the GPU, and of the float64 model. */
  gpuLosses: number[];
  referenceLoss: number;
  /** Losses of the last step (they differ between optimizers once they have stepped). */
  finalLosses: number[];
  seconds: number;
}

export async function engineSelfTest(gpu: Gpu): Promise<SelfTestResult> {
  const t0 = performance.now();
  const config = tinySweep(
    [
      { id: 'adamw', optimizer: 'adamw', lr: 1e-2 },
      { id: 'riemannian-adamw', optimizer: 'riemannian-adamw', lr: 1e-2 },
    ],
    { steps: 3 },
  );
  const weights = tinyWeights();
  const source = tinySource(config);
  const engine = new SweepEngine(gpu, TINY, weights, config, source);
  const byStep = new Map<number, number[]>();
  try {
    for await (const e of sweepEvents(engine, { reportEveryMs: 0 })) {
      if (e.type === 'report') e.report.steps.forEach((s, i) => byStep.set(s, e.report.losses[i]));
    }
  } finally {
    engine.destroy();
  }
  const layout = loraLayout(TINY, config.lora);
  const init = initLora(layout, config.seed);
  const ref = referenceLoss(TINY, weights, layout, init.A, init.B, source.train(0), { backward: false }).loss;
  const first = byStep.get(1) ?? [];
  const last = byStep.get(3) ?? [];
  const passed =
    first.length === 2 &&
    first.every((l) => Math.abs(l - ref) <= 1e-4 * Math.abs(ref)) &&
    last.every(Number.isFinite);
  return {
    passed,
    gpuLosses: first,
    referenceLoss: ref,
    finalLosses: last,
    seconds: (performance.now() - t0) / 1000,
  };
}
