// A Hugging Face GPT-2 checkpoint (src/io/fixtures/tiny-gpt2: a random GPT2LMHeadModel saved by
// transformers, vocabulary 1000) through the GPU engine: its logits against PyTorch's and the float64
// model's, and training against the float64 reference, with the LM head in one chunk and in several, and
// with wte whole and split in pieces of vocabulary rows (as past a device's binding limit).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModelFiles, type ModelFile } from '../io/model-files';
import { SweepEngine } from '../train/sweep';
import { tinySource, tinySweep, tinyText } from '../train/tiny-sweep';
import type { RunSpec } from '../train/config';
import type { Batch } from '../train/batch';
import { testGpu } from '../test/gpu';
import { expectAllClose } from '../test/close';
import { referenceSweepLosses, trainSweep } from '../test/sweep';
import { loraLayout } from './lora-layout';
import { referenceLoss } from './reference';

const dir = new URL('../io/fixtures/tiny-gpt2/', import.meta.url);
const file = (name: string): ModelFile => ({
  name: `tiny-gpt2/${name}`,
  bytes: new Uint8Array(readFileSync(new URL(name, dir))),
});
const model = loadModelFiles([file('config.json'), file('model.safetensors'), file('tokenizer.json')]);
const { cfg, weights } = model;
/** PyTorch's float32 logits of two token windows, from the script that wrote the fixture. */
const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as {
  logits: { ids: number[]; logits: number[][] }[];
};
/** Bytes of one vocabulary row of wte (n_embd = 64 floats). */
const ROW_BYTES = 64 * 4;

describe('tiny-gpt2 (a transformers GPT2LMHeadModel, vocabulary 1000) on the GPU', () => {
  it('is the fixture this test means', () => {
    expect(cfg).toMatchObject({ vocab_size: 1000, n_embd: 64, n_layer: 2, n_head: 4, n_positions: 128 });
  });

  // Both sides float32, summing in different orders over K ≤ 256 terms; the logits are below 1 in size.
  // Measured: 2.3e-7 at most from PyTorch and from the float64 model. A wrong row or chunk offset
  // errs by the logits' own size (0.1–0.8).
  // wte is [1000, 64] floats: 256 bytes a row. A piece bound of 300 rows gives pieces of 256 (whole matmul
  // tiles: 1000 = 3·256 + 232); 90 rows are under one tile, so pieces of 90 (1000 = 11·90 + 10).
  it.each([
    ['one chunk', undefined, undefined, 1],
    ['chunks of 5 rows (16 = 5 + 5 + 5 + 1)', 5, undefined, 1],
    ['wte in 4 pieces of 256 rows', undefined, 300 * ROW_BYTES, 4],
    ['wte in 12 pieces of 90 rows, chunks of 5 rows', 5, 90 * ROW_BYTES, 12],
  ])(
    'forward logits equal PyTorch’s and the float64 model’s within 1e-4 (%s)',
    async (_, chunkRows, wtePieceBytes, pieces) => {
      const gpu = await testGpu();
      for (const { ids, logits } of expected.logits) {
        const T = ids.length;
        const config = tinySweep([{ id: 'x', optimizer: 'adamw', lr: 1e-3 }], { batch: 1, seq: T });
        const engine = new SweepEngine(gpu, cfg, weights, config, tinySource(config), undefined, {
          lmHeadChunkRows: chunkRows,
          wtePieceBytes,
        });
        expect(engine.lmHead.chunks).toBe(chunkRows ? Math.ceil(T / chunkRows) : 1);
        expect(engine.wtePieces).toBe(pieces);
        const tokens = Uint32Array.from(ids);
        const batch: Batch = {
          Bt: 1,
          T,
          tokens,
          targets: tokens,
          mask: new Float32Array(T).fill(1),
          maskSum: T,
          starts: [0],
        };
        const got = await engine.logits(batch);
        expectAllClose(got, logits.flat(), { rtol: 0, atol: 1e-4 }, `logits of ${T} tokens vs PyTorch`);
        const layout = loraLayout(cfg, config.lora);
        const ref = referenceLoss(cfg, weights, layout, engine.initial.A, engine.initial.B, batch, {
          backward: false,
          logits: true,
        });
        expectAllClose(got, ref.logits!, { rtol: 0, atol: 1e-5 }, `logits of ${T} tokens vs float64`);
        engine.destroy();
      }
    },
  );

  const runs: RunSpec[] = [
    { id: 'sgd', optimizer: 'sgd', lr: 2 },
    { id: 'riemannian-sgd', optimizer: 'riemannian-sgd', lr: 0.2 },
    { id: 'adamw', optimizer: 'adamw', lr: 1e-2 },
    { id: 'riemannian-adamw', optimizer: 'riemannian-adamw', lr: 1e-2 },
    { id: 'loraplus-adamw', optimizer: 'loraplus-adamw', lr: 2e-3 },
  ];
  // R = 5 runs of Bt·T = 2·8 = 16 rows: 80 rows; chunks of 23 rows cross run boundaries and leave 11.
  const config = tinySweep(runs, { batch: 2, seq: 8, valFraction: 0.2, valBatches: 2 });
  const source = tinySource(config, tinyText(4000));
  const want = referenceSweepLosses(cfg, weights, config, source);

  it.each([
    // Chunks alone are the forward logits' case above; here with wte's pieces (the backward through both).
    ['one chunk', undefined, 1, undefined, 1],
    ['chunks of 23 rows, wte in 4 pieces of 256 rows', 23, 4, 300 * ROW_BYTES, 4],
  ])(
    '5 steps of every optimizer in one lockstep sweep give the float64 model’s losses within 1e-4 relative (%s)',
    async (_, chunkRows, chunks, wtePieceBytes, pieces) => {
      const { losses, engine } = await trainSweep(cfg, weights, config, source, {
        lmHeadChunkRows: chunkRows,
        wtePieceBytes,
      });
      expect(engine.lmHead).toEqual({ chunkRows: chunkRows ?? 80, chunks });
      expect(engine.wtePieces).toBe(pieces);
      runs.forEach((r, i) => {
        expect(losses[i]).toHaveLength(5);
        // The runs move: a comparison of losses that stayed put would prove little.
        expect(Math.abs(want[i][4] - want[i][0])).toBeGreaterThan(1e-3);
        expectAllClose(losses[i], want[i], { rtol: 1e-4, atol: 0 }, r.id);
      });
      engine.destroy();
    },
  );

  it('the validation loss goes through the same chunks and equals the float64 model’s', async () => {
    const gpu = await testGpu();
    const engine = new SweepEngine(gpu, cfg, weights, config, source, undefined, { lmHeadChunkRows: 23 });
    const batches = source.validation();
    expect(batches.length).toBeGreaterThan(0);
    const got = await engine.validate();
    const layout = loraLayout(cfg, config.lora);
    let sum = 0;
    let count = 0;
    for (const b of batches) {
      const ref = referenceLoss(cfg, weights, layout, engine.initial.A, engine.initial.B, b, {
        backward: false,
      });
      sum += ref.loss * b.maskSum;
      count += b.maskSum;
    }
    expectAllClose(
      got!,
      runs.map(() => sum / count),
      { rtol: 1e-5, atol: 0 },
      'validation loss',
    );
    engine.destroy();
  });
});
