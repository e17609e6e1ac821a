// Causal multi-head self-attention as separate passes (the engine's first attention, restored from
// 74f7e73): the probabilities are a [N, H, T, T] buffer that the forward writes and the backward reads.
// Same contract as the fused kernels of attention.ts (whose float64 references it shares); faster for
// short sequences, O(T²) memory. attention-variant.ts picks between the two.
//   forward  split  [attentionScores, attentionWeightedSum]       buffers { qkv, out, probs }
//            merged [attentionForwardRows]
//   backward split  [attentionBackwardScores, attentionBackwardGrads]
//            merged [attentionBackwardRows, attentionBackwardKeyValueGrads]
//                                                                  buffers { qkv, probs, dout, dqkv, dscores }
// Either way the forward writes every entry of probs (0 above the diagonal) and out, the backward every
// element of dqkv and dS on and below the diagonal of dscores.
// `probs` is a forward activation per layer; `dscores` is backward scratch of the same size that all
// layers can share (the backward runs one layer at a time). Both hold attentionProbsSize(shape) floats.
import source from '../../shaders/attention-passes.wgsl?raw';
import { defineKernel, type Kernel, type KernelSpec } from '../gpu/kernel';
import type { Dispatch, Gpu } from '../gpu/context';
import type { AttentionParam, AttentionShape } from './attention';

export type AttentionPassesForwardBinding = 'qkv' | 'out' | 'probs';
export type AttentionPassesBackwardBinding = 'qkv' | 'probs' | 'dout' | 'dqkv' | 'dscores';
export type AttentionPassesForwardKernel = Kernel<AttentionPassesForwardBinding, AttentionParam>;
export type AttentionPassesBackwardKernel = Kernel<AttentionPassesBackwardBinding, AttentionParam>;

/**
 * Tiles of the passes: WX × WY threads, each owning a 4×4 register tile, so every product's output tile
 * is 4·WY rows by 4·WX columns; KC = reduction entries per chunk staged in workgroup memory.
 * merge: the row-block kernels also do the product that follows them (forward: scores, softmax and the
 * weighted sum in one kernel; backward: dS and dq, then dk and dv), else four kernels.
 */
export interface AttentionPassesTiles {
  WX: number;
  WY: number;
  KC: number;
  merge: boolean;
}

const MAX_THREADS = 256;

/**
 * Candidates, preferred first; `pickAttentionPassesTiles` takes the first that fits the device's
 * workgroup memory. NOT YET MEASURED (written without a GPU): reorder by bench/kernels.ts' rows
 * "attention passes …" on the H200. The first needs 21.5 KiB (64×64 tiles, chunks of 32: the H200's 48 KiB
 * takes it); the second, 32×32 tiles in 5.8 KiB, is what a 16 KiB device gets.
 */
export const ATTENTION_PASSES_TILE_CANDIDATES: AttentionPassesTiles[] = [
  { WX: 16, WY: 16, KC: 32, merge: true },
  { WX: 8, WY: 8, KC: 16, merge: true },
  { WX: 16, WY: 16, KC: 16, merge: true },
  { WX: 16, WY: 16, KC: 64, merge: true },
  { WX: 16, WY: 8, KC: 32, merge: true },
  { WX: 8, WY: 8, KC: 32, merge: true },
  { WX: 16, WY: 16, KC: 32, merge: false },
  { WX: 8, WY: 8, KC: 16, merge: false },
];

/**
 * What a CPU emulation (SwiftShader: 32 KiB, so the list above would give it 64×64) takes instead. Measured
 * there, forward + backward (N, T, H, D = 2, 32, 2, 32 / 8, 64, 4, 16 / 4, 128, 2, 32): these 7.7 / 118 /
 * 91 ms, 64×64/16×16 kc32 merged 55 / 430 / 248 ms, the 2×2-per-thread kernels they replace 43 / 726 /
 * 505 ms; workgroups of 256 invocations cost an emulator more than they save, and compile ~2× longer.
 */
export const ATTENTION_PASSES_SOFTWARE_TILES: AttentionPassesTiles = { WX: 8, WY: 8, KC: 16, merge: true };

