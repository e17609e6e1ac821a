import { describe, expect, it } from 'vitest';
import {
  gemmTolerance,
  matmulEpilogueReference,
  matmulParams,
  matmulReference,
  type MatmulEpilogue,
} from './matmul';
import { matmulSplitChunks, matmulSplitCount, prepareMatmulSplitK, splitKScratch } from './matmul-splitk';
import { randn } from '../util/random';
import { testGpu } from '../test/gpu';
import { expectAllClose } from '../test/close';

interface SplitCase {
  M: number;
  N: number;
  K: number;
  S: number;
  transB: 0 | 1;
  epilogue: MatmulEpilogue;
  bias: boolean;
  offA?: number;
  ldA?: number;
  offC?: number;
}

const cases: SplitCase[] = [
  { M: 5, N: 7, K: 12, S: 3, transB: 0, epilogue: 'none', bias: false },
  { M: 5, N: 7, K: 12, S: 1, transB: 1, epilogue: 'none', bias: true },
  { M: 70, N: 65, K: 128, S: 4, transB: 1, epilogue: 'gelu', bias: true },
  { M: 130, N: 68, K: 96, S: 2, transB: 0, epilogue: 'residual', bias: true, offC: 8 },
  { M: 33, N: 64, K: 64, S: 4, transB: 1, epilogue: 'none', bias: false, offA: 4, ldA: 72 },
  { M: 64, N: 256, K: 1024, S: 8, transB: 1, epilogue: 'geluGrad', bias: false },
  { M: 64, N: 128, K: 512, S: 8, transB: 0, epilogue: 'residual', bias: true },
  // Chunks that do not divide K: S − 1 of a multiple of 4 and a shorter last one (kLast). K not a multiple of
  // 4 (scalar kernels), 4-aligned (vec4 kernels), and A a block of wider rows.
  { M: 70, N: 65, K: 101, S: 3, transB: 0, epilogue: 'none', bias: true },
  { M: 33, N: 68, K: 100, S: 3, transB: 1, epilogue: 'gelu', bias: true },
  { M: 130, N: 64, K: 1000, S: 4, transB: 0, epilogue: 'residual', bias: false },
  { M: 20, N: 64, K: 50, S: 2, transB: 1, epilogue: 'none', bias: false, offA: 4, ldA: 56 },
];

describe('split-K matmul', () => {
  it.each(cases)('$M×$N×$K in $S chunks, TRANS_B $transB, epilogue $epilogue', async (c) => {
    const gpu = await testGpu();
    const { M, N, K, S } = c;
    const p = matmulParams({
      M,
      N,
      K,
      offA: c.offA ?? 0,
      ldA: c.ldA ?? 0,
      offC: c.offC ?? 0,
      hasBias: c.bias ? 1 : 0,
    });
    const t = { TRANS_A: 0, TRANS_B: c.transB } as const;
    const lda = c.ldA ?? K;
    // NaN between A's rows (ldA > K) and past the operands: a chunk reading outside its block shows.
    const a = randn(p.offA + M * lda + 4, 1);
    for (let m = 0; m < M; m++) a.fill(NaN, p.offA + m * lda + K, p.offA + (m + 1) * lda);
    const b = randn(K * N, 2);
    const bias = randn(N, 3);
    const cSize = p.offC + M * N + 1;
    const c0 = randn(cSize, 4);
    const aux0 = c.epilogue === 'none' ? new Float32Array(4) : randn(cSize, 5);
    const buf = (x: Float32Array, label: string) => gpu.buffer(x, label);
    const bufs = {
      a: buf(a, 'a'),
      b: buf(b, 'b'),
      c: buf(c0, 'c'),
      bias: c.bias ? buf(bias, 'bias') : undefined,
      aux: c.epilogue === 'none' ? undefined : buf(aux0, 'aux'),
    };
    const scratch = gpu.buffer(Math.max(1, splitKScratch(M, N, S)) * 4, 'scratch');
    const d = prepareMatmulSplitK(gpu, bufs, p, { TRANS_B: c.transB }, c.epilogue, S, scratch);
    expect(d).toHaveLength(S === 1 ? 1 : 2);
    await gpu.run('splitk', d);
    const got = await gpu.readF32(bufs.c, cSize);
    const want = matmulEpilogueReference(matmulReference(a, b, bias, c0, p, t), aux0, p, c.epilogue);
    const what = JSON.stringify(c);
    expectAllClose(got, want.c, gemmTolerance(want.c, K), what);
    if (c.epilogue === 'gelu') {
      const gotAux = await gpu.readF32(bufs.aux!, cSize);
      expectAllClose(gotAux, want.aux, gemmTolerance(want.aux, K), `${what} aux`);
    }
    for (const x of [bufs.a, bufs.b, bufs.c, bufs.bias, bufs.aux, scratch]) x?.destroy();
  });

  it('refuses chunk counts whose multiple-of-4 chunks overshoot K', async () => {
    const gpu = await testGpu();
    const x = gpu.buffer(64, 'x');
    // 4 chunks of 4 for K = 10: the last would be −2 long.
    expect(() =>
      prepareMatmulSplitK(gpu, { a: x, b: x, c: x }, { M: 2, N: 2, K: 10 }, {}, 'none', 4, x),
    ).toThrow(/does not cut into 4 chunks/);
    x.destroy();
  });
});

