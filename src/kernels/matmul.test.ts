import { describe, expect, it } from 'vitest';
import {
  matmul,
  matmulVariant,
  matmulWide,
  matmulWideFits,
  matmulWideVec4,
  matmulWideVec4Fits,
  matmulWorkgroupBytes,
  MATMUL_CANDIDATES,
  matmulVec4Aligned,
  matmulWideWorkgroupBytes,
  MATMUL_DEFAULT_WORKGROUP_STORAGE,
  MATMUL_EPILOGUE,
  gemmTolerance,
  type MatmulKernel,
  matmulExtent,
  matmulParams,
  matmulReference,
  matmulEpilogueReference,
  type MatmulEpilogue,
  type MatmulConstants,
  type MatmulParams,
  unrollMatmulK,
  matmulUnrollFor,
} from './matmul';
import { randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

const VARIANTS: [string, MatmulConstants][] = [
  ['NN', { TRANS_A: 0, TRANS_B: 0 }],
  ['NT', { TRANS_A: 0, TRANS_B: 1 }],
  ['TN', { TRANS_A: 1, TRANS_B: 0 }],
  ['TT', { TRANS_A: 1, TRANS_B: 1 }],
];

interface Case {
  p: MatmulParams;
  t: MatmulConstants;
  seed: number;
  /** Initial content of c; random when omitted. */
  c?: Float32Array;
  constants?: Record<string, number>;
  kernel?: MatmulKernel;
  epilogue?: MatmulEpilogue;
}

/**
 * Random values in the blocks of operand `which`, NaN in the gaps between blocks and in a tail past the
 * last one: a tile that reads beyond its block (for k >= K, say) then poisons the result even where its
 * partner operand is zero-padded, as a diverged neighbouring run's data would.
 */
function operand(p: MatmulParams, which: 'a' | 'b', seed: number, t: MatmulConstants): Float32Array {
  // Stored rows × columns, and the elements between rows (ldA, ldB: 0 is packed).
  const [off, stride, rows, cols, ld] =
    which === 'a'
      ? [p.offA, p.strideA, ...(t.TRANS_A ? [p.K, p.M] : [p.M, p.K]), p.ldA]
      : [p.offB, p.strideB, ...(t.TRANS_B ? [p.N, p.K] : [p.K, p.N]), p.ldB];
  const values = randn(matmulExtent(p, which, t) + 8, seed);
  const out = new Float32Array(values.length).fill(NaN);
  for (let bt = 0; bt < p.batch; bt++) {
    for (let row = 0; row < rows; row++) {
      const start = off + bt * stride + row * (ld || cols);
      out.set(values.subarray(start, start + cols), start);
    }
  }
  return out;
}

async function check({ p, t, seed, c, constants, kernel = matmul, epilogue = 'none' }: Case): Promise<void> {
  const a = operand(p, 'a', seed, t);
  const b = operand(p, 'b', seed + 1, t);
  const bias = randn(p.N, seed + 2);
  // One spare element past the end catches writes beyond the last C block.
  const c0 = c ?? randn(matmulExtent(p, 'c') + 1, seed + 3);
  // aux has C's layout; 4 elements (the placeholder's 16 bytes) when the epilogue does not use it.
  const aux = epilogue === 'none' ? new Float32Array(4) : randn(matmulExtent(p, 'c') + 1, seed + 4);
  const EPILOGUE = MATMUL_EPILOGUE[epilogue];
  // LoRA's operands are unused here (LORA_R = 0: the LoRA tests below).
  const lora = { loraU: 4, loraB: 4 };
  const got = await runOnce(
    kernel,
    { a, b, bias, c: c0, aux, ...lora },
    { ...p },
    { ...t, ...constants, EPILOGUE },
  );
  const want = matmulEpilogueReference(matmulReference(a, b, bias, c0, p, t), aux, p, epilogue);
  const what = `${kernel.label} ${epilogue} ${JSON.stringify({ ...p, ...constants })}`;
  expectAllClose(got.c, want.c, gemmTolerance(want.c, p.K), what);
  expectAllClose(got.aux, want.aux, gemmTolerance(want.aux, p.K), `${what} aux`);
}

/**
 * A, B and C as blocks of columns of wider matrices (ld past the block's row length, by a multiple of 4 that
 * the aligned kernel needs), at offsets inside their rows, for two batch items: the LM head's vocabulary
 * pieces (A, C) and split-K chunks of Wᵀ (B). The gaps between A's and B's rows are NaN (operand) and C's
 * are random (check): a read or write off the block shows.
 */
function columnBlocks(M: number, N: number, K: number): MatmulParams {
  const ld = Math.max(M, N, K) + 24;
  const span = Math.max(M, N, K) * ld + 8;
  return matmulParams({
    M,
    N,
    K,
    batch: 2,
    offA: 4,
    ldA: ld,
    strideA: span,
    offB: 12,
    ldB: ld,
    strideB: span,
    offC: 8,
    ldC: ld,
    strideC: span,
    beta: 0.5,
    hasBias: 1,
  });
}

describe('matmul', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 13, 5],
    [65, 33, 130],
    [128, 64, 96],
  ];
  const cases = VARIANTS.flatMap(([name, t]) => shapes.map(([M, N, K]) => [name, M, N, K, t] as const));

  it.each(cases)('%s M=%i N=%i K=%i', async (_name, M, N, K, t) => {
    await check({ p: matmulParams({ M, N, K }), t, seed: M * 7 + N * 3 + K });
  });

  it.each(VARIANTS)('%s batch=3, shared B (stride 0), offsets, alpha/beta/bias', async (_name, t) => {
    const M = 37;
    const N = 70;
    const K = 45;
    const p = matmulParams({
      M,
      N,
      K,
      batch: 3,
      offA: 5,
      strideA: M * K + 11,
      offB: 9,
      strideB: 0,
      offC: 3,
      strideC: M * N + 2,
      alpha: 0.75,
      beta: -1.5,
      hasBias: 1,
    });
    await check({ p, t, seed: 101 });
  });

  it.each(VARIANTS)('%s beta = 0 never reads C (NaN-filled)', async (_name, t) => {
    const p = matmulParams({ M: 19, N: 66, K: 17, batch: 2, alpha: 2, beta: 0, hasBias: 1 });
    const c = new Float32Array(matmulExtent(p, 'c')).fill(NaN);
    await check({ p, t, seed: 7, c });
  });

  it.each(VARIANTS)('%s leading dimensions: blocks of columns of wider A and C', async (_name, t) => {
    await check({ p: columnBlocks(37, 70, 45), t, seed: 31 });
  });

  it('batch beyond 65535 is walked by the z loop', async () => {
    // Tiny tiles (1 thread per workgroup) keep 65537 batch items fast on a CPU Vulkan.
    const constants = { WG_M: 1, WG_N: 1, TILE_K: 2 };
    const p = matmulParams({ M: 2, N: 3, K: 3, batch: 65537, strideB: 0, beta: 1 });
    expect(matmul.workgroups(p, { ...matmul.constants, ...constants })[2]).toBe(65535);
    await check({ p, t: { TRANS_A: 0, TRANS_B: 1 }, seed: 5, constants });
  });

  it.each([
    ['8x8 threads, TILE_K=8', { WG_M: 8, WG_N: 8, TILE_K: 8, PAD: 0 }],
    ['8x16 threads, TILE_K=32', { WG_M: 8, WG_N: 16, TILE_K: 32, PAD: 1 }],
    ['16x8 threads, TILE_K=4', { WG_M: 16, WG_N: 8, TILE_K: 4, PAD: 1 }],
  ])('tile overrides: %s', async (_name, constants) => {
    for (const [, t] of VARIANTS) {
      await check({ p: matmulParams({ M: 53, N: 41, K: 77, beta: 0.5 }), t, seed: 3, constants });
    }
  });
});

