// Causal multi-head self-attention as separate passes (the engine's first attention, restored from
// 74f7e73): the probabilities are a [N, H, T, T] buffer that the forward writes and the backward reads.
// Same contract as the fused kernels of attention.ts (whose float64 references it shares); faster for
// short sequences, O(T²) memory. attention-variant.ts picks between the two.
//   forward  [attentionScores, attentionWeightedSum]   buffers { qkv, out, probs }
//   backward [attentionBackwardScores, attentionBackwardGrads]
//                                                       buffers { qkv, probs, dout, dqkv, dscores }
// `probs` is a forward activation per layer; `dscores` is backward scratch of the same size that all
// layers can share (the backward runs one layer at a time). Both hold attentionProbsSize(shape) floats.
import source from '../../shaders/attention-passes.wgsl?raw';
import { defineKernel, type Kernel } from '../gpu/kernel';
import type { Dispatch, Gpu } from '../gpu/context';
import type { AttentionParam, AttentionShape } from './attention';

export type AttentionPassesForwardBinding = 'qkv' | 'out' | 'probs';
export type AttentionPassesBackwardBinding = 'qkv' | 'probs' | 'dout' | 'dqkv' | 'dscores';
export type AttentionPassesForwardKernel = Kernel<AttentionPassesForwardBinding, AttentionParam>;
export type AttentionPassesBackwardKernel = Kernel<AttentionPassesBackwardBinding, AttentionParam>;

/**
 * Tile constants (WGSL overrides): WX × WY threads, each owning TM × TN outputs; KC = reduction chunk.
 * 32×32 output tiles in 8 KiB of workgroup memory: within WebGPU's guaranteed 16 KiB on every device.
 */
export const ATTENTION_PASSES_TILES = { WX: 16, WY: 16, TM: 2, TN: 2, KC: 16 };
const MAXT = 4;

function tileSizes(c: Record<string, number>): { BM: number; BN: number } {
  const { WX, WY, TM, TN, KC } = c;
  for (const [k, v] of Object.entries({ WX, WY, TM, TN, KC })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`attention passes: tile constant ${k}=${v}`);
  }
  if (TM > MAXT || TN > MAXT) throw new Error(`attention passes: TM, TN must be <= ${MAXT} (register tile)`);
  return { BM: WY * TM, BN: WX * TN };
}

/** (tiles, heads) → dispatch, with heads folded into z past 65535 (the shader decodes y + 65535·z). */
function grid(tiles: number, heads: number): [number, number, number] {
  return [tiles, Math.min(heads, 65535), Math.ceil(heads / 65535)];
}

const forwardBindings = { qkv: 'read', out: 'write', probs: 'write' } as const;
const backwardBindings = {
  qkv: 'read',
  probs: 'read',
  dout: 'read',
  dqkv: 'write',
  dscores: 'write',
} as const;
const params = { N: 'u32', T: 'u32', H: 'u32', D: 'u32' } as const;

/** probs = causal softmax(q kᵀ / sqrt(D)); writes every entry of probs (0 above the diagonal). */
export const attentionScores: AttentionPassesForwardKernel = defineKernel({
  label: 'attentionScores',
  source,
  entryPoint: 'scores',
  bindings: forwardBindings,
  params,
  constants: ATTENTION_PASSES_TILES,
  workgroups: ({ N, T, H }, c) => grid(Math.ceil(T / tileSizes(c).BM), N * H),
});

/** out = probs · v, heads merged back into [N, T, C]. */
export const attentionWeightedSum: AttentionPassesForwardKernel = defineKernel({
  label: 'attentionWeightedSum',
  source,
  entryPoint: 'weightedSum',
  bindings: forwardBindings,
  params,
  constants: ATTENTION_PASSES_TILES,
  workgroups: ({ N, T, H, D }, c) => {
    const { BM, BN } = tileSizes(c);
    return grid(Math.ceil(T / BM) * Math.ceil(D / BN), N * H);
  },
});

/** dscores = P ⊙ (dP − rowsum(P ⊙ dP)), dP = dO vᵀ, on and below the diagonal. */
export const attentionBackwardScores: AttentionPassesBackwardKernel = defineKernel({
  label: 'attentionBackwardScores',
  source,
  entryPoint: 'backwardScores',
  bindings: backwardBindings,
  params,
  constants: ATTENTION_PASSES_TILES,
  workgroups: ({ N, T, H }, c) => grid(Math.ceil(T / tileSizes(c).BM), N * H),
});

/** dq, dk, dv into dqkv (overwritten, every element). Needs attentionBackwardScores first. */
export const attentionBackwardGrads: AttentionPassesBackwardKernel = defineKernel({
  label: 'attentionBackwardGrads',
  source,
  entryPoint: 'backwardGrads',
  bindings: backwardBindings,
  params,
  constants: ATTENTION_PASSES_TILES,
  workgroups: ({ N, T, H, D }, c) => {
    const { BM, BN } = tileSizes(c);
    return grid(3 * Math.ceil(T / BM) * Math.ceil(D / BN), N * H);
  },
});

/** Forward steps in dispatch order; each binds { qkv, out, probs } with params { N, T, H, D }. */
export function attentionPassesForwardSteps(): AttentionPassesForwardKernel[] {
  return [attentionScores, attentionWeightedSum];
}

/** Backward steps in dispatch order; each binds { qkv, probs, dout, dqkv, dscores }. */
export function attentionPassesBackwardSteps(): AttentionPassesBackwardKernel[] {
  return [attentionBackwardScores, attentionBackwardGrads];
}

/** f32 elements of `probs` (per layer) and of the backward scratch `dscores`: [N, H, T, T]. */
export function attentionProbsSize({ N, T, H }: AttentionShape): number {
  return N * H * T * T;
}

/** Prepare the forward steps once; encode the returned dispatches (in order) every step. */
export function prepareAttentionPassesForward(
  gpu: Gpu,
  buffers: Record<AttentionPassesForwardBinding, GPUBuffer>,
  shape: AttentionShape,
  constants: Record<string, number> = {},
): Dispatch<AttentionParam>[] {
  return attentionPassesForwardSteps().map((k) => gpu.prepare(k, buffers, { ...shape }, constants));
}

/** Prepare the backward steps once; `dscores` is scratch of attentionProbsSize(shape) floats. */
export function prepareAttentionPassesBackward(
  gpu: Gpu,
  buffers: Record<AttentionPassesBackwardBinding, GPUBuffer>,
  shape: AttentionShape,
  constants: Record<string, number> = {},
): Dispatch<AttentionParam>[] {
  return attentionPassesBackwardSteps().map((k) => gpu.prepare(k, buffers, { ...shape }, constants));
}
