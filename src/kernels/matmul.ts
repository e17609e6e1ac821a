// Batched GEMM: C[bt] = alpha · op(A[bt]) · op(B[bt]) + beta · C[bt] + bias (see shaders/matmul.wgsl),
// then an optional fused epilogue (gelu, residual add, gelu gradient) through a fifth binding, aux.
// The model's variants: NN (x · W), NT (x · Aᵀ, logits = x · wteᵀ), TN (weight-style gradients dᵀ · x).
import geluMath from '../../shaders/gelu-math.wgsl?raw';
import epilogueSource from '../../shaders/matmul-epilogue.wgsl?raw';
import matmulSource from '../../shaders/matmul.wgsl?raw';
import wideMatmulSource from '../../shaders/matmul-wide.wgsl?raw';
import wideVec4MatmulSource from '../../shaders/matmul-wide-vec4.wgsl?raw';
import type { Dispatch, Gpu } from '../gpu/context';
import { defineKernel, type Kernel, MAX_WORKGROUPS_PER_DIMENSION } from '../gpu/kernel';
import { unrollLoops } from '../gpu/unroll';
import { geluDerivativeReference, geluReference } from './gelu';

// The epilogues call gelu-math.wgsl's functions: each shader follows them (the scalar kernels share
// matmul-epilogue.wgsl's epilogue function too).
const source = `${geluMath}\n${epilogueSource}\n${matmulSource}`;
const wideSource = `${geluMath}\n${epilogueSource}\n${wideMatmulSource}`;
const wideVec4Source = `${geluMath}\n${wideVec4MatmulSource}`;
/** matmulWideVec4's copies of its k loop per iteration for large products: the whole loop (TILE_K ≤ 32). */
export const MATMUL_UNROLL_DEFAULT = 32;

/**
 * What a matmul's store does with v = alpha·acc + beta·C + bias (override EPILOGUE; aux has C's layout):
 * none C = v; gelu C = gelu_new'(v) and aux = gelu_new(v); residual C = aux + v; geluGrad C = v · aux.
 * The forward's gelu keeps the slope (not v) for the backward, whose geluGrad then only multiplies: on the
 * H200 the gelu' of the old geluGrad (C = v · gelu_new'(aux), aux = v) made dFc 19 % slower than no
 * epilogue at lab-gpt's 8192×1024×256 (bench/RESULTS.md, 2026-12-01).
 */
export const MATMUL_EPILOGUE = { none: 0, gelu: 1, residual: 2, geluGrad: 3 } as const;
export type MatmulEpilogue = keyof typeof MATMUL_EPILOGUE;

/** Each thread owns a TM×TN register tile (fixed in the shader); a tile is WG_M·TM × WG_N·TN. */
export const MATMUL_THREAD_TILE = 4;

export const matmul: MatmulKernel = asMatmulKernel(
  defineKernel({
    label: 'matmul',
    source,
    bindings: { a: 'read', b: 'read', bias: 'read', c: 'write', aux: 'write' },
    params: {
      M: 'u32',
      N: 'u32',
      K: 'u32',
      batch: 'u32',
      offA: 'u32',
      offB: 'u32',
      offC: 'u32',
      strideA: 'u32',
      strideB: 'u32',
      strideC: 'u32',
      alpha: 'f32',
      beta: 'f32',
      hasBias: 'u32',
      ldA: 'u32',
      ldC: 'u32',
      ldB: 'u32',
      kLast: 'u32',
    },
    constants: { TRANS_A: 0, TRANS_B: 0, EPILOGUE: 0, WG_M: 16, WG_N: 16, TILE_K: 16, PAD: 1 },
    // x over N tiles, y over M tiles, z over the batch (the shader loops over what z cannot hold).
    workgroups: ({ M, N, batch }, k) => [
      Math.ceil(N / (k.WG_N * MATMUL_THREAD_TILE)),
      Math.ceil(M / (k.WG_M * MATMUL_THREAD_TILE)),
      Math.min(batch, MAX_WORKGROUPS_PER_DIMENSION),
    ],
  }),
);

