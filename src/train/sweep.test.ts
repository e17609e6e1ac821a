// The GPU engine against the float64 reference model: gradients, 5 steps of every optimizer, divergence.
import { describe, expect, it } from 'vitest';
import { SweepEngine, type EngineOptions } from './sweep';
import { TINY, tinySource, tinySweep, tinyText, tinyWeights } from './tiny-sweep';
import type { LabGptConfig } from '../model/config';
import { setLoraChain, setLoraFold, setLoraPair } from '../kernels/lora';
import { SPLITK_SUM_DOWN_MAX_ROWS, setSplitSumFold, setSplitSumLoraDownRows } from '../kernels/matmul-splitk';
import { setTransposedWeights } from '../model/buffers';
import { setLayerNormEmbed } from '../kernels/layernorm';
import { setAttentionProjFold } from '../kernels/attention-passes';
import { testGpu } from '../test/gpu';
import { PlanningGpu } from '../gpu/planning';
import { randn } from '../util/random';
import { referenceLoss } from '../model/reference';
import { loraLayout, type LoraTarget } from '../model/lora-layout';
import { initLora, randomWeights } from '../model/init';
import { expectAllClose } from '../test/close';
import { referenceSweepLosses, trainSweep, type TrainedSweep } from '../test/sweep';
import type { RunSpec } from './config';
import type { Snapshot } from './engine-types';
import type { OptimizerKind } from '../optim/optimizer';

function train(runs: RunSpec[], over = {}, options: EngineOptions = {}): Promise<TrainedSweep> {
  const config = tinySweep(runs, over);
  return trainSweep(TINY, tinyWeights(), config, tinySource(config), options);
}

