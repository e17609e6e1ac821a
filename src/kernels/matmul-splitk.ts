// Split-K matmul for outputs with too few tiles to fill the GPU (issue 16): at R = 1, lab-gpt's N = 256
// products have 1,024 rows, 32 tiles of 128×64 for 132 SMs, and a K of up to 1,024 that each tile walks
// alone. The reduction is cut into S chunks, equal where K allows, else S − 1 equal ones and a shorter last
// one (matmulSplitChunks; the matmul's `kLast`): one batched matmul (batch item s = chunk s, A and B as
// blocks of columns or rows through ldA / ldB) writes S partial products, and `matmulSplitKSum` adds them in
// chunk order and stores as the matmul would (alpha, bias, epilogue). Two dispatches and S·M·N floats of
// scratch instead of one dispatch (one, where a LayerNorm of the model reads the output next and sums the
// partials itself: prepareMatmulSplitKPartials, layerNormForwardSum, layerNormBackwardSum), and another
// order of summation than the unsplit product: a run's numbers at R = 1 (split) and in a larger sweep
// (M = R·rows has tiles enough, not split) differ by float32 rounding.
import geluMath from '../../shaders/gelu-math.wgsl?raw';
import epilogueSource from '../../shaders/matmul-epilogue.wgsl?raw';
import sumSource from '../../shaders/matmul-splitk-sum.wgsl?raw';
import sumDownSource from '../../shaders/matmul-splitk-sum-down.wgsl?raw';
import type { Dispatch, Gpu } from '../gpu/context';
import { defineKernel, foldedGrid, grid1d } from '../gpu/kernel';
import {
  MATMUL_EPILOGUE,
  matmulAuxPlaceholder,
  matmulParams,
  prepareMatmul,
  type MatmulBuffers,
  type MatmulConstants,
  type MatmulEpilogue,
  type MatmulLora,
  type MatmulParams,
} from './matmul';

export const matmulSplitKSum = defineKernel({
  label: 'matmulSplitKSum',
  source: `${geluMath}\n${epilogueSource}\n${sumSource}`,
  // loraU, loraB: LORA_R > 0 only (partial where unused).
  bindings: { partial: 'read', bias: 'read', c: 'write', aux: 'write', loraU: 'read', loraB: 'read' },
  params: {
    M: 'u32',
    N: 'u32',
    S: 'u32',
    hasBias: 'u32',
    offC: 'u32',
    alpha: 'f32',
    copies: 'u32',
    loraScale: 'f32',
    loraOffB: 'u32',
    loraStrideB: 'u32',
    loraRows: 'u32',
  },
  constants: { EPILOGUE: 0, LORA_R: 0 },
  paramConstants: { S: 'PARTS', copies: 'COPIES', N: 'SUM_N' },
  // One thread per element of one [M, N] block, which stores all its copies.
  workgroups: ({ M, N }) => grid1d(M * N, 256),
});

/**
 * matmulSplitKSum with LoRA's down-projection u = x·Aᵀ_run formed in the same dispatch (one copy): a workgroup
 * per row, which forms its row's u as loraRows does (the same bits) and stores it for the backward, then sums
 * the row's elements and adds s · u·Bᵀ_run. One loraRows dispatch fewer per adapted
 * split product (issue 16: the dispatches of a step at R = 1).
 */
export const matmulSplitKSumDown = defineKernel({
  label: 'matmulSplitKSumDown',
  source: `${geluMath}\n${epilogueSource}\n${sumDownSource}`,
  bindings: {
    partial: 'read',
    bias: 'read',
    c: 'write',
    aux: 'write',
    x: 'read',
    loraA: 'read',
    loraB: 'read',
    u: 'write',
  },
  params: {
    M: 'u32',
    N: 'u32',
    S: 'u32',
    hasBias: 'u32',
    offC: 'u32',
    alpha: 'f32',
    K: 'u32',
    loraScale: 'f32',
    loraOffA: 'u32',
    loraStrideA: 'u32',
    loraOffB: 'u32',
    loraStrideB: 'u32',
    loraRows: 'u32',
  },
  constants: { EPILOGUE: 0, LORA_R: 4 },
  paramConstants: { S: 'PARTS', N: 'SUM_N', K: 'SUM_K' },
  // One workgroup a row, x then y past 65,535.
  workgroups: ({ M }) => foldedGrid(M),
});