export const MATMUL_WIDE_THREAD_TILE = 8;

/**
 * The same contract with an 8×8 register tile per thread (a tile is 8·WG_M × 8·WG_N), vec4 workgroup-
 * memory reads and a register prefetch of the next K tile: the fast path for large outputs. A separate
 * kernel because the register tile's size must be a WGSL const.
 */
export const matmulWide: MatmulKernel = asMatmulKernel(
  defineKernel({
    ...matmul,
    label: 'matmulWide',
    source: wideSource,
    constants: {
      TRANS_A: 0,
      TRANS_B: 0,
      EPILOGUE: 0,
      WG_M: 16,
      WG_N: 16,
      TILE_K: 8,
      UNROLL: MATMUL_UNROLL_DEFAULT,
    },
    // The k loop repeated as matmulWideVec4's (UNROLL: matmulUnrollFor; a host constant).
    specialize: (c) => unrollMatmulK(wideSource, c.TILE_K, matmulUnrollOverride ?? c.UNROLL),
    hostConstants: ['UNROLL'],
    workgroups: ({ M, N, batch }, k) => [
      Math.ceil(N / (k.WG_N * MATMUL_WIDE_THREAD_TILE)),
      Math.ceil(M / (k.WG_M * MATMUL_WIDE_THREAD_TILE)),
      Math.min(batch, MAX_WORKGROUPS_PER_DIMENSION),
    ],
  }),
);
/** Prefetch registers per thread and operand in matmul-wide.wgsl (one vec4). */
const MATMUL_WIDE_MAX_PREFETCH = 4;

/** Whether a tile configuration of `matmulWide` fits its prefetch registers. */
export function matmulWideFits(k: { WG_M: number; WG_N: number; TILE_K: number }): boolean {
  const threads = k.WG_M * k.WG_N;
  const loads = (tile: number) => Math.ceil((k.TILE_K * MATMUL_WIDE_THREAD_TILE * tile) / threads);
  return loads(k.WG_M) <= MATMUL_WIDE_MAX_PREFETCH && loads(k.WG_N) <= MATMUL_WIDE_MAX_PREFETCH;
}

/**
 * matmulWide with 16-byte global loads and stores (a, b, c bound as vec4 arrays) for 4-aligned shapes
 * (`matmulVec4Aligned`): no per-float bounds checks or index arithmetic. TILE_K must be a multiple of 4
 * and each staged tile at most 4 vec4s per thread (`matmulWideVec4Fits`).
 */
export const matmulWideVec4 = defineKernel({
  ...matmulWide,
  label: 'matmulWideVec4',
  source: wideVec4Source,
  // loraU, loraB: LoRA's up-projection added in the store (LORA_R > 0, `MatmulLora`); b where unused.
  bindings: { ...matmulWide.bindings, loraU: 'read', loraB: 'read' },
  params: { ...matmulWide.params, loraScale: 'f32', loraOffB: 'u32', loraStrideB: 'u32', loraRows: 'u32' },
  constants: { ...matmulWide.constants, LORA_R: 0 },
  // UNROLL: copies of the k loop's body per iteration (at most TILE_K: the whole loop), chosen per shape by
  // matmulUnrollFor; a host constant, the WGSL has no such override.
  specialize: (c) => unrollMatmulK(wideVec4Source, c.TILE_K, matmulUnrollOverride ?? c.UNROLL),
  hostConstants: ['UNROLL'],
});

/**
 * Work of one matmul dispatch (2·M·N·K·batch flops) from which matmulWideVec4 unrolls its k loop whole;
 * below it, four copies per iteration. On the H200 the whole unroll made large products faster (GPT-2 small's
 * step +8 %, lab-gpt at R = 64 +4 %) and small ones slower (lab-gpt at R = 1, ≤ 0.5 GFLOP per product: −11 %;
 * a longer shader fetched again at every short dispatch, we think), lab-gpt at R = 8 (1–4 GFLOP) the same
 * either way (bench/RESULTS.md, "the matmul's inner loop"; eight copies were slower than both).
 */
export const MATMUL_UNROLL_WHOLE_FLOPS = 2 ** 32;

