// Where every adapter of a model lives inside the concatenated LoRA buffers loraA [R, SA] and loraB [R, SB].
import type { LabGptConfig } from './config';

export type LoraTarget = 'c_attn' | 'attn.c_proj' | 'mlp.c_fc' | 'mlp.c_proj';
export const LORA_TARGETS: readonly LoraTarget[] = ['c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'];

export interface LoraConfig {
  r: number;
  alpha: number;
  targets: LoraTarget[];
}

export interface Adapter {
  layer: number;
  target: LoraTarget;
  /** HF module path, e.g. transformer.h.0.attn.c_attn */
  module: string;
  inDim: number;
  outDim: number;
  /** Offset of A [r, in] inside one run's slice of loraA. */
  offA: number;
  /** Offset of B [out, r] inside one run's slice of loraB. */
  offB: number;
}

export interface LoraLayout {
  r: number;
  alpha: number;
  scale: number;
  targets: LoraTarget[];
  adapters: Adapter[];
  /** Elements of loraA per run. */
  SA: number;
  /** Elements of loraB per run. */
  SB: number;
}

export function targetDims(cfg: LabGptConfig, target: LoraTarget): { inDim: number; outDim: number } {
  const C = cfg.n_embd;
  switch (target) {
    case 'c_attn':
      return { inDim: C, outDim: 3 * C };
    case 'attn.c_proj':
      return { inDim: C, outDim: C };
    case 'mlp.c_fc':
      return { inDim: C, outDim: 4 * C };
    case 'mlp.c_proj':
      return { inDim: 4 * C, outDim: C };
  }
}

export function modulePath(layer: number, target: LoraTarget): string {
  const sub = target === 'c_attn' ? 'attn.c_attn' : target;
  return `transformer.h.${layer}.${sub}`;
}

/** Parse a comma list of targets ("c_attn,mlp.c_fc"); "c_proj" alone is ambiguous and rejected. */
export function parseTargets(list: string): LoraTarget[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new Error('no LoRA targets given');
  for (const n of names) {
    if (!LORA_TARGETS.includes(n as LoraTarget)) {
      throw new Error(`unknown LoRA target '${n}' (choose from ${LORA_TARGETS.join(', ')})`);
    }
  }
  return [...new Set(names)] as LoraTarget[];
}

/** Adapters in layer order, and within a layer in LORA_TARGETS order (the forward's order). */
export function loraLayout(cfg: LabGptConfig, lora: LoraConfig): LoraLayout {
  if (!Number.isInteger(lora.r) || lora.r < 1 || lora.r > 64)
    throw new Error(`LoRA rank must be an integer in 1..64 (got ${lora.r})`);
  const adapters: Adapter[] = [];
  let SA = 0;
  let SB = 0;
  for (let layer = 0; layer < cfg.n_layer; layer++) {
    for (const target of LORA_TARGETS) {
      if (!lora.targets.includes(target)) continue;
      const { inDim, outDim } = targetDims(cfg, target);
      adapters.push({ layer, target, module: modulePath(layer, target), inDim, outDim, offA: SA, offB: SB });
      SA += lora.r * inDim;
      SB += outDim * lora.r;
    }
  }
  return {
    r: lora.r,
    alpha: lora.alpha,
    scale: lora.alpha / lora.r,
    targets: lora.targets,
    adapters,
    SA,
    SB,
  };
}

export function findAdapter(layout: LoraLayout, layer: number, target: LoraTarget): Adapter | undefined {
  return layout.adapters.find((a) => a.layer === layer && a.target === target);
}