/** LoRA's down-projection for matmulSplitKSumDown: A_run [r, K] at offA + run · strideA (x is the product's a). */
export interface SplitKSumDown {
  A: GPUBuffer;
  offA: number;
  strideA: number;
}

/** Whether matmulSplitKSumDown takes rank r (its workgroup memory holds u's r floats of a row). */
export const splitKSumDownFits = (r: number): boolean => Number.isInteger(r) && r >= 1 && r <= 64;

/**
 * Up to how many rows an adapted split product's sum also forms LoRA's down-projection (matmulSplitKSumDown)
 * rather than loraRows before it (0: never). The bench's `--sum-lora-down on|off|N` sets it for a whole process
 * (issue 16: to time whole steps each way). On the H200 (bench/runs/h200-2026-12-02-s17/call-2-sum-a, GPU pass
 * with it against without, two runs each) lab-gpt's R = 1 (1,024 rows) took 1.422 / 1.424 against 1.433 / 1.434
 * ms, R = 2 the same (1.830 / 1.825 against 1.832 / 1.831), R = 4 (4,096 rows) more (2.747 / 2.757 against
 * 2.741 / 2.739): a workgroup a row is one wave at 1,024 rows, four at 4,096.
 */
export const SPLITK_SUM_DOWN_MAX_ROWS = 2048;
let sumLoraDownRows = SPLITK_SUM_DOWN_MAX_ROWS;
export function setSplitSumLoraDownRows(rows: number): void {
  if (!(rows >= 0)) throw new Error(`split-K: down-projection sum up to ${rows} rows`);
  sumLoraDownRows = rows;
}
export const splitSumLoraDownOn = (M: number): boolean => M <= sumLoraDownRows;

/**
 * prepareMatmulSplitK with `lora` (one copy, S > 1) whose u the sum forms itself from `down` and stores into
 * lora.u: the same C, aux and u as loraRows (alpha 1, x = a) before prepareMatmulSplitK, one dispatch fewer.
 */
export function prepareMatmulSplitKDown(
  gpu: Gpu,
  { a, b, c, bias, aux }: MatmulBuffers,
  p: Pick<MatmulParams, 'M' | 'N' | 'K'> & Partial<Pick<MatmulParams, 'offC' | 'alpha'>>,
  epilogue: MatmulEpilogue,
  S: number,
  scratch: GPUBuffer,
  lora: MatmulLora,
  down: SplitKSumDown,
): Dispatch[] {
  const { M, N, K } = p;
  if (S < 2) throw new Error('split-K: the down-projection sum needs a split product');
  if (!splitKSumDownFits(lora.r)) throw new Error(`split-K: no down-projection sum at r ${lora.r}`);
  if ((epilogue === 'none') !== (aux === undefined))
    throw new Error(`split-K: epilogue ${epilogue} ${aux ? 'takes no' : 'needs an'} aux buffer`);
  return [
    prepareMatmulSplitKPartials(gpu, { a, b }, p, {}, S, scratch),
    gpu.prepare(
      matmulSplitKSumDown,
      {
        partial: scratch,
        bias: bias ?? scratch,
        c,
        aux: aux ?? matmulAuxPlaceholder(gpu),
        x: a,
        loraA: down.A,
        loraB: lora.B,
        u: lora.u,
      },
      {
        M,
        N,
        S,
        hasBias: bias ? 1 : 0,
        offC: p.offC ?? 0,
        alpha: p.alpha ?? 1,
        K,
        loraScale: lora.scale,
        loraOffA: down.offA,
        loraStrideA: down.strideA,
        loraOffB: lora.offB,
        loraStrideB: lora.strideB,
        loraRows: lora.rowsPerRun,
      },
      { EPILOGUE: MATMUL_EPILOGUE[epilogue], LORA_R: lora.r },
    ),
  ];
}