describe('matmulSplitCount', () => {
  it('splits few-tile products of lab-gpt at R = 1, R = 8’s N = 256 products in two, and leaves wide outputs alone', () => {
    // 1,024 rows × 256: 32 tiles of 128×64; at most 4 chunks.
    expect(matmulSplitCount(1024, 256, 1024)).toBe(4);
    expect(matmulSplitCount(1024, 256, 768)).toBe(4);
    expect(matmulSplitCount(1024, 256, 256)).toBe(4);
    // 128 tiles: 2 chunks reach 256; 96 tiles: 3 would, but 256 / 3 is no whole chunk.
    expect(matmulSplitCount(1024, 1024, 256)).toBe(2);
    expect(matmulSplitCount(1024, 768, 256)).toBe(4);
    // R = 8: 256 tiles of 128×64 are cut in two (512 tiles); 1,024 tiles are enough.
    expect(matmulSplitCount(8192, 256, 1024)).toBe(2);
    expect(matmulSplitCount(8192, 256, 256)).toBe(2);
    expect(matmulSplitCount(8192, 1024, 256)).toBe(1);
    expect(matmulSplitCount(8192, 768, 256)).toBe(1);
    // R = 16: 512 tiles, not split.
    expect(matmulSplitCount(16384, 256, 1024)).toBe(1);
    // Narrow or short outputs, and K that no chunk of ≥ 64 multiple of 4 divides.
    expect(matmulSplitCount(32, 256, 1024)).toBe(1);
    expect(matmulSplitCount(1024, 48, 1024)).toBe(1);
    expect(matmulSplitCount(1024, 256, 100)).toBe(1);
  });

  it('cuts a K that no chunk count divides into equal chunks and a shorter last one', () => {
    // dLn = dlogits · wte over GPT-2's 50,257 tokens, 1,280 rows a chunk of the LM head: 120 tiles of 128×64.
    expect(matmulSplitCount(1280, 768, 50257)).toBe(3);
    expect(matmulSplitChunks(50257, 3)).toEqual({ chunk: 16756, last: 16745 });
    expect(matmulSplitChunks(1024, 4)).toEqual({ chunk: 256, last: 256 });
    expect(matmulSplitChunks(10, 4)).toBeNull();
  });

  it('every split it returns has chunks of at least 64, multiples of 4 but the last, even where K allows', () => {
    for (const M of [64, 200, 1024, 3000])
      for (const N of [64, 256, 300])
        for (const K of [64, 96, 128, 256, 500, 768, 1024, 3072, 50257]) {
          const S = matmulSplitCount(M, N, K);
          if (S === 1) continue;
          const c = matmulSplitChunks(K, S)!;
          expect(c.chunk % 4).toBe(0);
          expect(Math.min(c.chunk, c.last)).toBeGreaterThanOrEqual(64);
          expect((S - 1) * c.chunk + c.last).toBe(K);
          const even = [2, 3, 4].some((s) => K % s === 0 && (K / s) % 4 === 0 && K / s >= 64);
          if (even) expect(c.last).toBe(c.chunk);
        }
  });
});
