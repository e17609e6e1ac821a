// Causal multi-head self-attention as separate passes (the engine's first attention, restored from
// 74f7e73): the probabilities are a [N, H, T, T] buffer that the forward writes and the backward reads.
// Same contract as the fused kernels of attention.ts (whose float64 references it shares); faster for
// short sequences, O(T²) memory. attention-variant.ts picks between the two.
//   forward  [attentionScores, attentionWeightedSum]   buffers { qkv, out, probs }
//   backward [attentionBackwardScores, attentionBackwardGrads]
//                                                       buffers { qkv, probs, dout, dqkv, dscores }
// `probs` is a forward activation per layer; `dscores` is backward scratch of the same size that all
// layers can share (the backward runs one layer at a time). Both hold attentionProbsSize(shape) floats.
// 'passes-recompute' (attention-variant.ts) shares `probs` across layers too: its backward runs
// prepareAttentionPassesRecompute (attentionScores alone, same tiles) before the backward steps.
import source from '../../shaders/attention-passes.wgsl?raw';
import { defineKernel, type Kernel, type KernelSpec } from '../gpu/kernel';
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

/**
 * The tiles the model runs (pickAttentionPassesTiles), from the H200 sweep of 14 candidates at lab-gpt's
 * shapes (bench `attention-passes-tiles`, bench/RESULTS.md 2026-11-30 16:55 UTC), one layer forward +
 * backward: with ≥ 512 row blocks of 64 (N = 64, T = 128, H = 4) 64×64 tiles with KC 8 took 0.295 ms against
 * 0.366 ms for the 32×32 default; with few blocks (N = 8) they starve the GPU (0.113 ms) and 32×64 tiles
 * were fastest (0.085 ms against 0.091). Both stay within 12 KiB of workgroup memory.
 */
export const ATTENTION_PASSES_TILES_WIDE = { WX: 16, WY: 16, TM: 4, TN: 4, KC: 8 };
export const ATTENTION_PASSES_TILES_NARROW = { WX: 16, WY: 16, TM: 2, TN: 4, KC: 16 };

/** 64×64 tiles once there are at least 512 blocks of 64 query rows to spread over the GPU, else 32×64. */
export function pickAttentionPassesTiles({ N, T, H }: AttentionShape): Record<string, number> {
  return N * H * Math.ceil(T / 64) >= 512 ? ATTENTION_PASSES_TILES_WIDE : ATTENTION_PASSES_TILES_NARROW;
}

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

type Workgroups = KernelSpec<string, AttentionParam>['workgroups'];

/** One workgroup per BM query rows of each (sequence, head). */
const rowBlocks: Workgroups = ({ N, T, H }, c) => grid(Math.ceil(T / tileSizes(c).BM), N * H);

/** One workgroup per BM × BN tile of `outputs` [T, D] outputs of each (sequence, head). */
const outputTiles =
  (outputs: number): Workgroups =>
  ({ N, T, H, D }, c) => {
    const { BM, BN } = tileSizes(c);
    return grid(outputs * Math.ceil(T / BM) * Math.ceil(D / BN), N * H);
  };

/** One entry point of attention-passes.wgsl; all four share the source, the params and the tiles. */
function pass<B extends string>(
  label: string,
  entryPoint: string,
  bindings: Record<B, 'read' | 'write'>,
  workgroups: Workgroups,
): Kernel<B, AttentionParam> {
  return defineKernel({
    label,
    source,
    entryPoint,
    bindings,
    params,
    constants: ATTENTION_PASSES_TILES,
    workgroups,
  });
}

/** probs = causal softmax(q kᵀ / sqrt(D)); writes every entry of probs (0 above the diagonal). */
export const attentionScores: AttentionPassesForwardKernel = pass(
  'attentionScores',
  'scores',
  forwardBindings,
  rowBlocks,
);

/** out = probs · v, heads merged back into [N, T, C]. */
export const attentionWeightedSum: AttentionPassesForwardKernel = pass(
  'attentionWeightedSum',
  'weightedSum',
  forwardBindings,
  outputTiles(1),
);

/** dscores = P ⊙ (dP − rowsum(P ⊙ dP)), dP = dO vᵀ, on and below the diagonal. */
export const attentionBackwardScores: AttentionPassesBackwardKernel = pass(
  'attentionBackwardScores',
  'backwardScores',
  backwardBindings,
  rowBlocks,
);

/** dq, dk, dv into dqkv (overwritten, every element). Needs attentionBackwardScores first. */
export const attentionBackwardGrads: AttentionPassesBackwardKernel = pass(
  'attentionBackwardGrads',
  'backwardGrads',
  backwardBindings,
  outputTiles(3),
);

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
  constants: Record<string, number> = pickAttentionPassesTiles(shape),
): Dispatch<AttentionParam>[] {
  return attentionPassesForwardSteps().map((k) => gpu.prepare(k, buffers, { ...shape }, constants));
}

/** Prepare the backward steps once; `dscores` is scratch of attentionProbsSize(shape) floats. */
export function prepareAttentionPassesBackward(
  gpu: Gpu,
  buffers: Record<AttentionPassesBackwardBinding, GPUBuffer>,
  shape: AttentionShape,
  constants: Record<string, number> = pickAttentionPassesTiles(shape),
): Dispatch<AttentionParam>[] {
  return attentionPassesBackwardSteps().map((k) => gpu.prepare(k, buffers, { ...shape }, constants));
}

/**
 * attentionScores alone, for a backward whose `probs` another layer's forward has since overwritten: the
 * same kernel and tiles on the same qkv write bit-identical probabilities. `out` is bound, not written.
 */
export function prepareAttentionPassesRecompute(
  gpu: Gpu,
  buffers: Record<AttentionPassesForwardBinding, GPUBuffer>,
  shape: AttentionShape,
  constants: Record<string, number> = pickAttentionPassesTiles(shape),
): Dispatch<AttentionParam>[] {
  return [gpu.prepare(attentionScores, buffers, { ...shape }, constants)];
}
