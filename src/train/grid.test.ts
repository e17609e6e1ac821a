// Two-axis sweeps on the GPU: runs that differ in more than the learning rate (damping, LoRA+ ratio,
// weight decay, β2) in one lockstep computation, against one-axis sweeps and the float64 reference.
import { describe, expect, it } from 'vitest';
import { SweepEngine } from './sweep';
import { SweepDriver } from './driver';
import { TINY, tinySource, tinySweep, tinyWeights } from './tiny-sweep';
import { testGpu } from '../test/gpu';
import { referenceTrain, defaultHyper } from '../optim/reference';
import { loraLayout } from '../model/lora-layout';
import { initLora } from '../model/init';
import { expectAllClose } from '../test/close';
import { gridRuns, shortNumber, type RunSpec, type SweepConfig } from './config';

/** Losses [run][step] of a sweep trained to the end. */
async function losses(config: SweepConfig): Promise<Map<string, number[]>> {
  const gpu = await testGpu();
  const engine = new SweepEngine(gpu, TINY, tinyWeights(), config, tinySource(config));
  const out = new Map(config.runs.map((r) => [r.id, [] as number[]]));
  await new SweepDriver(engine, (e) => {
    if (e.type === 'report')
      e.report.losses.forEach((row) => row.forEach((l, i) => out.get(engine.runSpecs[i].id)!.push(l)));
  }).run({ reportEveryMs: 0 });
  engine.destroy();
  return out;
}

describe('two-axis sweeps', () => {
  it('2 optimizers × 3 learning rates × 2 dampings: each run’s losses are bit-identical to a one-axis sweep at its damping', async () => {
    const optimizers = ['riemannian-adamw', 'riemannian-sgd'] as const;
    const lrs = [1e-3, 1e-2, 5e-2];
    const dampings = [1e-6, 1e-1];
    const grid = gridRuns(optimizers, lrs, { damping: dampings });
    expect(grid).toHaveLength(12);
    expect(grid[1].id).toBe('riemannian-adamw@0.001,damping=0.1');
    // Three steps: enough for the damping to act (it changes step 2 on), and cheap on SwiftShader.
    const both = await losses(tinySweep(grid, { steps: 3 }));
    for (const damping of dampings) {
      const base = tinySweep(gridRuns(optimizers, lrs), { steps: 3 });
      const alone = await losses({ ...base, hyper: { ...base.hyper, damping } });
      for (const [id, want] of alone) {
        const got = both.get(`${id},damping=${shortNumber(damping)}`)!;
        expect(got, id).toEqual(want);
      }
    }
    // The damping matters (the comparison above is not vacuous): δ = 0.1 changes the Riemannian steps.
    const a = both.get('riemannian-sgd@0.05,damping=1e-6')!;
    const b = both.get('riemannian-sgd@0.05,damping=0.1')!;
    expect(a[2]).not.toBe(b[2]);
  }, 300_000);

  it('per-run LoRA+ ratio, weight decay and β2 match the float64 reference', async () => {
    const runs: RunSpec[] = [
      { id: 'adamw-λ1', optimizer: 'adamw', lr: 1e-2 },
      { id: 'adamw-λ4-wd0.1', optimizer: 'adamw', lr: 1e-2, loraplusRatio: 4, weightDecay: 0.1 },
      { id: 'loraplus-adamw', optimizer: 'loraplus-adamw', lr: 5e-3 },
      { id: 'radamw-λ8-β0.99', optimizer: 'riemannian-adamw', lr: 1e-2, loraplusRatio: 8, beta2: 0.99 },
      { id: 'rsgd-λ4-δ1e-3', optimizer: 'riemannian-sgd', lr: 0.05, loraplusRatio: 4, damping: 1e-3 },
    ];
    const config = tinySweep(runs);
    const got = await losses(config);
    const layout = loraLayout(TINY, config.lora);
    const init = initLora(layout, config.seed);
    const source = tinySource(config);
    const batches = Array.from({ length: config.steps }, (_, k) => source.train(k));
    for (const r of runs) {
      const { id, optimizer, lr, ...own } = r;
      const hyper = { ...defaultHyper(lr), ...own };
      const want = referenceTrain(TINY, tinyWeights(), layout, optimizer, hyper, init.A, init.B, batches);
      expectAllClose(got.get(id)!, want, { rtol: 1e-4, atol: 0 }, id);
    }
    // LoRA+ changes the trajectory: λ = 4 (with its decay) and λ = 1 part after the first step.
    expect(got.get('adamw-λ4-wd0.1')![4]).not.toBe(got.get('adamw-λ1')![4]);
  });
});
