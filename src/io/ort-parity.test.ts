// The shipped ONNX graphs in onnxruntime-web against the engine's forward pass on the same weights:
// base models, and a merged adapter (W0 + s·(BA)ᵀ written into the initializers) against base + LoRA.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web/wasm';
import { loadBaseModel } from './load';
import { SweepEngine } from '../train/sweep';
import { tinySource, tinySweep, tinyText } from '../train/tiny-sweep';
import { testGpu } from '../test/gpu';
import { randn } from '../util/random';
import { loraLayout } from '../model/lora-layout';
import { initLora } from '../model/init';
import { mergedWeights } from './merge';
import { replaceOnnxWeights } from './onnx';
import { expectAllClose } from '../test/close';
import { encodeBytes } from '../data/dataset';

ort.env.wasm.numThreads = 1;

async function ortLogits(
  onnx: Uint8Array,
  tokens: Uint32Array,
  Bt: number,
  T: number,
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnx);
  const ids = new ort.Tensor(
    'int64',
    BigInt64Array.from(tokens, (t) => BigInt(t)),
    [Bt, T],
  );
  const out = await session.run({ input_ids: ids });
  const logits = out.logits ?? out[session.outputNames[0]];
  expect(logits.dims).toEqual([Bt, T, 256]);
  return logits.data as Float32Array;
}

function load(name: string) {
  const onnx = new Uint8Array(readFileSync(`public/models/${name}/model.onnx`));
  const config = readFileSync(`public/models/${name}/config.json`, 'utf8');
  return { onnx, model: loadBaseModel(name, config, onnx, 'onnx') };
}

describe.each(['lab-gpt-tiny', 'lab-gpt'])('%s: onnxruntime-web and the engine agree', (name) => {
  const { onnx, model } = load(name);
  const Bt = 2;
  const T = 24;
  const text = encodeBytes('The quick brown fox jumps over the lazy dog; and then, quietly, it slept.');
  const tokens = Uint32Array.from({ length: Bt * T }, (_, i) => text[i % text.length]);
  const batch = {
    Bt,
    T,
    tokens,
    targets: tokens,
    mask: new Float32Array(Bt * T).fill(1),
    maskSum: Bt * T,
    starts: [0, T],
  };

  async function engineLogits(
    B?: Float32Array,
  ): Promise<{ logits: Float32Array; A: Float32Array; B: Float32Array; engine: SweepEngine }> {
    const gpu = await testGpu();
    const config = tinySweep([{ id: 'x', optimizer: 'adamw', lr: 1e-3 }], {
      batch: Bt,
      seq: T,
      lora: { r: 4, alpha: 8, targets: ['c_attn', 'mlp.c_fc'] },
    });
    const layout = loraLayout(model.cfg, config.lora);
    const A = initLora(layout, 3).A;
    const init = { A, B: B ?? new Float32Array(layout.SB) };
    const engine = new SweepEngine(
      gpu,
      model.cfg,
      model.weights,
      config,
      tinySource(config, tinyText(200)),
      init,
    );
    return { logits: await engine.logits(batch), A, B: init.B, engine };
  }

  it('base model logits within 1e-4', async () => {
    const { logits, engine } = await engineLogits();
    const want = await ortLogits(onnx, tokens, Bt, T);
    expectAllClose(logits, want, { rtol: 1e-4, atol: 1e-4 }, `${name} logits`);
    engine.destroy();
  });

  it('a merged adapter run by onnxruntime-web equals base + LoRA in the engine', async () => {
    const layout = loraLayout(model.cfg, { r: 4, alpha: 8, targets: ['c_attn', 'mlp.c_fc'] });
    const { logits, A, B, engine } = await engineLogits(randn(layout.SB, 21, 0.05));
    const merged = replaceOnnxWeights(onnx, mergedWeights(model.weights, layout, A, B));
    const want = await ortLogits(merged, tokens, Bt, T);
    const base = await ortLogits(onnx, tokens, Bt, T);
    // The adapter changes the logits well beyond the tolerance, so the comparison means something.
    expect(Math.max(...want.map((v, i) => Math.abs(v - base[i])))).toBeGreaterThan(1e-2);
    expectAllClose(logits, want, { rtol: 1e-4, atol: 1e-4 }, `${name} merged logits`);
    engine.destroy();
  });
});