/** Copies of the k loop per iteration of matmulWideVec4 and matmulWide for this product (MATMUL_UNROLL_WHOLE_FLOPS). */
export function matmulUnrollFor(p: Pick<MatmulParams, 'M' | 'N' | 'K' | 'batch'>): number {
  return 2 * p.M * p.N * p.K * Math.max(1, p.batch) >= MATMUL_UNROLL_WHOLE_FLOPS ? MATMUL_UNROLL_DEFAULT : 4;
}

/**
 * Copies of the k loop per iteration for every matmulWideVec4 pipeline of this process, overriding the
 * per-shape choice; null: matmulUnrollFor. The bench's `--matmul-unroll N` (issue 16: whole steps each way).
 */
let matmulUnrollOverride: number | null = null;
export function setMatmulUnroll(copies: number | null): void {
  if (copies !== null && (!Number.isInteger(copies) || copies < 1 || (copies & (copies - 1)) !== 0))
    throw new Error(`matmul unroll: ${copies} is not a power of two`);
  matmulUnrollOverride = copies;
}

const UNROLL_HEAD = 'for (var kk = 0u; kk < TILE_K; kk++) {';

/**
 * matmul-wide-vec4.wgsl with its multiply's k loop repeated `tileK` times, kk a constant in each copy
 * (unrollLoops, src/gpu/unroll.ts). On the H200 the unrolled kernel ran 9–25 % faster than the loop at the
 * step's shapes (bench/experiments/matmul-variants, bench/RESULTS.md "the matmul's inner loop"): the driver's
 * compiler does not unroll it. Throws if the shader no longer has that loop exactly once.
 */
export function unrollMatmulK(source: string, tileK: number, by = Infinity): string {
  if (source.split(UNROLL_HEAD).length !== 2)
    throw new Error('unrollMatmulK: the shader does not have its k loop exactly once');
  return unrollLoops(source, { TILE_K: tileK }, Math.min(by, tileK));
}
/** Prefetch vec4 registers per thread and operand in matmul-wide-vec4.wgsl. */
const MATMUL_VEC4_MAX_PREFETCH = 4;

/** Whether a tile configuration of `matmulWideVec4` fits its shader. */
export function matmulWideVec4Fits(k: { WG_M: number; WG_N: number; TILE_K: number }): boolean {
  const threads = k.WG_M * k.WG_N;
  const loads = (wg: number) => Math.ceil((k.TILE_K * 2 * wg) / threads);
  return (
    k.TILE_K % 4 === 0 &&
    loads(k.WG_M) <= MATMUL_VEC4_MAX_PREFETCH &&
    loads(k.WG_N) <= MATMUL_VEC4_MAX_PREFETCH
  );
}

/**
 * Whether `matmulWideVec4` may run this matmul: with M, N, K, offsets, leading dimensions and (batched) strides
 * multiples of 4, every
 * row of every operand starts 16-byte aligned and a vec4 is wholly inside a matrix or wholly outside.
 */
export function matmulVec4Aligned(p: MatmulParams): boolean {
  // A single item never steps by a stride: its strides, whatever their value, do not matter.
  const strides = p.batch > 1 ? [p.strideA, p.strideB, p.strideC] : [];
  return [p.M, p.N, p.K, p.offA, p.offB, p.offC, p.ldA, p.ldB, p.ldC, ...strides].every((v) => v % 4 === 0);
}

/**
 * The matmul kernels as one type: matmulWideVec4's bindings and params. The others declare a prefix of them
 * (no loraU, loraB; Params up to kLast), and `prepare` binds and packs only what a kernel declares.
 */
export type MatmulKernel = Kernel<'a' | 'b' | 'bias' | 'c' | 'aux' | 'loraU' | 'loraB', keyof MatmulParams>;
/** A matmul kernel declaring a prefix of MatmulKernel's bindings and params, typed as MatmulKernel. */
function asMatmulKernel(k: unknown): MatmulKernel {
  return k as MatmulKernel;
}

export interface MatmulChoice {
  kernel: MatmulKernel;
  constants: Record<string, number>;
}

