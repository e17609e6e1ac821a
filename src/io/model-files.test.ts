import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModelFiles, ModelFilesError, shapeName, type ModelFile } from './model-files';

const dir = new URL('./fixtures/tiny-gpt2/', import.meta.url);
const file = (name: string, as = name): ModelFile => ({
  name: `tiny-gpt2/${as}`,
  bytes: new Uint8Array(readFileSync(new URL(name, dir))),
});
const three = () => [file('config.json'), file('model.safetensors'), file('tokenizer.json')];

describe('loadModelFiles (a GPT-2 checkpoint from a Hugging Face repository folder)', () => {
  it('loads config.json + model.safetensors + tokenizer.json', () => {
    const m = loadModelFiles(three());
    expect(m.name).toBe('tiny-gpt2');
    expect(m.nameSource).toBe('folder');
    expect(m.cfg).toMatchObject({ n_layer: 2, n_embd: 64, n_head: 4, vocab_size: 1000, n_positions: 128 });
    expect(m.tokenizer.kind).toBe('tokenizer.json');
    expect(m.tokenizer.vocabSize).toBe(1000);
    expect(m.dtype).toBe('F32');
    // wte + wpe + 2 blocks (12·C² + 13·C) + ln_f
    const C = 64;
    expect(m.parameters).toBe(1000 * C + 128 * C + 2 * (12 * C * C + 13 * C) + 2 * C);
  });

  it.each(['model-f16.safetensors', 'model-bf16.safetensors'])(
    'reads %s (converted to float32) close to the float32 weights',
    (half) => {
      const f32 = loadModelFiles(three());
      const h = loadModelFiles([
        file('config.json'),
        file(half, 'model.safetensors'),
        file('tokenizer.json'),
      ]);
      expect(h.dtype).toBe(half.includes('bf16') ? 'BF16' : 'F16');
      const rel = half.includes('bf16') ? 2 ** -8 : 2 ** -11;
      let worst = 0; // largest |half − f32| beyond the rounding bound; must be 0
      let n = 0;
      for (const [k, w] of f32.weights) {
        const v = h.weights.get(k)!;
        for (let i = 0; i < w.length; i++, n++)
          worst = Math.max(worst, Math.abs(v[i] - w[i]) - (rel * Math.abs(w[i]) + 1e-7));
      }
      expect(n).toBe(f32.parameters);
      expect(worst).toBeLessThanOrEqual(0);
    },
  );

  it('names the model by a hub id in _name_or_path', () => {
    const cfg = JSON.parse(readFileSync(new URL('config.json', dir), 'utf8'));
    const named = {
      name: 'config.json',
      bytes: new TextEncoder().encode(JSON.stringify({ ...cfg, _name_or_path: 'openai-community/gpt2' })),
    };
    expect(loadModelFiles([named, file('model.safetensors'), file('tokenizer.json')]).name).toBe(
      'openai-community/gpt2',
    );
    const local = {
      name: 'config.json',
      bytes: new TextEncoder().encode(JSON.stringify({ ...cfg, _name_or_path: '/home/me/models/x' })),
    };
    expect(loadModelFiles([local, file('model.safetensors'), file('tokenizer.json')], 'mine').name).toBe(
      'mine',
    );
  });

  it('names files chosen without a folder after the shape in config.json', () => {
    const bare = ['config.json', 'model.safetensors', 'tokenizer.json'].map((n) => ({
      ...file(n),
      name: n,
    }));
    const m = loadModelFiles(bare);
    expect(m.name).toBe('gpt2-2x64-v1000');
    expect(m.nameSource).toBe('config');
    const small = { n_layer: 12, n_head: 12, n_embd: 768, n_positions: 1024, layer_norm_epsilon: 1e-5 };
    expect(shapeName({ ...small, vocab_size: 50257 })).toBe('gpt2-12x768');
    expect(shapeName({ ...small, vocab_size: 50304 })).toBe('gpt2-12x768-v50304');
  });

  it('says why for files it cannot use', () => {
    const [config, weights, tok] = three();
    const bin = { name: 'pytorch_model.bin', bytes: new Uint8Array(8) };
    expect(() => loadModelFiles([config, bin, tok])).toThrow(
      /only pytorch_model.bin .*Convert it with transformers/,
    );
    expect(() => loadModelFiles([config, tok])).toThrow(/model.safetensors is missing/);
    expect(() => loadModelFiles([weights, tok])).toThrow(/config.json is missing/);
    expect(() => loadModelFiles([config, weights])).toThrow(/tokenizer.json is missing/);
    const vm = [
      { name: 'vocab.json', bytes: new Uint8Array(2) },
      { name: 'merges.txt', bytes: new Uint8Array(2) },
    ];
    expect(() => loadModelFiles([config, weights, ...vm])).toThrow(/older form.*AutoTokenizer/);
    const shard = { name: 'model-00001-of-00002.safetensors', bytes: new Uint8Array(8) };
    expect(() => loadModelFiles([config, shard, tok])).toThrow(/several safetensors shards/);
    const llama = {
      name: 'config.json',
      bytes: new TextEncoder().encode('{"model_type":"llama","n_layer":1,"n_head":1,"n_embd":8}'),
    };
    expect(() => loadModelFiles([llama, weights, tok])).toThrow(/"llama" is not GPT-2/);
    const badTok = { name: 'tokenizer.json', bytes: new TextEncoder().encode('{"model":{"type":"Magic"}}') };
    expect(() => loadModelFiles([config, weights, badTok])).toThrow(ModelFilesError);
    // a truncated weights file
    const cut = { name: 'model.safetensors', bytes: weights.bytes.subarray(0, 5000) };
    expect(() => loadModelFiles([config, cut, tok])).toThrow(ModelFilesError);
  });
});
