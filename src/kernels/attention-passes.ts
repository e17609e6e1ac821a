// Causal multi-head self-attention as separate passes (the engine's first attention, restored from
// 74f7e73): the probabilities are a [N, H, T, T] buffer that the forward writes and the backward reads.
// Same contract as the fused kernels of attention.ts (whose float64 references it shares); faster for
// short sequences, O(T²) memory. attention-variant.ts picks between the two.
//   forward  [attentionScores, attentionWeightedSum]   buffers { qkv, out, probs, stats }
//   backward [attentionBackwardScores, attentionBackwardGrads]
//                                                       buffers { qkv, probs, dout, dqkv, dscores, out, stats }
// `stats` holds each row's softmax statistics (max, Σ exp) ([N, H, T] vec2s, attentionStatsSize). The vec4
// kernels keep the raw scaled scores in `probs` and form P = exp(s − max) / Σ from them as they load it
// (no normalising pass; the same float32 expression the scalar kernels' normalising pass stores), so a
// backward must be given the `probs` and `stats` of the same kernel set's forward.
// The backward reads the forward's `out` (O = P·v) for FlashAttention's row term Δ_i = dO_i·O_i, which
// equals rowsum(P ⊙ dP): backwardScores writes dS in one pass.
// `probs` is a forward activation per layer; `dscores` is backward scratch of the same size that all
// layers can share (the backward runs one layer at a time). Both hold attentionProbsSize(shape) floats.
// 'passes-recompute' (attention-variant.ts) shares `probs` across layers too: its backward runs
// prepareAttentionPassesRecompute (attentionScores alone, same tiles) before the backward steps.
// Each pass has a vec4 twin (attention-passes-vec4.wgsl, labels …Vec4) for T and D multiples of 4, which
// pickAttentionPassesTiles selects there; the tile set says which kernels run (VEC4 = 1).
import source from '../../shaders/attention-passes.wgsl?raw';
import vec4Source from '../../shaders/attention-passes-vec4.wgsl?raw';
import { defineKernel, type Kernel, type KernelSpec } from '../gpu/kernel';
import { unrollLoops } from '../gpu/unroll';
import type { Dispatch, Gpu } from '../gpu/context';
import type { AttentionParam, AttentionShape } from './attention';
import { matmulSplitChunks } from './matmul-splitk';

export type AttentionPassesForwardBinding = 'qkv' | 'out' | 'probs' | 'stats';
export type AttentionPassesBackwardBinding = 'qkv' | 'probs' | 'dout' | 'dqkv' | 'dscores' | 'out' | 'stats';
export type AttentionPassesForwardKernel = Kernel<AttentionPassesForwardBinding, AttentionParam>;
export type AttentionPassesForwardProjBinding = AttentionPassesForwardBinding | 'projW' | 'partial';
export type AttentionPassesBackwardKernel = Kernel<AttentionPassesBackwardBinding, AttentionParam>;

/**
 * Tile constants (WGSL overrides): WX × WY threads, each owning TM × TN outputs; KC = reduction chunk.
 * 32×32 output tiles in 8 KiB of workgroup memory: within WebGPU's guaranteed 16 KiB on every device.
 */
export const ATTENTION_PASSES_TILES = { WX: 16, WY: 16, TM: 2, TN: 2, KC: 16 };
const MAXT = 4;

/**
 * The scalar kernels' tiles from the H200 sweep of 14 candidates at lab-gpt's shapes (bench
 * `attention-passes-tiles`, bench/RESULTS.md 2026-11-30 16:55 UTC), one layer forward + backward: with ≥ 512
 * row blocks of 64 (N = 64, T = 128, H = 4) 64×64 tiles with KC 8 took 0.295 ms against 0.366 ms for the 32×32
 * default; with few blocks (N = 8) they starve the GPU (0.113 ms) and 32×64 tiles were fastest (0.085 ms
 * against 0.091). Both stay within 12 KiB of workgroup memory. The model runs them where the vec4 kernels
 * cannot (D or T not a multiple of 4).
 */
export const ATTENTION_PASSES_TILES_WIDE = { WX: 16, WY: 16, TM: 4, TN: 4, KC: 8 };
export const ATTENTION_PASSES_TILES_NARROW = { WX: 16, WY: 16, TM: 2, TN: 4, KC: 16 };

