import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModelFiles, type ModelFile } from '../io/model-files';
import { describeModel, modelFingerprint, SAMPLE_STRIDE } from './fingerprint';
import type { Weights } from './config';

const dir = new URL('../io/fixtures/tiny-gpt2/', import.meta.url);
const file = (name: string): ModelFile => ({
  name: `tiny-gpt2/${name}`,
  bytes: new Uint8Array(readFileSync(new URL(name, dir))),
});
const tiny = () => loadModelFiles(['config.json', 'model.safetensors', 'tokenizer.json'].map(file));
const copy = (w: Weights): Weights => new Map([...w].map(([k, v]) => [k, v.slice()]));

describe('modelFingerprint', () => {
  it('is 16 hex digits, the same for the same model loaded twice', () => {
    const a = tiny();
    const fp = modelFingerprint(a.cfg, a.weights);
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(modelFingerprint(tiny().cfg, tiny().weights)).toBe(fp);
    expect(describeModel('tiny-gpt2', fp)).toBe(`'tiny-gpt2' (${fp.slice(0, 8)})`);
  });

  it('changes with one sampled weight, a tensor’s last weight, or a config field', () => {
    const m = tiny();
    const fp = modelFingerprint(m.cfg, m.weights);
    const key = 'transformer.h.1.mlp.c_proj.weight';
    const changed = (i: number) => {
      const w = copy(m.weights);
      w.get(key)![i] += 1e-3;
      return modelFingerprint(m.cfg, w);
    };
    expect(changed(0)).not.toBe(fp);
    expect(changed(SAMPLE_STRIDE * 3)).not.toBe(fp);
    expect(changed(m.weights.get(key)!.length - 1)).not.toBe(fp);
    // A sample: a weight between two sampled ones is not seen (documented in fingerprint.ts).
    expect(changed(1)).toBe(fp);
    expect(modelFingerprint({ ...m.cfg, layer_norm_epsilon: 1e-6 }, m.weights)).not.toBe(fp);
    expect(modelFingerprint({ ...m.cfg, n_positions: 64 }, m.weights)).not.toBe(fp);
  });

  it('hashes the tiny fixture in milliseconds', () => {
    const m = tiny();
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) modelFingerprint(m.cfg, m.weights);
    expect((performance.now() - t0) / 10).toBeLessThan(20);
  });
});
