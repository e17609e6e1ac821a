// Issue #13: a model the user brings (--model, a checkpoint opened in the page) that is not what lab-gpt
// runs gets a clear error naming the problem, never a crash or a half-loaded model.
import { describe, expect, it } from 'vitest';
import { parameterShapes, parseConfig, type LabGptConfig } from '../model/config';
import { loadBaseModel } from './load';
import { OnnxError } from './onnx';
import { SafetensorsError, writeSafetensors, type Tensor } from './safetensors';

const config = {
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  vocab_size: 16,
  n_positions: 8,
  n_embd: 4,
  n_layer: 1,
  n_head: 2,
  n_inner: null,
  activation_function: 'gelu_new',
  layer_norm_epsilon: 1e-5,
  tie_word_embeddings: true,
};
const cfg: LabGptConfig = parseConfig(config);

/** A checkpoint of `cfg`: every parameter, edited, optionally under other names. */
function checkpoint(edit: (t: Map<string, Tensor>) => void = () => {}): Uint8Array {
  const t = new Map<string, Tensor>();
  for (const [name, shape] of parameterShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    t.set(name, { shape, data: Float32Array.from({ length: n }, (_, i) => i / n) });
  }
  edit(t);
  return writeSafetensors(t, { format: 'pt' });
}
const load = (bytes: Uint8Array, json: unknown = config) =>
  loadBaseModel('m', typeof json === 'string' ? json : JSON.stringify(json), bytes, 'safetensors');
const errorOf = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return e as Error;
  }
  throw new Error('accepted');
};

describe('config.json', () => {
  it.each<[string, unknown, string]>([
    ['not an object', [1, 2], 'config.json: expected a JSON object'],
    ['a missing key', { ...config, n_layer: undefined }, 'config.json: n_layer is missing'],
    ['a wrong type', { ...config, n_embd: '4' }, 'config.json: n_embd must be a positive integer (got "4")'],
    ['a fraction', { ...config, n_head: 1.5 }, 'config.json: n_head must be a positive integer (got 1.5)'],
    [
      'another architecture',
      { ...config, model_type: 'llama' },
      'config.json: model_type "llama" is not GPT-2',
    ],
    [
      'another head',
      { ...config, model_type: undefined, architectures: ['LlamaForCausalLM'] },
      'config.json: architectures ["LlamaForCausalLM"] is not GPT-2',
    ],
    [
      'another activation',
      { ...config, activation_function: 'relu' },
      'config.json: activation_function "relu" is not supported',
    ],
    ['another MLP width', { ...config, n_inner: 10 }, 'config.json: n_inner 10 is not supported'],
    [
      'an untied head',
      { ...config, tie_word_embeddings: false },
      'config.json: tie_word_embeddings is false',
    ],
    [
      'an absurd size',
      { ...config, n_layer: 1e9 },
      'config.json: n_layer 1000000000 is larger than this tool handles',
    ],
    [
      'a bad epsilon',
      { ...config, layer_norm_epsilon: 'small' },
      'config.json: layer_norm_epsilon must be a small positive number',
    ],
    [
      'heads not dividing the width',
      { ...config, n_head: 3 },
      'config.json: n_embd 4 is not a multiple of n_head 3',
    ],
  ])('%s', (_, json, message) => {
    expect(errorOf(() => parseConfig(json)).message).toContain(message);
    expect(errorOf(() => load(checkpoint(), json)).message).toContain(`m: ${message}`);
  });
  it('not JSON', () => {
    expect(errorOf(() => load(checkpoint(), '{"n_layer": 1,')).message).toMatch(
      /^m: config\.json is not valid JSON/,
    );
  });
});

describe('weights', () => {
  it('loads a complete checkpoint, ignoring tensors it does not use (of any dtype)', () => {
    const m = load(
      checkpoint((t) => t.set('lm_head.weight', { shape: [16, 4], data: new Float32Array(64) })),
    );
    expect(m.weights.size).toBe(parameterShapes(cfg).size);
  });
  it('reads checkpoints saved from GPT2Model (names without "transformer.")', () => {
    const bare = checkpoint((t) => {
      for (const [k, v] of [...t]) {
        t.delete(k);
        t.set(k.replace(/^transformer\./, ''), v);
      }
    });
    expect(load(bare).weights.get('transformer.h.0.ln_1.weight')).toEqual(
      Float32Array.from({ length: 4 }, (_, i) => i / 4),
    );
  });
  it('names a missing or misshaped weight', () => {
    const missing = checkpoint((t) => t.delete('transformer.h.0.mlp.c_fc.bias'));
    expect(errorOf(() => load(missing)).message).toMatch(
      /^m: missing weight transformer\.h\.0\.mlp\.c_fc\.bias \(the file has 15 weights, e\.g\. .*\): is it a GPT-2 checkpoint\?$/,
    );
    const llama = writeSafetensors(
      new Map([['model.embed_tokens.weight', { shape: [2], data: new Float32Array(2) }]]),
    );
    expect(errorOf(() => load(llama)).message).toBe(
      'm: missing weight transformer.wte.weight (the file has 1 weights, e.g. "model.embed_tokens.weight"): is it a GPT-2 checkpoint?',
    );
    const transposed = checkpoint((t) =>
      t.set('transformer.h.0.attn.c_attn.weight', { shape: [12, 4], data: new Float32Array(48) }),
    );
    expect(errorOf(() => load(transposed)).message).toBe(
      'm: transformer.h.0.attn.c_attn.weight has shape [12, 4], the config needs [4, 12]',
    );
  });
  it('a truncated checkpoint, or garbage given as ONNX', () => {
    const good = checkpoint();
    for (const n of [0, 5, 100, good.length - 1]) {
      expect(errorOf(() => load(good.subarray(0, n)))).toBeInstanceOf(SafetensorsError);
    }
    const garbage = new TextEncoder().encode('not a model at all');
    expect(errorOf(() => loadBaseModel('m', JSON.stringify(config), garbage, 'onnx'))).toBeInstanceOf(
      OnnxError,
    );
  });
});