/**
 * Tiles of the vec4 kernels (attention-passes-vec4.wgsl), marked VEC4 = 1 (the prepare functions take the vec4
 * kernels for such a set and do not pass VEC4 on): WX × WY threads each owning 4 × 4 outputs, KC reduction
 * entries per staged step. 64×64 output tiles, or 32×64 where 64-row blocks are too few to fill the GPU (as
 * the scalar picks). KC 16: 8.5 KiB of workgroup memory (backwardScores 9.5), within WebGPU's guaranteed 16 KiB.
 */
export const ATTENTION_PASSES_VEC4_TILES_WIDE = { VEC4: 1, WX: 16, WY: 16, KC: 16 };
export const ATTENTION_PASSES_VEC4_TILES_NARROW = { VEC4: 1, WX: 16, WY: 8, KC: 16 };

/** Whether the vec4 kernels apply: every row of qkv, probs and the outputs 16-byte aligned. */
export function attentionPassesVec4Fits({ T, D }: AttentionShape): boolean {
  return T % 4 === 0 && D % 4 === 0;
}

let tilesOverride: Record<string, number> | null = null;

/**
 * Tiles the picker returns for every shape they fit (vec4 tiles: T and D multiples of 4), or null (the default):
 * the picker's rule. For the bench (`--attention-tiles`), to time whole steps on other tiles; checked here.
 */
export function setAttentionPassesTiles(tiles: Record<string, number> | null): void {
  if (tiles) tileSizes(tiles);
  tilesOverride = tiles;
}

/**
 * The kernels and tiles the model runs: the vec4 kernels where the shape allows, else the scalar ones; 64-row
 * tiles once there are at least 512 blocks of 64 query rows to spread over the GPU, else 32-row tiles.
 */
export function pickAttentionPassesTiles(shape: AttentionShape): Record<string, number> {
  if (tilesOverride && (tilesOverride.VEC4 !== 1 || attentionPassesVec4Fits(shape))) return tilesOverride;
  const wide = shape.N * shape.H * Math.ceil(shape.T / 64) >= 512;
  if (attentionPassesVec4Fits(shape))
    return wide ? ATTENTION_PASSES_VEC4_TILES_WIDE : ATTENTION_PASSES_VEC4_TILES_NARROW;
  return wide ? ATTENTION_PASSES_TILES_WIDE : ATTENTION_PASSES_TILES_NARROW;
}

function tileSizes(c: Record<string, number>): { BM: number; BN: number } {
  if (c.VEC4 === 1) return vec4TileSizes(c);
  const { WX, WY, TM, TN, KC } = c;
  for (const [k, v] of Object.entries({ WX, WY, TM, TN, KC })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`attention passes: tile constant ${k}=${v}`);
  }
  if (TM > MAXT || TN > MAXT) throw new Error(`attention passes: TM, TN must be <= ${MAXT} (register tile)`);
  return { BM: WY * TM, BN: WX * TN };
}

function vec4TileSizes(c: Record<string, number>): { BM: number; BN: number } {
  const { WX, WY, KC } = c;
  for (const [k, v] of Object.entries({ WX, WY, KC })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`attention passes (vec4): tile constant ${k}=${v}`);
  }
  // The row statistics of the softmax reuse the staged tiles: KC·(WY + 1) and KC·(WX + 1) vec4s ≥ WX·WY.
  if (KC % 4 !== 0 || WX % 4 !== 0 || KC < Math.max(WX, WY))
    throw new Error(
      `attention passes (vec4): KC=${KC} must be a multiple of 4, ≥ WX and WY; WX=${WX} a multiple of 4`,
    );
  if (attentionPassesVec4Slots(c) > 4)
    throw new Error(`attention passes (vec4): KC=${KC} must be ≤ 4·WX and ≤ 4·WY (4 staged vec4s a thread)`);
  return { BM: 4 * WY, BN: 4 * WX };
}

/**
 * Vec4s of a staged tile per thread in the vec4 kernels: X tiles hold WY·KC vec4s and Y tiles WX·KC, over WX·WY
 * threads. Each is prefetched into a register before the multiply of the step before (at most 4).
 */