/** Bytes of workgroup memory a wide-kernel configuration declares (two padded k-major vec4 tiles). */
export function matmulWideWorkgroupBytes(k: { WG_M: number; WG_N: number; TILE_K: number }): number {
  return 16 * k.TILE_K * (2 * k.WG_M + 1 + 2 * k.WG_N + 1);
}

/**
 * Workgroup memory of a wide kernel's configuration (matmulWide, matmulWideVec4), so a
 * picker or a bench can hold it against the device's maxComputeWorkgroupStorageSize.
 */
export function matmulWorkgroupBytes(kernel: MatmulKernel, k: Record<string, number>): number {
  const tile = { ...kernel.constants, ...k } as unknown as {
    WG_M: number;
    WG_N: number;
    TILE_K: number;
    PAD: number;
  };
  if (kernel === matmulWide || kernel === matmulWideVec4) return matmulWideWorkgroupBytes(tile);
  // matmul.wgsl: two TILE_K × (4·WG + PAD) f32 tiles.
  return 4 * tile.TILE_K * (4 * tile.WG_M + tile.PAD + 4 * tile.WG_N + tile.PAD);
}

/**
 * Workgroup memory the picker's configurations stay within: what desktop adapters and SwiftShader report
 * (WebGPU's guaranteed default is 16 KiB; src/gpu/device.ts raises the limit to the adapter's).
 */
export const MATMUL_DEFAULT_WORKGROUP_STORAGE = 32768;

const V4_128x128_K16 = { WG_M: 16, WG_N: 16, TILE_K: 16 };
// 33 KiB of workgroup memory: only where the device allows it (the H200 offers 48 KiB; SwiftShader 32).
const V4_128x128_K32 = { WG_M: 16, WG_N: 16, TILE_K: 32 };
const V4_128x64_K16 = { WG_M: 16, WG_N: 8, TILE_K: 16 };
// 192 threads, 128×96 outputs: lab-gpt's c_attn at R = 8 (8192×768) in 512 tiles rather than 384 of 128×128.
const V4_128x96_K16 = { WG_M: 16, WG_N: 12, TILE_K: 16 };
const WIDE_128x128 = { WG_M: 16, WG_N: 16, TILE_K: 8 };
const WIDE_128x64 = { WG_M: 16, WG_N: 8, TILE_K: 4 };

/**
 * Every configuration the picker may return, and a few it does not, so that bench/kernels.ts times them
 * side by side at the training step's shapes: [kernel, constants].
 */
export const MATMUL_CANDIDATES: [MatmulKernel, Record<string, number>][] = [
  [matmulWideVec4, V4_128x128_K16],
  [matmulWideVec4, { WG_M: 16, WG_N: 16, TILE_K: 8 }],
  // 33 KiB of workgroup memory: picked only on devices that offer it (matmulVariant's workgroupStorage).
  [matmulWideVec4, V4_128x128_K32],
  [matmulWideVec4, { WG_M: 16, WG_N: 8, TILE_K: 8 }],
  [matmulWideVec4, V4_128x64_K16],
  [matmulWideVec4, V4_128x96_K16],
  [matmulWideVec4, { WG_M: 8, WG_N: 8, TILE_K: 4 }],
  [matmulWide, WIDE_128x128],
  [matmulWide, WIDE_128x64],
];

/**
 * The vec4 tile matmulVariant takes for 257–511 output tiles of 128×128 ('k16': 128×128 with TILE_K 16, the
 * rule; 'k32': TILE_K 32; '128x64': 128×64 with TILE_K 16; '128x96': 128×96 with TILE_K 16, 192 threads). The
 * bench's `--matmul-mid-tile`, for a whole
 * process, to time whole steps each way (lab-gpt's c_attn at R = 8 has 384 such tiles; the split products'
 * 256 keep the rule).
 */
export type MatmulMidTile = 'k16' | 'k32' | '128x64' | '128x96';
let midTile: MatmulMidTile = 'k16';
export function setMatmulMidTile(tile: MatmulMidTile): void {
  midTile = tile;
}

