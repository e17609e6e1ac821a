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
  // Every fold on (the default) is the same run for each fold's test of the same targets and split: train it once.
  const foldedRuns = new Map<string, Promise<FoldRun>>();
  const expectSameSteps = async (
    targets: LoraTarget[],
    matmulSplitK: 'auto' | 'off',
    setFold: (on: boolean) => void,
    saved: number,
  ) => {
    const key = `${targets.join()}|${matmulSplitK}`;
    if (!foldedRuns.has(key))
      foldedRuns.set(
        key,
        trainCounting(targets, matmulSplitK, () => {}, true),
      );
    const folded = await foldedRuns.get(key)!;
    const separate = await trainCounting(targets, matmulSplitK, setFold, false);
    expect(separate.first - folded.first).toBe(saved);
    expect(folded.losses[0]).toHaveLength(1);
    expect(folded.losses).toEqual(separate.losses);
    for (const k of ['A', 'B', 'mA', 'vA', 'mB', 'vB', 'state'] as const) {
      expect(
        folded.snapshot[k].some((x) => x !== 0),
        k,
      ).toBe(true);
      expect(separate.snapshot[k], k).toEqual(folded.snapshot[k]);
    }
  };

  // Dispatches saved per step: 'auto' splits every c_attn product of this shape; the shared layer 0's
  // split sum also writes the runs' copies (sum + copy + up-projection → one sum) and layer 1's takes its
  // up-projection and forms its u (loraRows: −2); 'off': layer 1's whole product takes it (−1), layer 0 keeps its
  // own path. Both: layer 1's du·A in the LayerNorm backward (−1).
  it.each([['split-K where it pays', 'auto', 5] as const, ['no product split', 'off', 2] as const])(
    'LoRA folded into c_attn’s product and the LayerNorm backward: a step’s loss, weights and moments are the unfolded ones, bit for bit (%s)',
    async (_what, matmulSplitK, saved) => {
      await expectSameSteps(['c_attn'], matmulSplitK, setLoraFold, saved);
    },
  );

  // Split in two ('auto'), attn.c_proj's dO (704 × 128 × 128) is summed by both layers' attention backward and
  // the LM head's logits (704 × 256 × 128) by the loss: 3 sums fewer. With attn.c_proj adapted, its du·A adds
  // to dO, which then keeps its sum: only the loss's is saved.
  it.each([
    ['c_attn adapted', ['c_attn'], 3] as const,
    ['attn.c_proj adapted too', ['c_attn', 'attn.c_proj'], 1] as const,
  ])(
    'split products summed by their readers: a step’s loss, weights and moments are those of the sum dispatches, bit for bit (%s)',
    async (_what, targets, saved) => {
      await expectSameSteps([...targets], 'auto', setSplitSumFold, saved);
    },
  );

  // dx = dy·Wᵀ from the transposed copies (NN) or from W (NT): every backward product of a frozen weight
  // (c_attn's and c_fc's split partials, the c_proj products with and without LoRA, attn.c_proj's dO parts).
  it.each([
    ['c_attn adapted', ['c_attn']] as const,
    ['every module adapted', ['c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']] as const,
  ])(
    'the backward on transposed weights: a step’s loss, weights and moments are those of the NT products, bit for bit (%s)',
    async (_w, targets) => {
      await expectSameSteps([...targets], 'auto', setTransposedWeights, 0);
    },
  );

  // attn.c_proj's product split in two (MID: H = 2, D = 64, so the chunks are the heads) in the attention forward
  // of each layer (attentionForwardProj): one dispatch fewer per layer. Off by default (ATTENTION_PROJ_FOLD), so
  // here the default run is the one with the product's own dispatches (2 more).
  it('attn.c_proj’s split product in the attention forward: a step’s loss, weights and moments are those of its own dispatch, bit for bit', async () => {
    await expectSameSteps(['c_attn'], 'auto', (on) => setAttentionProjFold(!on), -2);
  });

  // The embedding and layer 0's first LayerNorm in one dispatch (layerNormForwardEmbed).
  it('the embedding in the first LayerNorm: a step’s loss, weights and moments are those of two dispatches, bit for bit', async () => {
    await expectSameSteps(['c_attn'], 'auto', setLayerNormEmbed, 1);
  });

  // The split c_attn product of layer 1 (704 rows of both runs, split in two) forms its u in its sum: loraRows
  // once fewer (layer 0's sum stores both runs' copies and keeps loraRows).
  it('LoRA’s down-projection in the split product’s sum: a step’s loss, weights and moments are those of loraRows, bit for bit', async () => {
    await expectSameSteps(
      ['c_attn'],
      'auto',
      (on) => setSplitSumLoraDownRows(on ? SPLITK_SUM_DOWN_MAX_ROWS : 0),
      1,
    );
  });

  // Each adapted module's dA in the next one's pair (loraBackwardTriple; du in two buffers by turns): all but the
  // last in backward order (2 layers × c_attn: 1 fewer; every module: 7), and the last with the loss guard
  // (loraReduceGuard, which takes the chain's end: 1 more).
  it.each([
    ['c_attn adapted', ['c_attn'], 2] as const,
    ['every module adapted', ['c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'], 8] as const,
  ])(
    'dA in the next module’s pair: a step’s loss, weights and moments are those of its own dispatch, bit for bit (%s)',
    async (_w, targets, saved) => {
      await expectSameSteps([...targets], 'auto', setLoraChain, saved);
    },
  );

  // Each adapted module's skinny backward: dB and du in one dispatch (2 layers × c_attn: 2 fewer, and 1 more with
  // layer 1's dA, which rides in layer 0's pair).
  it('dB and du of the LoRA backward in one dispatch: a step’s loss, weights and moments are those of two, bit for bit', async () => {
    await expectSameSteps(['c_attn'], 'auto', setLoraPair, 3);
  });

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