describe('SweepEngine on the GPU', () => {
  // Every module adapted: the matmul epilogues (gelu, residual adds, gelu gradient) end the LoRA products.
  // c_attn only (the default): they end the base products of c_fc and both c_proj.
  it.each([
    ['every module', tinySweep([]).lora.targets],
    ['c_attn only', ['c_attn'] as LoraTarget[]],
    // The backward of the lowest layer stops at its last adapted module (gpu-model.ts): each stop.
    ['mlp.c_proj only', ['mlp.c_proj'] as LoraTarget[]],
    ['mlp.c_fc only', ['mlp.c_fc'] as LoraTarget[]],
    ['attn.c_proj only', ['attn.c_proj'] as LoraTarget[]],
  ])(
    'LoRA gradients of every run equal the float64 model’s (and its finite differences): %s',
    async (_n, targets) => {
      const gpu = await testGpu();
      const runs: RunSpec[] = [
        { id: 'a', optimizer: 'adamw', lr: 1e-3 },
        { id: 'b', optimizer: 'sgd', lr: 1e-3 },
      ];
      const config = tinySweep(runs, { lora: { ...tinySweep(runs).lora, targets } });
      const layout = loraLayout(TINY, config.lora);
      const init = { A: initLora(layout, 5).A, B: randn(layout.SB, 9, 0.3) }; // B ≠ 0 so dA ≠ 0
      const source = tinySource(config);
      const weights = tinyWeights();
      // The skinny LoRA kernels (the default at r ≤ 64) ...
      const engine = new SweepEngine(gpu, TINY, weights, config, source, init);
      // ... and the matmul path, its weight gradients split-K (splitMinChunk 4: 4 chunks of 4 rows).
      const matmulPath = new SweepEngine(gpu, TINY, weights, config, source, init, {
        splitMinChunk: 4,
        loraSkinny: false,
      });
      // ... and every frozen-weight product split-K into 4 chunks (matmul-splitk.ts).
      const splitK = new SweepEngine(gpu, TINY, weights, config, source, init, { matmulSplitK: 4 });
      const batch = source.train(0);
      // T = 8 on any device: the default 'auto' takes the separate passes (attention-variant.ts).
      expect(engine.attention).toBe('passes');
      const got = await engine.gradients(batch);
      const ref = referenceLoss(TINY, weights, layout, init.A, init.B, batch);
      for (const [path, g] of [
        ['skinny', got],
        ['matmul', await matmulPath.gradients(batch)],
        ['split-K', await splitK.gradients(batch)],
      ] as const) {
        for (let run = 0; run < 2; run++) {
          expect(g.lossSums[run] / batch.maskSum).toBeCloseTo(ref.loss, 5);
          const scaleA = Math.max(...ref.dA.map(Math.abs));
          const scaleB = Math.max(...ref.dB.map(Math.abs));
          expectAllClose(
            g.dA.subarray(run * layout.SA, (run + 1) * layout.SA),
            ref.dA,
            { rtol: 1e-3, atol: 1e-4 * scaleA },
            `${path} dA run ${run}`,
          );
          expectAllClose(
            g.dB.subarray(run * layout.SB, (run + 1) * layout.SB),
            ref.dB,
            { rtol: 1e-3, atol: 1e-4 * scaleB },
            `${path} dB run ${run}`,
          );
        }
      }
      // Central differences of the float64 model at a few coordinates of A and B.
      const h = 1e-6;
      for (const [which, idx] of [
        ['A', 3],
        ['A', layout.SA - 1],
        ['B', 0],
        ['B', Math.floor(layout.SB / 2)],
        ['B', layout.SB - 1],
      ] as const) {
        const plus = { A: Float64Array.from(init.A), B: Float64Array.from(init.B) };
        const minus = { A: Float64Array.from(init.A), B: Float64Array.from(init.B) };
        plus[which][idx] += h;
        minus[which][idx] -= h;
        const fd =
          (referenceLoss(TINY, weights, layout, plus.A, plus.B, batch, { backward: false }).loss -
            referenceLoss(TINY, weights, layout, minus.A, minus.B, batch, { backward: false }).loss) /
          (2 * h);
        const gpuGrad = which === 'A' ? got.dA[idx] : got.dB[idx];
        expect(Math.abs(gpuGrad - fd)).toBeLessThan(1e-3 * Math.abs(fd) + 1e-5);
      }
      engine.destroy();
      matmulPath.destroy();
      splitK.destroy();
    },
  );

  it('5 steps of each optimizer give the float64 model’s losses within 1e-4 relative', async () => {
    const kinds: [OptimizerKind, number][] = [
      ['adamw', 1e-2],
      ['riemannian-adamw', 1e-2],
      ['sgd', 0.5],
      ['riemannian-sgd', 0.05],
    ];
    const runs = kinds.map(([optimizer, lr]) => ({ id: optimizer, optimizer, lr }));
    const { losses, engine } = await train(runs);
    const config = tinySweep(runs);
    const want = referenceSweepLosses(TINY, tinyWeights(), config, tinySource(config));
    kinds.forEach(([kind], i) => expectAllClose(losses[i], want[i], { rtol: 1e-4, atol: 0 }, kind));
    engine.destroy();
  });

  it('a huge learning rate diverges and is frozen; the other runs are bit-identical to a sweep without it', async () => {
    const calm: RunSpec[] = [
      { id: 'adamw@1e-2', optimizer: 'adamw', lr: 1e-2 },
      { id: 'radamw@1e-2', optimizer: 'riemannian-adamw', lr: 1e-2 },
    ];
    const wild: RunSpec = { id: 'sgd@1e4', optimizer: 'sgd', lr: 1e4 };
    const over = { steps: 8 };
    const without = await train(calm, over);
    const withWild = await train([calm[0], wild, calm[1]], over);
    const diverged = withWild.events.filter((e) => e.type === 'diverged');
    expect(diverged).toHaveLength(1);
    expect(diverged[0]).toMatchObject({ type: 'diverged', runId: 'sgd@1e4' });
    expect(withWild.losses[0]).toEqual(without.losses[0]);
    expect(withWild.losses[2]).toEqual(without.losses[1]);
    // Frozen: its adapter no longer changes after the divergence, while a live run's does.
    const before = [await withWild.engine.adapter(1), await withWild.engine.adapter(0)];
    withWild.engine.submitStep();
    const after = [await withWild.engine.adapter(1), await withWild.engine.adapter(0)];
    expect(after[0].A).toEqual(before[0].A);
    expect(after[0].B).toEqual(before[0].B);
    expect(after[1].A).not.toEqual(before[1].A);
    without.engine.destroy();
    withWild.engine.destroy();
  });

  it('the fused attention and the separate passes train to the same losses (within 1e-5)', async () => {
    const runs: RunSpec[] = [
      { id: 'adamw@1e-2', optimizer: 'adamw', lr: 1e-2 },
      { id: 'radamw@1e-2', optimizer: 'riemannian-adamw', lr: 1e-2 },
    ];
    // T = 13: not a multiple of any attention tile. (The other tests run 'auto', which is the passes here.)
    const over = { seq: 13 };
    const fused = await train(runs, over, { attention: 'fused' });
    const passes = await train(runs, over, { attention: 'passes' });
    expect([fused.engine.attention, passes.engine.attention]).toEqual(['fused', 'passes']);
    expect(fused.losses[0]).toHaveLength(5);
    runs.forEach((r, i) => expectAllClose(passes.losses[i], fused.losses[i], { rtol: 0, atol: 1e-5 }, r.id));
    for (const x of [fused, passes]) x.engine.destroy();
  });

  it.each([2, 3])(
    'the passes with the probabilities recomputed train to exactly the passes’ losses (%i layers)',
    async (layers) => {
      const runs: RunSpec[] = [
        { id: 'adamw@1e-2', optimizer: 'adamw', lr: 1e-2 },
        { id: 'radamw@1e-2', optimizer: 'riemannian-adamw', lr: 1e-2 },
      ];
      // The recompute keeps at most layers − 1 buffers (attentionProbsBuffers). 2 layers share one: layer 1's
      // forward overwrites layer 0's, so layer 0's backward is right only if it recomputes them. 3 layers: layers
      // 0 and 1 share the first (layer 0 recomputes), layer 2 has its own. Same kernels, tiles and inputs:
      // bit-identical.
      const cfg: LabGptConfig = { ...TINY, n_layer: layers };
      const weights = randomWeights(cfg, 1, 0.2);
      const run = (attention: 'passes' | 'passes-recompute') => {
        const config = tinySweep(runs, { seq: 13 });
        return trainSweep(cfg, weights, config, tinySource(config), { attention });
      };
      const passes = await run('passes');
      const recompute = await run('passes-recompute');
      expect([passes.engine.attention, recompute.engine.attention]).toEqual(['passes', 'passes-recompute']);
      expect(recompute.engine.attentionProbsBuffers).toBe(layers - 1);
      expect(recompute.losses[0]).toHaveLength(5);
      runs.forEach((_r, i) => expect(recompute.losses[i]).toEqual(passes.losses[i]));
      for (const x of [passes, recompute]) x.engine.destroy();
    },
  );

  it('the skinny LoRA kernels and the matmul path train to the same losses (within 1e-5)', async () => {
    const runs: RunSpec[] = [
      { id: 'adamw@1e-2', optimizer: 'adamw', lr: 1e-2 },
      { id: 'radamw@1e-2', optimizer: 'riemannian-adamw', lr: 1e-2 },
    ];
    // Every module adapted (tinySweep's default); T = 13: rows per run not a multiple of any tile.
    const over = { seq: 13 };
    const skinny = await train(runs, over, { loraSkinny: true });
    const matmul = await train(runs, over, { loraSkinny: false });
    expect(skinny.losses[0]).toHaveLength(5);
    runs.forEach((r, i) => expectAllClose(skinny.losses[i], matmul.losses[i], { rtol: 0, atol: 1e-5 }, r.id));
    for (const x of [skinny, matmul]) x.engine.destroy();
  });

  // Wide enough for matmulWideVec4 (the whole product's fold): c_attn 704 × 384 × 128 (36 tiles of 128×64);
  // the products split ('auto': in 2, layer 0's 352 rows too) or whole ('off'). T = 32, D = 64: vec4 passes.
  const MID: LabGptConfig = { ...TINY, n_embd: 128, n_positions: 32 };
  const foldRuns: RunSpec[] = [
    { id: 'adamw@1e-2', optimizer: 'adamw', lr: 1e-2 },
    { id: 'radamw@1e-2', optimizer: 'riemannian-adamw', lr: 1e-2 },
  ];
  // One step from a B ≠ 0 (a seeded adapter's B is 0, so its first step would leave du, dA and the LayerNorm's
  // du·A at 0): every gradient path is non-zero in the step, and the snapshot after it (A, B, both moments,
  // the runs' state) holds each run's gradients through its optimizer. Bit for bit equal snapshots are a
  // stronger check than the losses of a second step, which see dB only, and take half the SwiftShader time.
  const foldInit = (targets: LoraTarget[]) => {
    const layout = loraLayout(MID, { r: 4, alpha: 8, targets });
    return { A: initLora(layout, 5).A, B: randn(layout.SB, 9, 0.3) };
  };
  interface FoldRun {
    first: number;
    losses: number[][];
    snapshot: Snapshot;
  }
  /** One step of MID with `fold` set for the run, and the dispatches of the step's submission. */
  const trainCounting = async (
    targets: LoraTarget[],
    matmulSplitK: 'auto' | 'off',
    setFold: (on: boolean) => void,
    fold: boolean,
  ): Promise<FoldRun> => {
    const config = tinySweep(foldRuns, { steps: 1, batch: 11, seq: 32, lora: { r: 4, alpha: 8, targets } });
    const gpu = await testGpu();
    setFold(fold);
    const submit = gpu.submit.bind(gpu);
    let first = 0;
    gpu.submit = (label, dispatches, ...rest) => {
      if (label === 'step 1') first = dispatches.length;
      return submit(label, dispatches, ...rest);
    };
    try {
      const weights = randomWeights(MID, 5, 0.2);
      const source = tinySource(config, tinyText(8000));
      const run = await trainSweep(MID, weights, config, source, { matmulSplitK }, foldInit(targets));
      const snapshot = await run.engine.snapshot();
      run.engine.destroy();
      return { first, losses: run.losses, snapshot };
    } finally {
      gpu.submit = submit;
      setFold(true);
    }
  };
  /**
   * The dispatches of MID's first step with `setFold(fold)`, from a plan: the engine built on a PlanningGpu over
   * the test device (its limits and features; nothing compiled, allocated or run) and its step captured.
   */
  const plannedCount = async (
    targets: LoraTarget[],
    matmulSplitK: 'auto' | 'off',
    setFold: (on: boolean) => void,
    fold: boolean,
  ): Promise<number> => {
    const config = tinySweep(foldRuns, { steps: 1, batch: 11, seq: 32, lora: { r: 4, alpha: 8, targets } });
    const planning = new PlanningGpu(await testGpu());
    let count = -1;
    planning.submit = (label, dispatches) => {
      if (label === 'step 1') count = dispatches.length;
    };
    setFold(fold);
    try {
      const source = tinySource(config, tinyText(8000));
      const weights = randomWeights(MID, 5, 0.2);
      const engine = new SweepEngine(planning, MID, weights, config, source, foldInit(targets), {
        matmulSplitK,
      });
      // With the norms, as the driver submits a sweep's last step (MID's sweeps are one step long).
      engine.submitStep(true);
      engine.destroy();
      return count;
    } finally {
      setFold(true);
    }
  };

  const EVERY: LoraTarget[] = ['c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'];
  const projFoldOff = (on: boolean) => setAttentionProjFold(!on);
  const downRows = (on: boolean) => setSplitSumLoraDownRows(on ? SPLITK_SUM_DOWN_MAX_ROWS : 0);
  // Each fold (a switch whose default takes it) and the dispatches it saves a step, on MID's plan:
  // - LoRA in c_attn's product and the LayerNorm backward: 'auto' splits every c_attn product of this shape; the
  //   shared layer 0's split sum also writes the runs' copies (sum + copy + up-projection → one sum) and layer 1's
  //   takes its up-projection and forms its u (loraRows: −2); 'off': layer 1's whole product takes it (−1), layer 0
  //   keeps its own path. Both: layer 1's du·A in the LayerNorm backward (−1).
  // - split products summed by their readers: attn.c_proj's dO (704 × 128 × 128, in two) by both layers' attention
  //   backward and the LM head's logits (704 × 256 × 128) by the loss: 3 sums fewer. With attn.c_proj adapted, its
  //   du·A adds to dO, which then keeps its sum: only the loss's is saved.
  // - the backward on transposed weights (NN products rather than NT): the same count.
  // - the embedding and layer 0's first LayerNorm in one dispatch (layerNormForwardEmbed).
  // - LoRA's down-projection in the split product's sum: layer 1's u (layer 0's sum stores both runs' copies and
  //   keeps loraRows).
  // - each adapted module's dA in the next one's pair (loraBackwardTriple): all but the last in backward order
  //   (2 layers × c_attn: 1 fewer; every module: 7), and the last with the loss guard (loraReduceGuard: 1 more).
  // - dB and du of the skinny backward in one dispatch: 2 layers × c_attn, and 1 more with layer 1's dA, which
  //   rides in layer 0's pair.
  // - attn.c_proj's product split by heads (MID: H = 2, D = 64) in the attention forward: off by default
  //   (ATTENTION_PROJ_FOLD), so its switch is inverted here: taking it saves 2.
  const FOLDS: [string, LoraTarget[], 'auto' | 'off', (on: boolean) => void, number][] = [
    [
      'LoRA in c_attn’s product and the LayerNorm backward, split-K where it pays',
      ['c_attn'],
      'auto',
      setLoraFold,
      5,
    ],
    [
      'LoRA in c_attn’s product and the LayerNorm backward, no product split',
      ['c_attn'],
      'off',
      setLoraFold,
      2,
    ],
    ['split products summed by their readers, c_attn adapted', ['c_attn'], 'auto', setSplitSumFold, 3],
    [
      'split products summed by their readers, attn.c_proj adapted too',
      ['c_attn', 'attn.c_proj'],
      'auto',
      setSplitSumFold,
      1,
    ],
    ['the backward on transposed weights, c_attn adapted', ['c_attn'], 'auto', setTransposedWeights, 0],
    ['the backward on transposed weights, every module adapted', EVERY, 'auto', setTransposedWeights, 0],
    ['the embedding in the first LayerNorm', ['c_attn'], 'auto', setLayerNormEmbed, 1],
    ['LoRA’s down-projection in the split product’s sum', ['c_attn'], 'auto', downRows, 1],
    ['dA in the next module’s pair, c_attn adapted', ['c_attn'], 'auto', setLoraChain, 2],
    ['dA in the next module’s pair, every module adapted', EVERY, 'auto', setLoraChain, 8],
    ['dB and du of the LoRA backward in one dispatch', ['c_attn'], 'auto', setLoraPair, 3],
    [
      'attn.c_proj’s split product in the attention forward (off by default)',
      ['c_attn'],
      'auto',
      projFoldOff,
      -2,
    ],
  ];
  it.each(FOLDS)(
    '%s: the dispatches a step saves, on the plan',
    async (_what, targets, split, setFold, saved) => {
      const folded = await plannedCount(targets, split, setFold, true);
      const separate = await plannedCount(targets, split, setFold, false);
      expect(separate - folded).toBe(saved);
    },
  );

  // The bits: per targets and split, one step with every fold of FOLDS switched from its default at once against
  // the default (every fold taken), and both steps' dispatch counts against their plans. A fold's own kernel test
  // compares its kernels with the dispatches they replace, bit for bit.
  const GROUPS: [LoraTarget[], 'auto' | 'off'][] = [
    [['c_attn'], 'auto'],
    [['c_attn'], 'off'],
    [['c_attn', 'attn.c_proj'], 'auto'],
    [EVERY, 'auto'],
  ];
  it.each(GROUPS)(
    'every fold switched from its default (%j, split %s): a step’s loss, weights and moments are the default’s, bit for bit',
    async (targets, split) => {
      const folds = FOLDS.filter((f) => f[1].join() === targets.join() && f[2] === split).map((f) => f[3]);
      const setAll = (on: boolean) => folds.forEach((f) => f(on));
      const folded = await trainCounting(targets, split, () => {}, true);
      const separate = await trainCounting(targets, split, setAll, false);
      expect(folded.first).toBe(await plannedCount(targets, split, () => {}, true));
      expect(separate.first).toBe(await plannedCount(targets, split, setAll, false));
      expect(separate.first).not.toBe(folded.first);
      expect(folded.losses[0]).toHaveLength(1);
      expect(folded.losses).toEqual(separate.losses);
      for (const k of ['A', 'B', 'mA', 'vA', 'mB', 'vB', 'state'] as const) {
        expect(
          folded.snapshot[k].some((x) => x !== 0),
          k,
        ).toBe(true);
        expect(separate.snapshot[k], k).toEqual(folded.snapshot[k]);
      }
    },
  );

  it('every frozen-weight product split-K and none split train to the same losses (within 1e-5)', async () => {
    const runs: RunSpec[] = [
      { id: 'adamw@1e-2', optimizer: 'adamw', lr: 1e-2 },
      { id: 'rsgd@1e-1', optimizer: 'riemannian-sgd', lr: 1e-1 },
    ];
    const split = await train(runs, { seq: 13 }, { matmulSplitK: 4 });
    const whole = await train(runs, { seq: 13 }, { matmulSplitK: 'off' });
    expect(split.losses[0]).toHaveLength(5);
    runs.forEach((r, i) => expectAllClose(split.losses[i], whole.losses[i], { rtol: 0, atol: 1e-5 }, r.id));
    for (const x of [split, whole]) x.engine.destroy();
  });
});