/**
 * The kernel and override constants for a matmul of this shape on a device with `workgroupStorage` bytes
 * of workgroup memory. Outputs narrower than 64 in M or N (the LoRA products with N = r), small ones, and
 * every matmul on a device with less than MATMUL_DEFAULT_WORKGROUP_STORAGE (WebGPU's guaranteed 16 KiB)
 * keep the 4×4 kernel with the caller's constants. The thresholds come from H100 timings: see
 * bench/RESULTS.md, "How the matmul picker chooses".
 */
export function matmulVariant(
  p: MatmulParams,
  t: MatmulConstants,
  workgroupStorage = MATMUL_DEFAULT_WORKGROUP_STORAGE,
): MatmulChoice {
  if (workgroupStorage < MATMUL_DEFAULT_WORKGROUP_STORAGE) return { kernel: matmul, constants: { ...t } };
  // The wide kernels also get how far to unroll their k loop for this product (a host constant).
  const unrolls = (kernel: MatmulKernel) => kernel === matmulWideVec4 || kernel === matmulWide;
  const pick = (kernel: MatmulKernel, constants: Record<string, number>): MatmulChoice => ({
    kernel,
    constants: {
      TRANS_A: t.TRANS_A,
      TRANS_B: t.TRANS_B,
      ...constants,
      ...(unrolls(kernel) ? { UNROLL: matmulUnrollFor(p) } : {}),
    },
  });
  const fits = (kernel: MatmulKernel, constants: Record<string, number>) =>
    matmulWorkgroupBytes(kernel, constants) <= workgroupStorage;
  if (p.M >= 64 && p.N >= 64) {
    const items = Math.min(p.batch, MAX_WORKGROUPS_PER_DIMENSION);
    const tiles128 = Math.ceil(p.M / 128) * Math.ceil(p.N / 128) * items;
    const tiles64 = Math.ceil(p.M / 128) * Math.ceil(p.N / 64) * items;
    if (matmulVec4Aligned(p)) {
      // Long K too: the H100's 4096³ once favoured the scalar kernel (32.6 against 30.5 TFLOP/s), but with the
      // multiply four k per iteration the vec4 kernel is ahead at GPT-2's K = 3072 products on the H200
      // (bench/RESULTS.md, "the matmul's inner loop").
      const mid = tiles128 > 256 && tiles128 < 512;
      if (tiles128 >= 256 && (!mid || midTile === 'k16')) return pick(matmulWideVec4, V4_128x128_K16);
      if (mid && midTile === '128x64') return pick(matmulWideVec4, V4_128x64_K16);
      if (mid && midTile === '128x96') return pick(matmulWideVec4, V4_128x96_K16);
      // 128–255 output tiles of 128×128 (lab-gpt's N = 256 products at R = 8): with the deeper K tile they ran
      // 9–15 % faster than the 128×64 tile on the H200 (bench/RESULTS.md, 12:10 UTC kernels table).
      if (tiles128 >= 128 && fits(matmulWideVec4, V4_128x128_K32))
        return pick(matmulWideVec4, V4_128x128_K32);
      if (tiles64 >= 32) return pick(matmulWideVec4, V4_128x64_K16);
    } else {
      if (tiles128 >= 128) return pick(matmulWide, WIDE_128x128);
      if (tiles64 >= 32) return pick(matmulWide, WIDE_128x64);
    }
  }
  return { kernel: matmul, constants: { ...t } };
}