export function attentionPassesVec4Slots(c: Record<string, number>): number {
  return Math.max(Math.ceil(c.KC / c.WX), Math.ceil(c.KC / c.WY));
}

/** Bytes of workgroup memory the kernels of a tile set declare (to hold against the device's limit). */
export function attentionPassesWorkgroupBytes(t: Record<string, number>): number {
  if (t.VEC4 === 1) return 16 * t.KC * (t.WY + 1 + t.WX + 1) + 4 * t.WY * t.KC;
  const { BM, BN } = tileSizes(t);
  return 4 * (t.KC * BM + t.KC * BN + 2 * BM * t.WX);
}

/** (tiles, heads) → dispatch, with heads folded into z past 65535 (the shader decodes y + 65535·z). */
function grid(tiles: number, heads: number): [number, number, number] {
  return [tiles, Math.min(heads, 65535), Math.ceil(heads / 65535)];
}

const forwardBindings = { qkv: 'read', out: 'write', probs: 'write', stats: 'write' } as const;
const backwardBindings = {
  qkv: 'read',
  probs: 'read',
  dout: 'read',
  dqkv: 'write',
  dscores: 'write',
  out: 'read',
  stats: 'read',
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

/** One entry point of attention-passes.wgsl (or its vec4 twin); all share the params and tiles. */
function pass<B extends string>(
  label: string,
  entryPoint: string,
  bindings: Record<B, 'read' | 'write'>,
  workgroups: Workgroups,
  vec4 = false,
): Kernel<B, AttentionParam> {
  return defineKernel({
    label: vec4 ? `${label}Vec4` : label,
    source: vec4 ? vec4Source : source,
    entryPoint,
    bindings,
    params,
    constants: vec4 ? { ...withoutMark(ATTENTION_PASSES_VEC4_TILES_WIDE), ORDER: 0 } : ATTENTION_PASSES_TILES,
    workgroups: vec4 ? (p, c) => workgroups(p, { ...c, VEC4: 1 }) : workgroups,
    // The vec4 kernels' multiply loop repeated KC times (src/gpu/unroll.ts).
    // Its staging slots' loops, SLOTS copies (attentionPassesVec4Slots).
    specialize: vec4
      ? (c) => unrollLoops(vec4Source, { KC: c.KC, SLOTS: attentionPassesVec4Slots(c) })
      : undefined,
    // ... and the shape as override constants (a pipeline per shape; the model has one).
    paramConstants: vec4 ? { N: 'SHAPE_N', T: 'SHAPE_T', H: 'SHAPE_H', D: 'SHAPE_D' } : undefined,
  });
}

/** The four passes, scalar or vec4: [scores, weightedSum] forward, [backwardScores, backwardGrads] backward. */
function passes(vec4: boolean) {
  return {
    /**
     * stats = each row's (max, Σ exp) of the scores s = q kᵀ / sqrt(D); probs = causal softmax(s), every entry
     * (0 above the diagonal), or (vec4) s itself in the vec4s at or below the diagonal.
     */
    scores: pass(
      'attentionScores',
      'scores',
      forwardBindings,
      rowBlocks,
      vec4,
    ) as AttentionPassesForwardKernel,
    /** out = P · v, heads merged back into [N, T, C]. */
    weightedSum: pass(
      'attentionWeightedSum',
      'weightedSum',
      forwardBindings,
      outputTiles(1),
      vec4,
    ) as AttentionPassesForwardKernel,
    /** dscores = P ⊙ (dP − Δ), dP = dO vᵀ, Δ_i = dO_i · O_i, on and below the diagonal. */
    backwardScores: pass(
      'attentionBackwardScores',
      'backwardScores',
      backwardBindings,
      rowBlocks,
      vec4,
    ) as AttentionPassesBackwardKernel,
    /** dq, dk, dv into dqkv (overwritten, every element). Needs backwardScores first. */
    backwardGrads: pass(
      'attentionBackwardGrads',
      'backwardGrads',
      backwardBindings,
      outputTiles(3),
      vec4,
    ) as AttentionPassesBackwardKernel,
  };
}

const SCALAR = passes(false);
const VEC4 = passes(true);
/**
 * (vec4 only) scores then weightedSum in one dispatch, one workgroup per query block: the same bits as the two
 * passes, without the grid-wide wait between them.
 */
const VEC4_FORWARD = pass(
  'attentionForward',
  'forward',
  forwardBindings,
  rowBlocks,
  true,
) as AttentionPassesForwardKernel;
/**
 * (vec4 only) the fused forward, then attn.c_proj's partial products by head: partial [H, N·T, C], block h =
 * O[:, h·D .. h·D + D) · projW[h·D .. h·D + D, :], what prepareMatmulSplitKPartials writes with S = H (the same
 * float32).
 */
const VEC4_FORWARD_PROJ = pass(
  'attentionForwardProj',
  'forwardProj',
  { ...forwardBindings, projW: 'read', partial: 'write' },
  rowBlocks,
  true,
) as Kernel<AttentionPassesForwardProjBinding, AttentionParam>;
export const attentionScores = SCALAR.scores;
export const attentionWeightedSum = SCALAR.weightedSum;
export const attentionBackwardScores = SCALAR.backwardScores;
export const attentionBackwardGrads = SCALAR.backwardGrads;

/** A tile set without its VEC4 mark: the overrides its kernels take. */
function withoutMark(c: Record<string, number>): Record<string, number> {
  const { VEC4: _, ...rest } = c;
  return rest;
}

/**
 * The order the vec4 passes' workgroups take their tiles in (attention-passes-vec4.wgsl's ORDER): 0 as the grid
 * lays them out, 1 tile-major with the longest tiles first. The results are the same bits either way. 1: on the
 * H200 the four passes of lab-gpt at R = 8 took 0.520 ms against 0.580 (each timed alone), the whole step's GPU
 * pass 4.251–4.254 ms against 4.307, R = 16 −1.0 %, GPT-2 small −0.3 %, R = 1 the same
 * (bench/runs/h200-2026-12-02-s15/call-2-attention-order).
 */
export const ATTENTION_PASSES_ORDER = 1;
let order: 0 | 1 = ATTENTION_PASSES_ORDER;
/** The bench's `--attention-order`, for a whole process (issue 16: to time whole steps both ways). */
export function setAttentionPassesOrder(o: 0 | 1): void {
  order = o;
}

/**
 * Whether a thread of the vec4 passes skips work the causal mask makes all 0 (attention-passes-vec4.wgsl's
 * SKIP_MASKED: staged chunks in weightedSum and backwardGrads, 4 × 4 blocks above the diagonal in scores and
 * backwardScores). The same bits either way.
 */
export const ATTENTION_PASSES_SKIP_MASKED = 1;
let skipMasked: 0 | 1 = ATTENTION_PASSES_SKIP_MASKED;
/** The bench's `--attention-skip-masked 0|1`, for a whole process (to time whole steps both ways). */
export function setAttentionPassesSkipMasked(on: 0 | 1): void {
  skipMasked = on;
}

/**
 * Whether scores (vec4; the forward's first phase) gives each warp a square of 4 × 4 blocks rather than whole
 * rows of them (attention-passes-vec4.wgsl's SQUARE_WARPS), so that warps above the diagonal skip. The same
 * bits. On the H200 at lab-gpt's R = 8 the forward took 0.167 ms a step against 0.179
 * (bench/runs/h200-2026-12-02-s16/call-3-square-warps).
 */
export const ATTENTION_PASSES_SQUARE_WARPS = 1;
let squareWarps: 0 | 1 = ATTENTION_PASSES_SQUARE_WARPS;
/** The bench's `--attention-square-warps 0|1`, for a whole process (to time whole steps both ways). */
export function setAttentionPassesSquareWarps(on: 0 | 1): void {
  squareWarps = on;
}

/** The kernels a tile set selects, and the overrides to pass them. */
function kernelsFor(c: Record<string, number>, shape: AttentionShape) {
  if (c.VEC4 === 1 && !attentionPassesVec4Fits(shape))
    throw new Error(`attention passes (vec4): T=${shape.T} and D=${shape.D} must be multiples of 4`);
  if (c.VEC4 !== 1) return { k: SCALAR, constants: withoutMark(c) };
  return {
    k: VEC4,
    constants: { ORDER: order, SKIP_MASKED: skipMasked, SQUARE_WARPS: squareWarps, ...withoutMark(c) },
  };
}

/**
 * Whether the vec4 forward runs as one dispatch (attention-passes-vec4.wgsl's `forward`) or as its two passes.
 * The same bits either way.
 */
export const ATTENTION_PASSES_FUSED_FORWARD = true;
let fusedForward = ATTENTION_PASSES_FUSED_FORWARD;
/** The bench's `--attention-forward fused|passes`, for a whole process (to time whole steps both ways). */
export function setAttentionPassesFusedForward(on: boolean): void {
  fusedForward = on;
}

/**
 * Whether the model's vec4 fused forward also takes attn.c_proj's product where that product is split by heads
 * (attentionForwardProj; attentionProjFoldFits): one dispatch fewer per layer, the same partial products. Off:
 * on the H200 (lab-gpt, where the split applies at R = 1 and 2) the step's GPU pass took 1.255 / 1.255 ms at
 * R = 1 (78 dispatches) against 1.232 / 1.234 (82), and 1.754 / 1.756 against 1.743 / 1.746 at R = 2: the
 * forward's 128 workgroups of 4 warps spend 12.5 µs a layer on the product that the matmul's own dispatch does
 * in 9.0 (bench/runs/h200-2026-12-02-s19). Kept for devices whose dispatches cost more.
 */
export const ATTENTION_PROJ_FOLD = false;
let projFold = ATTENTION_PROJ_FOLD;
/** The bench's `--attention-proj-fold on|off` and the tests, for a whole process. */
export function setAttentionProjFold(on: boolean): void {
  projFold = on;
}
/** Whether the fold is on and the vec4 forward is one dispatch (which it extends). */
export const attentionProjFoldOn = (): boolean => projFold && fusedForward;

/**
 * Whether attentionForwardProj can form a split product of attn.c_proj in S chunks: vec4 tiles, and the chunks
 * (matmulSplitChunks of K = H·D) are the heads.
 */
export function attentionProjFoldFits(
  shape: AttentionShape,
  S: number,
  tiles: Record<string, number> = pickAttentionPassesTiles(shape),
): boolean {
  if (tiles.VEC4 !== 1 || !attentionPassesVec4Fits(shape) || S !== shape.H || S < 2) return false;
  const chunks = matmulSplitChunks(shape.H * shape.D, S);
  return chunks !== null && chunks.chunk === shape.D && chunks.last === shape.D;
}

/** Forward steps in dispatch order; each binds { qkv, out, probs, stats } with params { N, T, H, D }. */
export function attentionPassesForwardSteps(vec4 = false): AttentionPassesForwardKernel[] {
  if (!vec4) return [SCALAR.scores, SCALAR.weightedSum];
  return fusedForward ? [VEC4_FORWARD] : [VEC4.scores, VEC4.weightedSum];
}

/** Backward steps in dispatch order; each binds { qkv, probs, dout, dqkv, dscores, out, stats }. */
export function attentionPassesBackwardSteps(vec4 = false): AttentionPassesBackwardKernel[] {
  const k = vec4 ? VEC4 : SCALAR;
  return [k.backwardScores, k.backwardGrads];
}

/** f32 elements of `probs` (per layer) and of the backward scratch `dscores`: [N, H, T, T]. */
export function attentionProbsSize({ N, T, H }: AttentionShape): number {
  return N * H * T * T;
}

/** f32 elements of `stats` (per layer, beside `probs`): [N, H, T] pairs (max, Σ exp). */
export function attentionStatsSize({ N, T, H }: AttentionShape): number {
  return 2 * N * H * T;
}

/**
 * The probabilities [N, H, T, T] a forward's `probs` and `stats` (read back) stand for: as they are for the
 * scalar kernels, exp(s − max) / Σ on and below the diagonal (0 above) for the vec4 kernels' raw scores,
 * evaluated in float64 (tests and the bench's check; the kernels evaluate it in float32 as they load it).
 */
export function attentionPassesProbabilities(
  probs: Float32Array,
  stats: Float32Array,
  shape: AttentionShape,
  tiles: Record<string, number> = pickAttentionPassesTiles(shape),
): Float64Array {
  const { N, H, T } = shape;
  const out = Float64Array.from(probs);
  if (tiles.VEC4 !== 1) return out;
  for (let row = 0; row < N * H * T; row++) {
    const i = row % T;
    const [m, l] = [stats[2 * row], stats[2 * row + 1]];
    for (let j = 0; j < T; j++) out[row * T + j] = j <= i ? Math.exp(probs[row * T + j] - m) / l : 0;
  }
  return out;
}

/** Prepare the forward steps once; encode the returned dispatches (in order) every step. */
export function prepareAttentionPassesForward(
  gpu: Gpu,
  buffers: Record<AttentionPassesForwardBinding, GPUBuffer>,
  shape: AttentionShape,
  constants: Record<string, number> = pickAttentionPassesTiles(shape),
): Dispatch<AttentionParam>[] {
  const { constants: c } = kernelsFor(constants, shape);
  return attentionPassesForwardSteps(constants.VEC4 === 1).map((x) =>
    gpu.prepare(x, buffers, { ...shape }, c),
  );
}

/**
 * The fused vec4 forward with attn.c_proj's product by heads (attentionForwardProj), one dispatch: `out`, `probs`
 * and `stats` as prepareAttentionPassesForward writes them, and `partial` [H, N·T, H·D] as
 * prepareMatmulSplitKPartials(a: out, b: projW, M = N·T, N = K = H·D, S = H) does. Vec4 tiles only.
 */
export function prepareAttentionPassesForwardProj(
  gpu: Gpu,
  buffers: Record<AttentionPassesForwardProjBinding, GPUBuffer>,
  shape: AttentionShape,
  constants: Record<string, number> = pickAttentionPassesTiles(shape),
): Dispatch<AttentionParam> {
  if (!attentionProjFoldFits(shape, shape.H, constants))
    throw new Error(
      `attention passes: the forward with c_proj's product needs vec4 tiles and T, D multiples of 4 (T=${shape.T}, D=${shape.D})`,
    );
  const { constants: c } = kernelsFor(constants, shape);
  return gpu.prepare(VEC4_FORWARD_PROJ, buffers, { ...shape }, c);
}

/**
 * Prepare the backward steps once; `dscores` is scratch of attentionProbsSize(shape) floats; `probs`, `stats`
 * and `out` (O = P·v, read for Δ) are what the forward of the same tiles wrote. `doutParts` > 1
 * (vec4 tiles only): `dout` holds that many partial products of dO, [doutParts, N·T, H·D] packed from 0,
 * which the passes add up as they read them, as matmulSplitKSum (alpha 1, no bias) would: the same dO.
 */
export function prepareAttentionPassesBackward(
  gpu: Gpu,
  buffers: Record<AttentionPassesBackwardBinding, GPUBuffer>,
  shape: AttentionShape,
  constants: Record<string, number> = pickAttentionPassesTiles(shape),
  doutParts = 1,
): Dispatch<AttentionParam>[] {
  const { k, constants: c } = kernelsFor(constants, shape);
  if (!Number.isInteger(doutParts) || doutParts < 1 || (doutParts > 1 && constants.VEC4 !== 1))
    throw new Error(`attention passes: dO in ${doutParts} parts needs the vec4 kernels`);
  const withParts = doutParts > 1 ? { ...c, DOUT_PARTS: doutParts } : c;
  return [k.backwardScores, k.backwardGrads].map((x) => gpu.prepare(x, buffers, { ...shape }, withParts));
}

/**
 * attentionScores alone, for a backward whose `probs` and `stats` another layer's forward has since
 * overwritten: the same kernel and tiles on the same qkv write them bit-identical. `out` is bound, not written.
 */
export function prepareAttentionPassesRecompute(
  gpu: Gpu,
  buffers: Record<AttentionPassesForwardBinding, GPUBuffer>,
  shape: AttentionShape,
  constants: Record<string, number> = pickAttentionPassesTiles(shape),
): Dispatch<AttentionParam>[] {
  const { k, constants: c } = kernelsFor(constants, shape);
  return [gpu.prepare(k.scores, buffers, { ...shape }, c)];
}