/**
 * matmulSplitKSum's LoRA bindings, params and constants (`lora` absent: unused, partial bound), and how many
 * [M, N] copies it stores (1 unless given).
 */
export function splitKSumExtras(
  partial: GPUBuffer,
  lora?: MatmulLora,
  copies = 1,
): {
  buffers: { loraU: GPUBuffer; loraB: GPUBuffer };
  params: { copies: number; loraScale: number; loraOffB: number; loraStrideB: number; loraRows: number };
  constants: { LORA_R: number };
} {
  return {
    buffers: { loraU: lora?.u ?? partial, loraB: lora?.B ?? partial },
    params: {
      copies,
      loraScale: lora?.scale ?? 0,
      loraOffB: lora?.offB ?? 0,
      loraStrideB: lora?.strideB ?? 0,
      loraRows: lora?.rowsPerRun ?? 1,
    },
    constants: { LORA_R: lora?.r ?? 0 },
  };
}

/**
 * Outputs with fewer tiles of 128×64 than SPLITK_FILL_TILES are split (when their K allows) into the fewest
 * chunks that reach it, at most SPLITK_MAX. On the H200 (bench/RESULTS.md, 14:30 UTC), lab-gpt at R = 1: no
 * split 289,026 tokens/s; at most 8 chunks until 192 tiles 419,459; 4 chunks of every product 434,672; 2
 * chunks 379,127.
 */
export const SPLITK_FILL_TILES = 256;
/**
 * Outputs with SPLITK_FILL_TILES up to this many tiles are cut in two (the fewest chunks reaching it): at
 * R = 8 lab-gpt's N = 256 products (256 tiles: one 128×128 tile per SM and little else) ran the whole step
 * 3.6 % faster split in two (1,430,848 against 1,380,463 tokens/s, one H200 call, 2026-11-30 16:55 UTC).
 */
export const SPLITK_MIN_TILES = 512;
/** Chunks at least this long (a chunk shorter than a few K-tiles only adds scratch traffic). */
export const SPLITK_MIN_CHUNK = 64;
export const SPLITK_MAX = 4;

/**
 * The threshold matmulSplitCount uses: SPLITK_MIN_TILES unless the bench's `--split-k-min-tiles` changed it
 * for the whole process (to time whole steps at other thresholds, issue 16).
 */
let splitMinTiles = SPLITK_MIN_TILES;
export function setSplitKMinTiles(tiles: number): void {
  if (!Number.isInteger(tiles) || tiles < 1) throw new Error(`split-K: min tiles ${tiles}`);
  splitMinTiles = tiles;
}

/**
 * Products whose split needs a sum dispatch of its own (matmulSplitKSum: a GELU or its slope, or LoRA's
 * up-projection, in the store; no reader that sums the partial products itself) are not split from this many
 * output tiles of 128×64 on: one dispatch and no scratch round trip instead of two dispatches over twice the
 * workgroups (issue 16: the dispatches of a step at R = 1). Infinity: always split as matmulSplitCount says.
 * Infinity it stays: on the H200 (bench/runs/h200-2026-12-02-s15/call-1-own-sum-split) 128 took lab-gpt's R = 1
 * step from 95 to 87 dispatches and 96 to 83, but its GPU pass from 1.271 to 1.354 and 1.367 ms (R = 2 +5.8 %,
 * R = 4 +2.0 %): a whole 1024×1024×256 product on 128 tiles of 128×64 took 28.6 µs against 21.9 + 4.9 µs
 * split in two and summed, and 1024×768×256 on 96 tiles 32.1 µs against 23.3 µs split in four, plus its sum.
 */
