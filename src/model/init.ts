// Seeded initialisation: PEFT's LoRA init (identical for every run of a sweep) and random base weights for tests.
import { mulberry32, randn } from '../util/random';
import { parameterShapes, type LabGptConfig, type Weights } from './config';
import type { LoraLayout } from './lora-layout';

/** A ~ Kaiming-uniform(a=√5) over fan-in = in, i.e. U(−1/√in, 1/√in); B = 0 (PEFT's default). One run's slice. */
export function initLora(layout: LoraLayout, seed: number): { A: Float32Array; B: Float32Array } {
  const rand = mulberry32(seed ^ 0x10a4);
  const A = new Float32Array(layout.SA);
  for (const ad of layout.adapters) {
    const bound = 1 / Math.sqrt(ad.inDim);
    for (let i = 0; i < layout.r * ad.inDim; i++) A[ad.offA + i] = (2 * rand() - 1) * bound;
  }
  return { A, B: new Float32Array(layout.SB) };
}

/** Random base weights in GPT-2's init style (N(0, 0.02), LN = 1/0), for tests and a fresh model. */
export function randomWeights(cfg: LabGptConfig, seed: number, std = 0.02): Weights {
  const w: Weights = new Map();
  let k = 0;
  for (const [name, shape] of parameterShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (/ln_\d\.weight|ln_f\.weight/.test(name)) w.set(name, new Float32Array(n).fill(1));
    else if (/ln_\d\.bias|ln_f\.bias/.test(name)) w.set(name, new Float32Array(n));
    else w.set(name, randn(n, seed * 1000 + k, name.endsWith('.bias') ? std / 2 : std));
    k++;
  }
  return w;
}
