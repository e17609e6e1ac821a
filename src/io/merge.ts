// Merge a LoRA adapter into the base weights: W = W0 + s·(B A)ᵀ in GPT-2's Conv1D layout [in, out]; and
// the merged model as a Hugging Face checkpoint (model.safetensors).
import { parameterShapes, type LabGptConfig, type Weights } from '../model/config';
import type { LoraLayout } from '../model/lora-layout';
import { writeSafetensors, type Tensor } from './safetensors';

/** The merged weight of every adapted module, by its state_dict name (`...weight`). */
export function mergedWeights(
  base: Weights,
  layout: LoraLayout,
  A: Float32Array,
  B: Float32Array,
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const { r, scale } = layout;
  for (const ad of layout.adapters) {
    const name = `${ad.module}.weight`;
    const W0 = base.get(name);
    if (!W0) throw new Error(`merge: the base model has no ${name}`);
    const W = Float32Array.from(W0);
    const I = ad.inDim;
    const O = ad.outDim;
    for (let i = 0; i < I; i++) {
      for (let o = 0; o < O; o++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += B[ad.offB + o * r + k] * A[ad.offA + k * I + i];
        W[i * O + o] += scale * acc;
      }
    }
    out.set(name, W);
  }
  return out;
}

/** Every base weight, the adapted ones replaced by W0 + s·(B A)ᵀ (the others shared, not copied). */
export function mergedModelWeights(
  base: Weights,
  layout: LoraLayout,
  A: Float32Array,
  B: Float32Array,
): Weights {
  const out: Weights = new Map(base);
  for (const [name, w] of mergedWeights(base, layout, A, B)) out.set(name, w);
  return out;
}

/**
 * A GPT2LMHeadModel checkpoint as `save_pretrained` writes it: float32 tensors under Hugging Face names,
 * the tied LM head left out, metadata {"format": "pt"} (transformers refuses a file without it).
 */
export function gpt2Safetensors(cfg: LabGptConfig, weights: Weights): Uint8Array {
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of parameterShapes(cfg)) {
    const data = weights.get(name);
    if (!data) throw new Error(`merge: the weights have no ${name}`);
    tensors.set(name, { shape, data });
  }
  return writeSafetensors(tensors, { format: 'pt' });
}