/** Output tile rows BM = 4·WY and columns BN = 4·WX. */
export function attentionPassesTileSize(t: Pick<AttentionPassesTiles, 'WX' | 'WY'>): {
  BM: number;
  BN: number;
} {
  return { BM: 4 * t.WY, BN: 4 * t.WX };
}

/**
 * Bytes of workgroup memory the largest entry point declares: the staged chunks (vec4s, each k-row padded
 * by one), the [BM, WX] row reduction and two per-row statistics.
 */
export function attentionPassesWorkgroupBytes(t: AttentionPassesTiles): number {
  return 16 * t.KC * (t.WX + 1 + t.WY + 1) + 16 * t.WX * t.WY + 2 * 16 * t.WY;
}

/** Short name for logs and bench rows: "64x64/16x16 kc32 merged". */
export function attentionPassesTag(t: AttentionPassesTiles): string {
  const { BM, BN } = attentionPassesTileSize(t);
  return `${BM}x${BN}/${t.WX}x${t.WY} kc${t.KC} ${t.merge ? 'merged' : 'split'}`;
}

function checkTiles(t: AttentionPassesTiles): void {
  for (const k of ['WX', 'WY', 'KC'] as const) {
    if (!Number.isInteger(t[k]) || t[k] < 1) throw new Error(`attention passes: tile constant ${k}=${t[k]}`);
  }
  if (t.WX * t.WY > MAX_THREADS) {
    throw new Error(`attention passes: WX·WY = ${t.WX * t.WY} threads, more than ${MAX_THREADS}`);
  }
}

/**
 * The first candidate whose workgroup memory fits `maxWorkgroupBytes` (the device's limit); on a CPU
 * emulation (`software`), ATTENTION_PASSES_SOFTWARE_TILES.
 */