// matmulWide with each tile configuration the picker uses; shapes straddle the 64- and 128-wide tiles.
const WIDE_TILES: [string, Record<string, number>][] = [
  ['16x16 threads (128x128)', { WG_M: 16, WG_N: 16, TILE_K: 8 }],
  ['16x8 threads (128x64)', { WG_M: 16, WG_N: 8, TILE_K: 4 }],
  ['8x8 threads (64x64)', { WG_M: 8, WG_N: 8, TILE_K: 4 }],
  ['4x8 threads, TILE_K=2', { WG_M: 4, WG_N: 8, TILE_K: 2 }],
];

describe('matmulWide', () => {
  const kernel = matmulWide;
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 13, 5],
    [130, 67, 21],
    [64, 136, 33],
  ];

  it.each(WIDE_TILES)('%s: all transposes, odd shapes', async (_name, constants) => {
    expect(matmulWideFits(constants as { WG_M: number; WG_N: number; TILE_K: number })).toBe(true);
    for (const [, t] of VARIANTS) {
      for (const [M, N, K] of shapes) {
        await check({ p: matmulParams({ M, N, K }), t, seed: M * 7 + N * 3 + K, constants, kernel });
      }
    }
  });

  it.each(VARIANTS)('%s batch=3, shared B (stride 0), offsets, alpha/beta/bias', async (_name, t) => {
    const M = 37;
    const N = 70;
    const K = 45;
    const p = matmulParams({
      M,
      N,
      K,
      batch: 3,
      offA: 5,
      strideA: M * K + 11,
      offB: 9,
      strideB: 0,
      offC: 3,
      strideC: M * N + 2,
      alpha: 0.75,
      beta: -1.5,
      hasBias: 1,
    });
    await check({ p, t, seed: 101, constants: { WG_M: 8, WG_N: 8, TILE_K: 4 }, kernel });
  });

  it.each(VARIANTS)('%s beta = 0 never reads C (NaN-filled)', async (_name, t) => {
    const p = matmulParams({ M: 19, N: 66, K: 17, batch: 2, alpha: 2, beta: 0, hasBias: 1 });
    const c = new Float32Array(matmulExtent(p, 'c')).fill(NaN);
    await check({ p, t, seed: 7, c, constants: { WG_M: 8, WG_N: 8, TILE_K: 4 }, kernel });
  });

  it.each(VARIANTS)('%s leading dimensions: blocks of columns of wider A and C', async (_name, t) => {
    await check({
      p: columnBlocks(37, 70, 45),
      t,
      seed: 31,
      constants: { WG_M: 8, WG_N: 8, TILE_K: 4 },
      kernel,
    });
  });

  it('batch beyond the z grid is walked by the z loop', async () => {
    const constants = { WG_M: 2, WG_N: 2, TILE_K: 1 };
    expect(matmulWideFits(constants)).toBe(true);
    const p = matmulParams({ M: 2, N: 3, K: 3, batch: 65537, strideB: 0, beta: 1 });
    expect(kernel.workgroups(p, { ...kernel.constants, ...constants })[2]).toBe(65535);
    await check({ p, t: { TRANS_A: 1, TRANS_B: 0 }, seed: 5, constants, kernel });
  });
});

