// Tiny models, data and sweeps: the engine self-test (self-test.ts) and the tests run them (SwiftShader: seconds).
import type { LabGptConfig } from '../model/config';
import { randomWeights } from '../model/init';
import { parseDataset } from '../data/dataset';
import { mulberry32 } from '../util/random';
import { DEFAULT_SWEEP, type RunSpec, type SweepConfig } from './config';
import { batchSource } from './batch';

export const TINY: LabGptConfig = {
  n_layer: 2,
  n_head: 2,
  n_embd: 16,
  n_positions: 16,
  vocab_size: 256,
  layer_norm_epsilon: 1e-5,
};

export function tinyWeights(seed = 1) {
  return randomWeights(TINY, seed, 0.2);
}

/** A text of pseudo-English words so the loss is learnable. */
export function tinyText(bytes = 3000, seed = 3): string {
  const rand = mulberry32(seed);
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far', 'away', 'from', 'home'];
  let s = '';
  while (s.length < bytes) s += words[Math.floor(rand() * words.length)] + (rand() < 0.1 ? '.\n' : ' ');
  return s.slice(0, bytes);
}

export function tinySweep(runs: RunSpec[], over: Partial<SweepConfig> = {}): SweepConfig {
  return {
    ...DEFAULT_SWEEP,
    lora: { r: 2, alpha: 4, targets: ['c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] },
    steps: 5,
    batch: 2,
    seq: 8,
    order: 'sequential',
    valFraction: 0,
    valEvery: 0,
    runs,
    ...over,
  };
}

export function tinySource(config: SweepConfig, text = tinyText()) {
  return batchSource(parseDataset('tiny.txt', text), config);
}