export function pickAttentionPassesTiles(maxWorkgroupBytes: number, software = false): AttentionPassesTiles {
  const list = software ? [ATTENTION_PASSES_SOFTWARE_TILES] : ATTENTION_PASSES_TILE_CANDIDATES;
  const t = list.find((c) => attentionPassesWorkgroupBytes(c) <= maxWorkgroupBytes);
  if (!t) throw new Error(`attention passes: no tile configuration fits ${maxWorkgroupBytes} B`);
  return t;
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
const rowBlocks: Workgroups = ({ N, T, H }, c) => grid(Math.ceil(T / (4 * c.WY)), N * H);

/** One workgroup per BM × BN tile of each [T, D] output and head: `outputs` of them, given the constants. */
const outputTiles =
  (outputs: (c: Record<string, number>) => number): Workgroups =>
  ({ N, T, H, D }, c) => {
    const { BM, BN } = attentionPassesTileSize({ WX: c.WX, WY: c.WY });
    return grid(outputs(c) * Math.ceil(T / BM) * Math.ceil(D / BN), N * H);
  };
/** out alone. */
const outTiles = outputTiles(() => 1);
/** dq, dk, dv from role FIRST_ROLE on. */
const gradTiles = outputTiles((c) => 3 - c.FIRST_ROLE);

/** One entry point of attention-passes.wgsl; all share the source, the params and the tiles. */
function pass<B extends string>(
  label: string,
  entryPoint: string,
  bindings: Record<B, 'read' | 'write'>,
  workgroups: Workgroups,
  constants: Record<string, number> = {},
): Kernel<B, AttentionParam> {
  return defineKernel({
    label,
    source,
    entryPoint,
    bindings,
    params,
    constants: { WX: 8, WY: 8, KC: 16, ...constants },
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
  outTiles,
);

/** attentionScores then attentionWeightedSum, one workgroup per query block doing both. */
export const attentionForwardRows: AttentionPassesForwardKernel = pass(
  'attentionForwardRows',
  'forwardRows',
  forwardBindings,
  rowBlocks,
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
  gradTiles,
  { FIRST_ROLE: 0 },
);

/** attentionBackwardScores and dq, one workgroup per query block doing both. */
export const attentionBackwardRows: AttentionPassesBackwardKernel = pass(
  'attentionBackwardRows',
  'backwardRows',
  backwardBindings,
  rowBlocks,
);

/** dk, dv into dqkv. Needs attentionBackwardRows first (dS, and dq written). */
export const attentionBackwardKeyValueGrads: AttentionPassesBackwardKernel = pass(
  'attentionBackwardKeyValueGrads',
  'backwardGrads',
  backwardBindings,
  gradTiles,
  { FIRST_ROLE: 1 },
);

/** Forward steps in dispatch order; each binds { qkv, out, probs } with params { N, T, H, D }. */
export function attentionPassesForwardSteps(merge = false): AttentionPassesForwardKernel[] {
  return merge ? [attentionForwardRows] : [attentionScores, attentionWeightedSum];
}

/** Backward steps in dispatch order; each binds { qkv, probs, dout, dqkv, dscores }. */
export function attentionPassesBackwardSteps(merge = false): AttentionPassesBackwardKernel[] {
  return merge
    ? [attentionBackwardRows, attentionBackwardKeyValueGrads]
    : [attentionBackwardScores, attentionBackwardGrads];
}

/** f32 elements of `probs` (per layer) and of the backward scratch `dscores`: [N, H, T, T]. */
export function attentionProbsSize({ N, T, H }: AttentionShape): number {
  return N * H * T * T;
}

/**
 * Tiles every model in this process takes instead of pickAttentionPassesTiles' (null: the pick). Only the
 * bench sets it (`--attention-tiles`), to time whole steps with each candidate (issue 16).
 */
let tilesOverride: AttentionPassesTiles | null = null;
export function setAttentionPassesTilesOverride(t: AttentionPassesTiles | null): void {
  tilesOverride = t;
}

/** The tiles to use: `tiles` as given (checked against the device) or pickAttentionPassesTiles' for it. */
export function attentionPassesTilesFor(gpu: Gpu, tiles?: AttentionPassesTiles): AttentionPassesTiles {
  const limit = gpu.device.limits.maxComputeWorkgroupStorageSize;
  const t = tiles ?? tilesOverride ?? pickAttentionPassesTiles(limit, gpu.info.isSoftware);
  checkTiles(t);
  const bytes = attentionPassesWorkgroupBytes(t);
  if (bytes > limit) {
    throw new Error(
      `attention passes: tiles ${attentionPassesTag(t)} need ${bytes} B of workgroup memory (device: ${limit})`,
    );
  }
  return t;
}

function prepareSteps<B extends string>(
  gpu: Gpu,
  steps: Kernel<B, AttentionParam>[],
  buffers: Record<B, GPUBuffer>,
  shape: AttentionShape,
  t: AttentionPassesTiles,
): Dispatch<AttentionParam>[] {
  const c = { WX: t.WX, WY: t.WY, KC: t.KC };
  return steps.map((k) => gpu.prepare(k, buffers, { ...shape }, c));
}

/**
 * Prepare the forward steps once; encode the returned dispatches (in order) every step. Without `tiles`,
 * pickAttentionPassesTiles of the device's workgroup memory.
 */
export function prepareAttentionPassesForward(
  gpu: Gpu,
  buffers: Record<AttentionPassesForwardBinding, GPUBuffer>,
  shape: AttentionShape,
  tiles?: AttentionPassesTiles,
): Dispatch<AttentionParam>[] {
  const t = attentionPassesTilesFor(gpu, tiles);
  return prepareSteps(gpu, attentionPassesForwardSteps(t.merge), buffers, shape, t);
}

/** Prepare the backward steps once; `dscores` is scratch of attentionProbsSize(shape) floats. */
export function prepareAttentionPassesBackward(
  gpu: Gpu,
  buffers: Record<AttentionPassesBackwardBinding, GPUBuffer>,
  shape: AttentionShape,
  tiles?: AttentionPassesTiles,
): Dispatch<AttentionParam>[] {
  const t = attentionPassesTilesFor(gpu, tiles);
  return prepareSteps(gpu, attentionPassesBackwardSteps(t.merge), buffers, shape, t);
}