// matmulWideVec4 on 4-aligned shapes only (the picker's precondition); sizes still straddle the tiles and
// K is not always a multiple of TILE_K, so edge tiles and the K tail are exercised.
const VEC4_TILES: [string, Record<string, number>][] = [
  ['16x16 threads, TILE_K=8', { WG_M: 16, WG_N: 16, TILE_K: 8 }],
  ['16x16 threads, TILE_K=16', { WG_M: 16, WG_N: 16, TILE_K: 16 }],
  ['16x8 threads, TILE_K=16', { WG_M: 16, WG_N: 8, TILE_K: 16 }],
  ['16x8 threads, TILE_K=4', { WG_M: 16, WG_N: 8, TILE_K: 4 }],
  ['16x8 threads, TILE_K=8', { WG_M: 16, WG_N: 8, TILE_K: 8 }],
  // 192 threads (the 128×96 tile): 2⅔ vec4s of A per thread, so the third slot is partly used.
  ['16x12 threads, TILE_K=16', { WG_M: 16, WG_N: 12, TILE_K: 16 }],
  ['8x8 threads, TILE_K=4', { WG_M: 8, WG_N: 8, TILE_K: 4 }],
  // 3 and 4 vec4s per thread and operand (all prefetch slots in use).
  ['8x8 threads, TILE_K=12', { WG_M: 8, WG_N: 8, TILE_K: 12 }],
  ['8x8 threads, TILE_K=16', { WG_M: 8, WG_N: 8, TILE_K: 16 }],
];