export interface MatmulParams {
  M: number;
  N: number;
  K: number;
  batch: number;
  offA: number;
  offB: number;
  offC: number;
  strideA: number;
  strideB: number;
  strideC: number;
  alpha: number;
  beta: number;
  hasBias: number;
  /**
   * Elements between consecutive rows of A as stored (M×K, or K×M with TRANS_A) and of C (and aux); 0: packed
   * (K or M, and N). Wider, the operand is a block of columns of a wider matrix: the tied LM head over a
   * vocabulary in pieces writes logits[:, piece] and reads dlogits[:, piece] (gpu-model.ts).
   */
  ldA: number;
  ldC: number;
  /**
   * Elements between consecutive rows of B as stored (K×N, or N×K with TRANS_B); 0: packed. Wider, B is a
   * block of columns of a wider matrix: a split-K chunk of Wᵀ (matmul-splitk.ts).
   */
  ldB: number;
  /**
   * K of the last batch item when it is shorter than K (0: all items K long): the last chunk of a split-K
   * product whose chunks do not divide K (matmul-splitk.ts) stops at the matrix's end.
   */
  kLast: number;
  /** LoRA's up-projection folded into the store (matmulWideVec4 with LORA_R > 0; `MatmulLora`), else 0. */
  loraScale: number;
  loraOffB: number;
  loraStrideB: number;
  loraRows: number;
}

export interface MatmulConstants {
  TRANS_A: 0 | 1;
  TRANS_B: 0 | 1;
  /** Tile overrides (defaults in `matmul.constants`): threads along M and N, K-step, tile row padding. */
  WG_M?: number;
  WG_N?: number;
  TILE_K?: number;
  PAD?: number;
}

/**
 * Full params from the shape and what differs from the plain case: batch 1, offsets 0, operands packed
 * back to back (stride = size of one operand), alpha 1, beta 0, no bias.
 */
export function matmulParams(p: Pick<MatmulParams, 'M' | 'N' | 'K'> & Partial<MatmulParams>): MatmulParams {
  return {
    batch: 1,
    offA: 0,
    offB: 0,
    offC: 0,
    strideA: p.M * p.K,
    strideB: p.K * p.N,
    strideC: p.M * p.N,
    alpha: 1,
    beta: 0,
    hasBias: 0,
    ldA: 0,
    ldC: 0,
    ldB: 0,
    kLast: 0,
    loraScale: 0,
    loraOffB: 0,
    loraStrideB: 0,
    loraRows: 0,
    ...p,
  };
}

/**
 * LoRA's up-projection folded into a product's store (matmulWideVec4 only, `matmulLoraFoldable`):
 * C[m, :] (before the epilogue) += scale · u[m, :] · Bᵀ_run with run = m / rowsPerRun, where u is [M, r] and
 * run's Bᵀ [N, r] starts at element offB + run · strideB of B. The same float32 as the separate product
 * u · Bᵀ_run with alpha = scale and beta = 1 after this one (prepareLoraForward).
 */
export interface MatmulLora {
  u: GPUBuffer;
  B: GPUBuffer;
  r: number;
  scale: number;
  offB: number;
  strideB: number;
  rowsPerRun: number;
}

/**
 * Whether `prepareMatmul` can fold `lora` into this product on this device: the product takes matmulWideVec4
 * with one batch item, and u's and B's rows are whole vec4s (r, offB and strideB multiples of 4).
 */
export function matmulLoraFoldable(
  gpu: Gpu,
  p: Pick<MatmulParams, 'M' | 'N' | 'K'> & Partial<MatmulParams>,
  trans: Partial<Pick<MatmulConstants, 'TRANS_A' | 'TRANS_B'>>,
  lora: Pick<MatmulLora, 'r' | 'offB' | 'strideB' | 'rowsPerRun'>,
): boolean {
  const params = matmulParams(p);
  const t: MatmulConstants = { TRANS_A: trans.TRANS_A ?? 0, TRANS_B: trans.TRANS_B ?? 0 };
  const { kernel } = matmulVariant(params, t, gpu.device.limits.maxComputeWorkgroupStorageSize);
  return (
    kernel === matmulWideVec4 &&
    params.batch === 1 &&
    lora.r > 0 &&
    lora.r % 4 === 0 &&
    lora.offB % 4 === 0 &&
    lora.strideB % 4 === 0 &&
    lora.rowsPerRun > 0
  );
}

/** The operands of a matmul; `bias` (optional) is added per column when given. */
export interface MatmulBuffers {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  bias?: GPUBuffer;
  /** The epilogue's second operand or output, laid out as c; required by every epilogue but 'none'. */
  aux?: GPUBuffer;
}

