// The GPT-2 ONNX graph written from weights: PyTorch's logits for a tokenizer.json checkpoint, the shipped
// lab-gpt-tiny graph's logits for its own weights, and protobuf's 2 GiB limit.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createSession, runLogits } from './generate';
import { loadBaseModel } from './load';
import { loadModelFiles } from './model-files';
import { readOnnxWeights, replaceOnnxWeights } from './onnx';
import { OnnxTooLargeError, writeGpt2Onnx } from './onnx-graph';

const root = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
const fixture = (name: string) => ({
  name: `tiny-gpt2/${name}`,
  bytes: new Uint8Array(readFileSync(root(`src/io/fixtures/tiny-gpt2/${name}`))),
});

const maxAbsDiff = (a: Float32Array, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('writeGpt2Onnx', () => {
  it('computes the logits PyTorch computed for the tiny-gpt2 checkpoint (vocabulary 1000)', async () => {
    const model = loadModelFiles(['config.json', 'model.safetensors', 'tokenizer.json'].map(fixture));
    const onnxBytes = writeGpt2Onnx(model.cfg, model.weights);
    const expected = JSON.parse(readFileSync(root('src/io/fixtures/tiny-gpt2/expected.json'), 'utf8')) as {
      logits: { ids: number[]; logits: number[][] }[];
    };
    const session = await createSession(onnxBytes);
    for (const { ids, logits } of expected.logits) {
      const out = await runLogits(session, [ids], model.cfg.vocab_size);
      expect(out.dims).toEqual([1, ids.length, 1000]);
      expect(maxAbsDiff(out.data, logits.flat())).toBeLessThan(1e-4);
    }
    await session.release();
    // Its initializers are the checkpoint's weights by their Hugging Face names, and can be rewritten.
    const back = readOnnxWeights(onnxBytes);
    expect([...back.get('transformer.h.1.mlp.c_fc.weight')!.data]).toEqual([
      ...model.weights.get('transformer.h.1.mlp.c_fc.weight')!,
    ]);
    const zero = new Float32Array(model.weights.get('transformer.ln_f.bias')!.length);
    const rewritten = replaceOnnxWeights(onnxBytes, new Map([['transformer.ln_f.bias', zero]]));
    expect(readOnnxWeights(rewritten).get('transformer.ln_f.bias')!.data).toEqual(zero);
  });

  it('matches the shipped lab-gpt-tiny graph on its own weights (bytes)', async () => {
    const dir = 'public/models/lab-gpt-tiny';
    const shipped = new Uint8Array(readFileSync(root(`${dir}/model.onnx`)));
    const model = loadBaseModel(
      'lab-gpt-tiny',
      readFileSync(root(`${dir}/config.json`), 'utf8'),
      shipped,
      'onnx',
    );
    const ids = [Array.from(new TextEncoder().encode('The cat sat on the mat, and then'))];
    const a = await createSession(shipped);
    const b = await createSession(writeGpt2Onnx(model.cfg, model.weights));
    const want = await runLogits(a, ids);
    const got = await runLogits(b, ids);
    expect(got.dims).toEqual(want.dims);
    expect(maxAbsDiff(got.data, want.data)).toBeLessThan(1e-4);
    await a.release();
    await b.release();
  });

  it('refuses a model past 2 GiB before building anything', () => {
    // gpt2-large's shape: 774M parameters, 3.1 GB as float32.
    const cfg = {
      n_layer: 36,
      n_head: 20,
      n_embd: 1280,
      n_positions: 1024,
      vocab_size: 50257,
      layer_norm_epsilon: 1e-5,
    };
    expect(() => writeGpt2Onnx(cfg, new Map())).toThrow(OnnxTooLargeError);
    expect(() => writeGpt2Onnx(cfg, new Map())).toThrow(/2\.88 GiB.*at most 2 GiB.*\.safetensors/);
  });
});