describe('matmulWideVec4', () => {
  const kernel = matmulWideVec4;
  const shapes: [number, number, number][] = [
    [4, 4, 4],
    [12, 20, 28],
    [132, 68, 20],
    [64, 136, 36],
  ];

  it.each(VEC4_TILES)('%s: all transposes, aligned odd shapes', async (_name, constants) => {
    expect(matmulWideVec4Fits(constants as { WG_M: number; WG_N: number; TILE_K: number })).toBe(true);
    for (const [, t] of VARIANTS) {
      for (const [M, N, K] of shapes) {
        const p = matmulParams({ M, N, K });
        expect(matmulVec4Aligned(p)).toBe(true);
        await check({ p, t, seed: M * 7 + N * 3 + K, constants, kernel });
      }
    }
  });

  it.each(VARIANTS)('%s batch=3, shared B (stride 0), aligned offsets, alpha/beta/bias', async (_name, t) => {
    const M = 36;
    const N = 68;
    const K = 44;
    const p = matmulParams({
      M,
      N,
      K,
      batch: 3,
      offA: 4,
      strideA: M * K + 12,
      offB: 8,
      strideB: 0,
      offC: 12,
      strideC: M * N + 4,
      alpha: 0.75,
      beta: -1.5,
      hasBias: 1,
    });
    expect(matmulVec4Aligned(p)).toBe(true);
    await check({ p, t, seed: 101, constants: { WG_M: 8, WG_N: 8, TILE_K: 4 }, kernel });
  });

  it.each(VARIANTS)('%s beta = 0 never reads C (NaN-filled)', async (_name, t) => {
    const p = matmulParams({ M: 20, N: 68, K: 16, batch: 2, alpha: 2, beta: 0, hasBias: 1 });
    const c = new Float32Array(matmulExtent(p, 'c')).fill(NaN);
    await check({ p, t, seed: 7, c, constants: { WG_M: 16, WG_N: 8, TILE_K: 8 }, kernel });
  });

  it.each(VARIANTS)('%s leading dimensions: blocks of columns of wider A and C', async (_name, t) => {
    const p = columnBlocks(36, 68, 44);
    expect(matmulVec4Aligned(p)).toBe(true);
    await check({ p, t, seed: 31, constants: { WG_M: 8, WG_N: 8, TILE_K: 4 }, kernel });
  });

  it('batch beyond the z grid is walked by the z loop', async () => {
    const constants = { WG_M: 4, WG_N: 4, TILE_K: 4 };
    expect(matmulWideVec4Fits(constants)).toBe(true);
    const p = matmulParams({ M: 4, N: 4, K: 4, batch: 65537, strideB: 0, beta: 1 });
    expect(kernel.workgroups(p, { ...kernel.constants, ...constants })[2]).toBe(65535);
    await check({ p, t: { TRANS_A: 1, TRANS_B: 1 }, seed: 5, constants, kernel });
  });

  it('compiles its k loop unrolled: TILE_K copies with kk a constant, no loop left', () => {
    for (const tileK of [4, 16, 32]) {
      const code = matmulWideVec4.specialize!({ ...matmulWideVec4.constants, TILE_K: tileK });
      expect(code).not.toContain('for (var kk');
      expect(code).not.toContain('bs[kk * SB + tx]');
      expect(code.match(/let a0 = as_\[/g)).toHaveLength(tileK);
      expect(code).toContain(`let b1 = bs[${tileK - 1}u * SB + WG_N + tx];`);
    }
    expect(matmulWideVec4.source).toContain('for (var kk = 0u; kk < TILE_K; kk++) {');
    expect(() => unrollMatmulK('fn main() {}', 16)).toThrow(/k loop/);
  });

  it.each(VARIANTS)('%s four copies of the k loop per iteration (UNROLL 4, TILE_K 16)', async (_name, t) => {
    const p = matmulParams({ M: 132, N: 68, K: 100, alpha: 1.25, beta: 0.5, hasBias: 1 });
    await check({ p, t, seed: 77, constants: { WG_M: 16, WG_N: 8, TILE_K: 16, UNROLL: 4 }, kernel });
  });

  it('unrolls large products whole and small ones four k per iteration; UNROLL reaches no WGSL override', () => {
    expect(matmulUnrollFor({ M: 16384, N: 3072, K: 768, batch: 1 })).toBe(32);
    expect(matmulUnrollFor({ M: 8192, N: 1024, K: 256, batch: 1 })).toBe(32);
    expect(matmulUnrollFor({ M: 8192, N: 256, K: 256, batch: 1 })).toBe(4);
    expect(matmulUnrollFor({ M: 1024, N: 256, K: 256, batch: 4 })).toBe(4);
    expect(matmulWideVec4.hostConstants).toEqual(['UNROLL']);
    expect(matmulWideVec4.source).not.toMatch(/override UNROLL/);
    const four = matmulWideVec4.specialize!({ ...matmulWideVec4.constants, TILE_K: 16, UNROLL: 4 });
    expect(four).toContain('for (var kk_ = 0u; kk_ < TILE_K; kk_ += 4u)');
    expect(four.match(/let a0 = as_\[/g)).toHaveLength(4);
    // The scalar wide kernel unrolls the same way.
    expect(matmulWide.hostConstants).toEqual(['UNROLL']);
    const wide = matmulWide.specialize!({ ...matmulWide.constants, TILE_K: 8 });
    expect(wide).not.toContain('kk < TILE_K');
    expect(wide.match(/let a0 = as_\[/g)).toHaveLength(8);
    // The picker hands the choice on with the tile.
    const t = { TRANS_A: 0, TRANS_B: 0 } as const;
    expect(matmulVariant(matmulParams({ M: 16384, N: 3072, K: 768 }), t, 49152).constants.UNROLL).toBe(32);
    expect(matmulVariant(matmulParams({ M: 1024, N: 256, K: 256 }), t, 49152).constants.UNROLL).toBe(4);
    expect(matmulVariant(matmulParams({ M: 4096, N: 4096, K: 1022 }), t, 49152).constants.UNROLL).toBe(32);
    expect(matmulVariant(matmulParams({ M: 1024, N: 4, K: 768 }), t, 49152).constants.UNROLL).toBeUndefined();
  });

  it('alignment: any of M, N, K, offsets, strides not a multiple of 4 rules it out', () => {
    const base = { M: 64, N: 64, K: 64, batch: 2 };
    expect(matmulVec4Aligned(matmulParams(base))).toBe(true);
    for (const extra of [
      { M: 66 },
      { N: 62 },
      { K: 65 },
      { offA: 1 },
      { offB: 2 },
      { offC: 3 },
      { ldA: 66 },
      { ldB: 63 },
      { ldC: 65 },
    ]) {
      expect(matmulVec4Aligned(matmulParams({ ...base, ...extra }))).toBe(false);
    }
    for (const extra of [{ strideA: 4097 }, { strideB: 4098 }, { strideC: 4099 }]) {
      expect(matmulVec4Aligned(matmulParams({ ...base, ...extra }))).toBe(false);
    }
  });
});

describe('matmulVariant', () => {
  it('workgroup memory of the wide configurations; every bench candidate fits its kernel', () => {
    // Two padded k-major vec4 tiles: 16 · TILE_K · (2·WG_M + 1 + 2·WG_N + 1) bytes.
    expect(matmulWorkgroupBytes(matmulWideVec4, { WG_M: 16, WG_N: 16, TILE_K: 32 })).toBe(33792);
    expect(matmulWorkgroupBytes(matmulWideVec4, { WG_M: 16, WG_N: 8, TILE_K: 16 })).toBe(12800);
    expect(MATMUL_CANDIDATES.length).toBeGreaterThan(5);
    for (const [k, c] of MATMUL_CANDIDATES) {
      const tile = c as { WG_M: number; WG_N: number; TILE_K: number };
      if (k === matmulWideVec4) expect(matmulWideVec4Fits(tile), JSON.stringify(c)).toBe(true);
      else if (k === matmulWide) expect(matmulWideFits(tile), JSON.stringify(c)).toBe(true);
      else throw new Error(`a candidate of another kernel: ${k.label}`);
    }
  });

  it('picks by alignment, output size and K; the 4x4 kernel for skinny N', () => {
    const pick = (M: number, N: number, K: number) => {
      const p = matmulParams({ M, N, K });
      const { kernel, constants } = matmulVariant(p, { TRANS_A: 0, TRANS_B: 1 });
      return [kernel.label, constants.WG_M, constants.WG_N, constants.TILE_K, constants.TRANS_B];
    };
    expect(pick(8192, 1024, 256)).toEqual(['matmulWideVec4', 16, 16, 16, 1]);
    expect(pick(8192, 256, 1024)).toEqual(['matmulWideVec4', 16, 8, 16, 1]);
    // With 48 KiB of workgroup memory (the H200's), 128–255 tiles of 128×128 take the deeper K tile.
    const big = (M: number, N: number, K: number) => {
      const { kernel, constants } = matmulVariant(
        matmulParams({ M, N, K }),
        { TRANS_A: 0, TRANS_B: 0 },
        49152,
      );
      return [kernel.label, constants.WG_M, constants.WG_N, constants.TILE_K];
    };
    expect(big(8192, 256, 1024)).toEqual(['matmulWideVec4', 16, 16, 32]);
    expect(big(8192, 1024, 256)).toEqual(['matmulWideVec4', 16, 16, 16]);
    expect(big(1024, 256, 1024)).toEqual(['matmulWideVec4', 16, 8, 16]);
    expect(matmulWideWorkgroupBytes({ WG_M: 16, WG_N: 16, TILE_K: 32 })).toBeGreaterThan(
      MATMUL_DEFAULT_WORKGROUP_STORAGE,
    );
    expect(pick(1024, 256, 1024)).toEqual(['matmulWideVec4', 16, 8, 16, 1]);
    expect(pick(4096, 4096, 4096)).toEqual(['matmulWideVec4', 16, 16, 16, 1]);
    expect(pick(16384, 768, 3072)).toEqual(['matmulWideVec4', 16, 16, 16, 1]);
    // Unaligned shapes keep the scalar, bounds-checked kernel.
    expect(pick(4096, 4096, 1022)).toEqual(['matmulWide', 16, 16, 8, 1]);
    expect(pick(1026, 256, 1024)).toEqual(['matmulWide', 16, 8, 4, 1]);
    expect(pick(256, 256, 256)[0]).toBe('matmul');
    expect(pick(1024, 4, 768)[0]).toBe('matmul');
    expect(matmulWideVec4Fits({ WG_M: 8, WG_N: 8, TILE_K: 20 })).toBe(false);
    expect(matmulWideVec4Fits({ WG_M: 8, WG_N: 8, TILE_K: 6 })).toBe(false);
    for (const [M, N, K, batch] of [
      [4096, 4096, 4096, 1],
      [8192, 768, 256, 1],
      [8192, 256, 256, 1],
      [1024, 1024, 256, 1],
      [1024, 256, 1024, 1],
      [1024, 260, 1024, 1],
      [64, 64, 8, 1],
      [8, 1024, 64, 3],
    ]) {
      const { kernel, constants } = matmulVariant(matmulParams({ M, N, K, batch }), {
        TRANS_A: 0,
        TRANS_B: 0,
      });
      const k = constants as { WG_M: number; WG_N: number; TILE_K: number };
      if (kernel === matmulWide) expect(matmulWideFits(k)).toBe(true);
      if (kernel === matmulWideVec4) expect(matmulWideVec4Fits(k)).toBe(true);
      if (kernel !== matmul) {
        expect(matmulWideWorkgroupBytes(k)).toBeLessThanOrEqual(MATMUL_DEFAULT_WORKGROUP_STORAGE);
      }
    }
  });

  it.each(VARIANTS)('%s: the picked kernel matches the reference at model-like shapes', async (_name, t) => {
    // Enough workgroups for each branch: 128×128 (batch 64 or 32), 128×64, and the 4×4 kernel; unaligned
    // (scalar wide kernel) and aligned (vec4) shapes.
    for (const [M, N, K, batch] of [
      [136, 72, 11, 64],
      [136, 72, 12, 64],
      [136, 136, 20, 64],
      [130, 1030, 20, 1],
      [132, 1032, 20, 1],
      [96, 130, 24, 1],
      [200, 3, 17, 1],
    ]) {
      const p = matmulParams({ M, N, K, batch, beta: 0.5, hasBias: 1 });
      const { kernel, constants } = matmulVariant(p, t);
      await check({ p, t, seed: M + N + K, constants, kernel });
    }
  });
});

// The fused epilogues on each kernel: shapes not multiples of the tiles, batched with offsets and gaps,
// beta = 1 (in place, as the LoRA product that ends a module) and a bias. aux outside the written blocks
// must stay as it was.
describe('matmul epilogues', () => {
  const EPILOGUES: MatmulEpilogue[] = ['gelu', 'residual', 'geluGrad'];
  const kernels: [MatmulKernel, Record<string, number>, [number, number, number]][] = [
    [matmul, {}, [37, 70, 45]],
    [matmulWide, { WG_M: 8, WG_N: 8, TILE_K: 4 }, [67, 70, 21]],
    [matmulWideVec4, { WG_M: 8, WG_N: 8, TILE_K: 4 }, [68, 76, 20]],
    [matmulWideVec4, { WG_M: 16, WG_N: 8, TILE_K: 16 }, [132, 68, 4]],
  ];
  const cases = kernels.flatMap(([kernel, constants, shape]) =>
    EPILOGUES.map((epilogue) => [kernel.label, epilogue, shape, kernel, constants] as const),
  );
  it.each(cases)('%s %s %j', async (_label, epilogue, [M, N, K], kernel, constants) => {
    const p = matmulParams({
      M,
      N,
      K,
      batch: 2,
      offA: 4,
      strideA: M * K + 8,
      offB: 8,
      strideB: 0,
      offC: 4,
      strideC: M * N + 4,
      beta: 1,
      hasBias: 1,
    });
    if (kernel !== matmul && kernel !== matmulWide) expect(matmulVec4Aligned(p)).toBe(true);
    await check({
      p,
      t: { TRANS_A: 0, TRANS_B: 1 },
      seed: M + N + K,
      constants: { ...constants },
      kernel,
      epilogue,
    });
  });
});