// Keyed by the Gpu, not its device: a planning Gpu (src/gpu/planning.ts) shares the real device's limits but
// hands out stand-in buffers, which must never be bound on the real device.
const placeholders = new WeakMap<Gpu, GPUBuffer>();

/**
 * A 16-byte buffer bound as `aux` where the epilogue is 'none': the binding is writable storage, which
 * must not alias another writable binding of the dispatch (so not c), and is never touched.
 */
export function matmulAuxPlaceholder(gpu: Gpu): GPUBuffer {
  let buf = placeholders.get(gpu);
  if (!buf) {
    buf = gpu.buffer(16, 'matmul.auxPlaceholder');
    placeholders.set(gpu, buf);
  }
  return buf;
}

/**
 * The bindings of the matmul kernels: an unused bias and LoRA operands are bound to b (read-only, never
 * read), an unused aux to the placeholder. Kernels without the LoRA bindings ignore them.
 */
export function matmulBindings(
  gpu: Gpu,
  { a, b, c, bias, aux }: MatmulBuffers,
  lora?: Pick<MatmulLora, 'u' | 'B'>,
): MatmulBuffers & { bias: GPUBuffer; aux: GPUBuffer; loraU: GPUBuffer; loraB: GPUBuffer } {
  return {
    a,
    b,
    c,
    bias: bias ?? b,
    aux: aux ?? matmulAuxPlaceholder(gpu),
    loraU: lora?.u ?? b,
    loraB: lora?.B ?? b,
  };
}

/**
 * C = alpha · op(a) op(b) + beta · C (+ bias) (+ LoRA's up-projection, `lora`), then the epilogue, with the
 * kernel matmulVariant picks for this shape and this device. `p` is matmulParams' shorthand; transposes
 * default to none. `lora` needs `matmulLoraFoldable`.
 */
export function prepareMatmul(
  gpu: Gpu,
  buffers: MatmulBuffers,
  p: Pick<MatmulParams, 'M' | 'N' | 'K'> & Partial<MatmulParams>,
  trans: Partial<Pick<MatmulConstants, 'TRANS_A' | 'TRANS_B'>> = {},
  epilogue: MatmulEpilogue = 'none',
  lora?: MatmulLora,
): Dispatch {
  if ((epilogue === 'none') !== (buffers.aux === undefined)) {
    throw new Error(`matmul: epilogue ${epilogue} ${buffers.aux ? 'takes no' : 'needs an'} aux buffer`);
  }
  if (lora && !matmulLoraFoldable(gpu, p, trans, lora)) {
    throw new Error(`matmul: LoRA r ${lora.r} cannot be folded into this product (matmulLoraFoldable)`);
  }
  const params = matmulParams({
    ...p,
    hasBias: buffers.bias ? 1 : 0,
    ...(lora
      ? { loraScale: lora.scale, loraOffB: lora.offB, loraStrideB: lora.strideB, loraRows: lora.rowsPerRun }
      : {}),
  });
  const t: MatmulConstants = { TRANS_A: trans.TRANS_A ?? 0, TRANS_B: trans.TRANS_B ?? 0 };
  const storage = gpu.device.limits.maxComputeWorkgroupStorageSize;
  const { kernel, constants } = matmulVariant(params, t, storage);
  return gpu.prepare(kernel, matmulBindings(gpu, buffers, lora), params, {
    ...constants,
    EPILOGUE: MATMUL_EPILOGUE[epilogue],
    ...(lora ? { LORA_R: lora.r } : {}),
  });
}

/**
 * Elements a buffer must hold for operand `which` of a matmul (its last batch item's end); `t` places A's and
 * B's rows when ldA or ldB is set.
 */
export function matmulExtent(
  p: MatmulParams,
  which: 'a' | 'b' | 'c',
  t: Partial<Pick<MatmulConstants, 'TRANS_A' | 'TRANS_B'>> = {},
): number {
  const [off, stride, size] =
    which === 'a'
      ? [p.offA, p.strideA, t.TRANS_A ? blockSize(p.K, p.M, p.ldA) : blockSize(p.M, p.K, p.ldA)]
      : which === 'b'
        ? [p.offB, p.strideB, t.TRANS_B ? blockSize(p.N, p.K, p.ldB) : blockSize(p.K, p.N, p.ldB)]
        : [p.offC, p.strideC, blockSize(p.M, p.N, p.ldC)];
  return p.batch === 0 ? 0 : off + (p.batch - 1) * stride + size;
}