export const SPLITK_OWN_SUM_MIN_TILES = Infinity;
let ownSumMinTiles = SPLITK_OWN_SUM_MIN_TILES;
/** The bench's `--split-k-own-sum-min-tiles`, for the whole process (whole steps timed each way). */
export function setSplitKOwnSumMinTiles(tiles: number): void {
  if (!(tiles >= 1)) throw new Error(`split-K: own-sum min tiles ${tiles}`);
  ownSumMinTiles = tiles;
}

/**
 * Whether the reader of a split product sums its partial products itself where it can (the attention
 * backward's dO, the cross-entropy's logits: gpu-model.ts), as matmulSplitKSum would, instead of a sum
 * dispatch before it. On by default; the bench's `--sum-fold off` restores the sums for a whole process
 * (issue 16: to time whole steps both ways).
 */
let sumFold = true;
export function setSplitSumFold(on: boolean): void {
  sumFold = on;
}
export const splitSumFoldOn = (): boolean => sumFold;

/**
 * How many chunks to cut the reduction of an M×N×K product into (1: not split): products with fewer than
 * SPLITK_FILL_TILES output tiles of 128×64 into the fewest chunks that reach that many tiles, and products
 * with fewer than SPLITK_MIN_TILES into the fewest that reach SPLITK_MIN_TILES (at most SPLITK_MAX, each at
 * least SPLITK_MIN_CHUNK long). Chunks divide K exactly into multiples of 4 (the vec4 kernel's alignment).
 * `ownSum`: the split would need its own sum dispatch (see SPLITK_OWN_SUM_MIN_TILES).
 */
export function matmulSplitCount(M: number, N: number, K: number, ownSum = false): number {
  if (M < 64 || N < 64) return 1;
  const tiles = Math.ceil(M / 128) * Math.ceil(N / 64);
  if (tiles >= splitMinTiles) return 1;
  if (ownSum && tiles >= ownSumMinTiles) return 1;
  const target = tiles < SPLITK_FILL_TILES ? Math.min(SPLITK_FILL_TILES, splitMinTiles) : splitMinTiles;
  let best = 1;
  for (let s = 2; s <= SPLITK_MAX; s++) {
    const chunk = K / s;
    if (!Number.isInteger(chunk) || chunk % 4 !== 0 || chunk < SPLITK_MIN_CHUNK) continue;
    best = s;
    if (tiles * s >= target) break;
  }
  if (best > 1) return best;
  // No even split: chunks of a multiple of 4 and a shorter last one (e.g. dLn = dlogits · wte over GPT-2's
  // 50,257-token vocabulary, whose 60 output tiles each walked all of K: 11.6 TFLOP/s, 102 ms of a 324 ms step).
  for (let s = 2; s <= SPLITK_MAX; s++) {
    const c = matmulSplitChunks(K, s);
    if (!c || Math.min(c.chunk, c.last) < SPLITK_MIN_CHUNK) continue;
    best = s;
    if (tiles * s >= target) break;
  }
  return best;
}

/**
 * The chunks of K a split in S takes: S − 1 of `chunk` (K / S rounded up to a multiple of 4, so that chunks
 * of a 4-aligned K keep the vec4 kernel's alignment) and a last one of `last` ≤ chunk (= chunk when S·4
 * divides K evenly into multiples of 4); null when S such chunks overshoot K.
 */
export function matmulSplitChunks(K: number, S: number): { chunk: number; last: number } | null {
  const chunk = Math.ceil(K / S / 4) * 4;
  const last = K - (S - 1) * chunk;
  return last > 0 ? { chunk, last } : null;
}

/** Floats of scratch a split product needs. */
export const splitKScratch = (M: number, N: number, S: number): number => (S > 1 ? S * M * N : 0);