/** Elements from the first to past the last of a rows × cols block with `ld` between rows (0: packed). */
function blockSize(rows: number, cols: number, ld: number): number {
  return rows === 0 ? 0 : (rows - 1) * (ld || cols) + cols;
}

/** Index of element (row, col) of a block whose rows are `ld` apart (0: packed, `cols`). */
function at(base: number, row: number, col: number, cols: number, ld: number): number {
  return base + row * (ld || cols) + col;
}

/**
 * Float64 reference, used only by tests: returns a copy of `c` with every C[bt] replaced. Elements of `c`
 * outside the written blocks are kept, so a test also sees writes that stray out of place.
 */
export function matmulReference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  bias: ArrayLike<number>,
  c: ArrayLike<number>,
  p: MatmulParams,
  t: MatmulConstants,
): Float64Array {
  const out = Float64Array.from(c);
  const { M, N, K } = p;
  for (let bt = 0; bt < p.batch; bt++) {
    const baseA = p.offA + bt * p.strideA;
    const baseB = p.offB + bt * p.strideB;
    const baseC = p.offC + bt * p.strideC;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const av = t.TRANS_A ? a[at(baseA, k, m, M, p.ldA)] : a[at(baseA, m, k, K, p.ldA)];
          const bv = t.TRANS_B ? b[at(baseB, n, k, K, p.ldB)] : b[at(baseB, k, n, N, p.ldB)];
          acc += av * bv;
        }
        const idx = at(baseC, m, n, N, p.ldC);
        let v = Math.fround(p.alpha) * acc;
        if (p.beta !== 0) v += Math.fround(p.beta) * c[idx];
        if (p.hasBias) v += bias[n];
        out[idx] = v;
      }
    }
  }
  return out;
}

/**
 * Float64 reference of an epilogue, used only by tests: `c` is matmulReference's output (v), `aux` the
 * epilogue's input; returns C and aux after the epilogue over the written blocks, copies elsewhere.
 */
export function matmulEpilogueReference(
  c: ArrayLike<number>,
  aux: ArrayLike<number>,
  p: MatmulParams,
  epilogue: MatmulEpilogue,
): { c: Float64Array; aux: Float64Array } {
  const outC = Float64Array.from(c);
  const outAux = Float64Array.from(aux);
  for (let bt = 0; bt < p.batch; bt++) {
    const base = p.offC + bt * p.strideC;
    for (let m = 0; m < p.M; m++) {
      for (let n = 0; n < p.N; n++) {
        const i = at(base, m, n, p.N, p.ldC);
        if (epilogue === 'gelu') {
          outAux[i] = geluReference(c[i]);
          outC[i] = geluDerivativeReference(c[i]);
        } else if (epilogue === 'residual') outC[i] = aux[i] + c[i];
        else if (epilogue === 'geluGrad') outC[i] = c[i] * aux[i];
      }
    }
  }
  return { c: outC, aux: outAux };
}

/**
 * Test tolerance for a float32 GEMM against its float64 reference. The rounding error of a float32 dot
 * product of K terms grows like eps·√K relative to the scale of the outputs (not to each output: entries
 * near 0 come from cancellation). Hence rtol = 1e-5·√K and atol = 1e-5·√K·rms(want): about 100 float32
 * ulps of headroom per √K, while a wrong index or a missing tile errs by the order of rms(want).
 */
export function gemmTolerance(want: ArrayLike<number>, K: number): { rtol: number; atol: number } {
  let ss = 0;
  for (let i = 0; i < want.length; i++) ss += want[i] * want[i];
  const rms = Math.sqrt(ss / Math.max(1, want.length));
  const rel = 1e-5 * Math.sqrt(Math.max(1, K));
  return { rtol: rel, atol: rel * rms };
}