/**
 * C = alpha · op(a) op(b) + bias (+ LoRA's up-projection, `lora`), then the epilogue, as prepareMatmul (one
 * item, beta 0, packed C at offC, A not transposed, at offA with rows ldA apart), its K cut into S chunks
 * through `scratch` (splitKScratch(M, N, S) floats). S = 1 is prepareMatmul itself (where `lora` needs
 * matmulLoraFoldable); split, the sum adds `lora` at any r. `copies` > 1 (split only) stores C into that many
 * consecutive [M, N] blocks, `lora`'s rows counted over them.
 */
export function prepareMatmulSplitK(
  gpu: Gpu,
  { a, b, c, bias, aux }: MatmulBuffers,
  p: Pick<MatmulParams, 'M' | 'N' | 'K'> & Partial<Pick<MatmulParams, 'offA' | 'ldA' | 'offC' | 'alpha'>>,
  trans: Partial<Pick<MatmulConstants, 'TRANS_B'>>,
  epilogue: MatmulEpilogue,
  S: number,
  scratch: GPUBuffer,
  lora?: MatmulLora,
  copies = 1,
): Dispatch[] {
  if (S === 1 && copies !== 1) throw new Error('split-K: copies need a split product');
  if (S === 1) return [prepareMatmul(gpu, { a, b, c, bias, aux }, p, trans, epilogue, lora)];
  if ((epilogue === 'none') !== (aux === undefined))
    throw new Error(`split-K: epilogue ${epilogue} ${aux ? 'takes no' : 'needs an'} aux buffer`);
  const { M, N } = p;
  const extra = splitKSumExtras(scratch, lora, copies);
  return [
    prepareMatmulSplitKPartials(gpu, { a, b }, p, trans, S, scratch),
    gpu.prepare(
      matmulSplitKSum,
      {
        partial: scratch,
        bias: bias ?? scratch,
        c,
        aux: aux ?? matmulAuxPlaceholder(gpu),
        ...extra.buffers,
      },
      { M, N, S, hasBias: bias ? 1 : 0, offC: p.offC ?? 0, alpha: p.alpha ?? 1, ...extra.params },
      { EPILOGUE: MATMUL_EPILOGUE[epilogue], ...extra.constants },
    ),
  ];
}

/**
 * The first of prepareMatmulSplitK's two dispatches (S > 1): the batched matmul that writes the S partial
 * products [S, M, N] of op(a) op(b) into `scratch`, for a consumer that sums them itself, in chunk order, as
 * matmulSplitKSum would (layerNormForwardSum, layerNormBackwardSum: the sum's dispatch saved).
 */
export function prepareMatmulSplitKPartials(
  gpu: Gpu,
  { a, b }: Pick<MatmulBuffers, 'a' | 'b'>,
  p: Pick<MatmulParams, 'M' | 'N' | 'K'> & Partial<Pick<MatmulParams, 'offA' | 'ldA'>>,
  trans: Partial<Pick<MatmulConstants, 'TRANS_B'>>,
  S: number,
  scratch: GPUBuffer,
): Dispatch {
  const { M, N, K } = p;
  const chunks = Number.isInteger(S) && S >= 2 ? matmulSplitChunks(K, S) : null;
  if (!chunks) throw new Error(`split-K: K = ${K} does not cut into ${S} chunks`);
  const { chunk, last } = chunks;
  const transB = trans.TRANS_B ?? 0;
  // Item s: A[:, s·chunk ..] (columns, ldA = K) times B's rows s·chunk .. (NN) or its columns (NT, ldB = K).
  const partial = matmulParams({
    M,
    N,
    K: chunk,
    batch: S,
    offA: p.offA ?? 0,
    strideA: chunk,
    ldA: p.ldA || K,
    strideB: transB ? chunk : chunk * N,
    ldB: transB ? K : 0,
    strideC: M * N,
    kLast: last === chunk ? 0 : last,
  });
  return prepareMatmul(gpu, { a, b, c: scratch }, partial, { TRANS_B: transB });
}
