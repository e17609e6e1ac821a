import { describe, expect, it } from 'vitest';
import {
  gemmTolerance,
  matmulEpilogueReference,
  matmulParams,
  matmulReference,
  prepareMatmul,
  type MatmulEpilogue,
} from './matmul';
import { ELEMENTWISE_OP, elementwise } from './elementwise';
import { loraUpParams, prepareLoraDown } from './lora';
import {
  matmulSplitChunks,
  matmulSplitCount,
  prepareMatmulSplitK,
  prepareMatmulSplitKDown,
  setSplitKOwnSumMinTiles,
  splitKScratch,
  SPLITK_OWN_SUM_MIN_TILES,
} from './matmul-splitk';
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

  // [rows per run, N, K, S, r, copies, runs per copy, epilogue]: LoRA's up-projection in the sum, the sum
  // stored once (runs rows of different runs) or into `copies` blocks (lab-gpt's shared layer 0).
  const loraCases: [number, number, number, number, number, number, number, MatmulEpilogue][] = [
    [36, 68, 96, 2, 4, 3, 1, 'none'],
    [50, 64, 64, 4, 2, 1, 2, 'gelu'],
    [20, 20, 40, 3, 8, 2, 1, 'residual'],
  ];
  it.each(loraCases)(
    'rows %i N %i K %i in %i chunks, LoRA r %i, %i copies of %i runs, epilogue %s: bit-identical to the separate products, and float64',
    async (rows, N, K, S, r, copies, runsPerCopy, epilogue) => {
      const gpu = await testGpu();
      const M = rows * runsPerCopy; // the product's rows; stored copies · M rows
      const R = copies * runsPerCopy;
      const total = copies * M * N;
      const seed = rows + N + K + S + r;
      const [a, b, bias] = [randn(M * K, seed), randn(K * N, seed + 1), randn(N, seed + 2)];
      const u = randn(R * rows * r, seed + 3);
      const [offB, strideB] = [4, N * r + 4];
      const loraB = new Float32Array(offB + R * strideB).fill(NaN);
      for (let t = 0; t < R; t++) loraB.set(randn(N * r, seed + 10 + t), offB + t * strideB);
      const aux0 = randn(total, seed + 4);
      const scale = 3 / r;
      const buf = (x: Float32Array | number, label: string) => gpu.buffer(x, label);
      const bufs = {
        a: buf(a, 'a'),
        b: buf(b, 'b'),
        bias: buf(bias, 'bias'),
        u: buf(u, 'u'),
        B: buf(loraB, 'B'),
      };
      const out = () => ({ c: buf(total * 4, 'c'), aux: buf(aux0, 'aux') });
      const auxOf = (o: { aux: GPUBuffer }) => (epilogue === 'none' ? undefined : o.aux);
      const scratch = buf(splitKScratch(M, N, S) * 4, 'scratch');
      const p = { M, N, K };
      const lora = { u: bufs.u, B: bufs.B, r, scale, offB, strideB, rowsPerRun: rows };
      const fused = out();
      const one = prepareMatmulSplitK(
        gpu,
        { a: bufs.a, b: bufs.b, bias: bufs.bias, c: fused.c, aux: auxOf(fused) },
        p,
        {},
        epilogue,
        S,
        scratch,
        lora,
        copies,
      );
      expect(one).toHaveLength(2);
      // What it replaces: the sum, the copies (elementwise tile), then u · Bᵀ_run with beta 1 and the epilogue.
      const pair = out();
      const sum = buf(M * N * 4, 'sum');
      const separate = [
        ...prepareMatmulSplitK(
          gpu,
          { a: bufs.a, b: bufs.b, bias: bufs.bias, c: sum },
          p,
          {},
          'none',
          S,
          scratch,
        ),
        gpu.prepare(
          elementwise,
          { a: sum, b: sum, out: pair.c },
          { n: total, m: M * N },
          { OP: ELEMENTWISE_OP.tile },
        ),
        prepareMatmul(
          gpu,
          { a: bufs.u, b: bufs.B, c: pair.c, aux: auxOf(pair) },
          loraUpParams({ R, rows, outDim: N, r, offB, strideB, scale }),
          { TRANS_B: 1 },
          epilogue,
        ),
      ];
      await gpu.run('fused', one);
      await gpu.run('separate', separate);
      const got = { c: await gpu.readF32(fused.c, total), aux: await gpu.readF32(fused.aux, total) };
      const want2 = { c: await gpu.readF32(pair.c, total), aux: await gpu.readF32(pair.aux, total) };
      const what = `rows ${rows} N ${N} K ${K} S ${S} r ${r} copies ${copies} ${epilogue}`;
      expect(Array.from(got.c), `${what}: C`).toEqual(Array.from(want2.c));
      expect(Array.from(got.aux), `${what}: aux`).toEqual(Array.from(want2.aux));
      // float64: the product and bias in every copy, plus s · u · Bᵀ_run of the stored row.
      const base = matmulReference(a, b, bias, new Float64Array(M * N), matmulParams({ ...p, hasBias: 1 }), {
        TRANS_A: 0,
        TRANS_B: 0,
      });
      const v = new Float64Array(total);
      for (let i = 0; i < total; i++) {
        const [m, n] = [Math.floor(i / N), i % N];
        const at = offB + Math.floor(m / rows) * strideB + n * r;
        let t = 0;
        for (let j = 0; j < r; j++) t += u[m * r + j] * loraB[at + j];
        v[i] = base[i % (M * N)] + Math.fround(scale) * t;
      }
      const want = matmulEpilogueReference(v, aux0, matmulParams({ M: copies * M, N, K }), epilogue);
      expectAllClose(got.c, want.c, gemmTolerance(want.c, K + r), `${what}: C vs float64`);
      expectAllClose(got.aux, want.aux, gemmTolerance(want.aux, K + r), `${what}: aux vs float64`);
      for (const x of [...Object.values(bufs), fused.c, fused.aux, pair.c, pair.aux, sum, scratch])
        x.destroy();
    },
  );

  // [rows per run, runs, N, K, S, r, epilogue]: the sum forms u itself (matmulSplitKSumDown). N past one or
  // several column blocks of 256 and not a multiple of them, K not a multiple of the 32 lanes, r over one and
  // two blocks of 8 outputs.
  const downCases: [number, number, number, number, number, number, MatmulEpilogue][] = [
    [36, 1, 68, 96, 2, 4, 'none'],
    [20, 2, 300, 100, 3, 12, 'gelu'],
    [9, 3, 520, 40, 2, 1, 'residual'],
  ];
  it.each(downCases)(
    'rows %i × %i runs, N %i K %i in %i chunks, r %i, epilogue %s: the sum that forms u is bit-identical to loraRows then the sum, and float64',
    async (rows, R, N, K, S, r, epilogue) => {
      const gpu = await testGpu();
      const M = rows * R;
      const seed = rows + N + K + S + r;
      const [x, w, bias] = [randn(M * K, seed), randn(K * N, seed + 1), randn(N, seed + 2)];
      // Each run's A [r, K] and Bᵀ [N, r] inside wider strides, NaN between them: a run reading outside its own shows.
      const [offA, strideA, offB, strideB] = [8, r * K + 12, 4, N * r + 4];
      const loraA = new Float32Array(offA + R * strideA).fill(NaN);
      const loraB = new Float32Array(offB + R * strideB).fill(NaN);
      for (let t = 0; t < R; t++) {
        loraA.set(randn(r * K, seed + 20 + t), offA + t * strideA);
        loraB.set(randn(N * r, seed + 40 + t), offB + t * strideB);
      }
      const aux0 = randn(M * N, seed + 4);
      const scale = 3 / r;
      const buf = (v: Float32Array | number, label: string) => gpu.buffer(v, label);
      const bufs = {
        x: buf(x, 'x'),
        w: buf(w, 'w'),
        bias: buf(bias, 'bias'),
        A: buf(loraA, 'A'),
        B: buf(loraB, 'B'),
      };
      const out = () => ({
        c: buf(M * N * 4, 'c'),
        aux: buf(aux0, 'aux'),
        // NaN: a row whose u is not stored shows.
        u: buf(new Float32Array(M * r).fill(NaN), 'u'),
      });
      const auxOf = (o: { aux: GPUBuffer }) => (epilogue === 'none' ? undefined : o.aux);
      const scratch = buf(splitKScratch(M, N, S) * 4, 'scratch');
      const p = { M, N, K };
      const loraOf = (u: GPUBuffer) => ({ u, B: bufs.B, r, scale, offB, strideB, rowsPerRun: rows });
      const fused = out();
      const one = prepareMatmulSplitKDown(
        gpu,
        { a: bufs.x, b: bufs.w, bias: bufs.bias, c: fused.c, aux: auxOf(fused) },
        p,
        epilogue,
        S,
        scratch,
        loraOf(fused.u),
        { A: bufs.A, offA, strideA },
      );
      expect(one).toHaveLength(2);
      expect(one[1].label).toBe('matmulSplitKSumDown');
      const pair = out();
      const shape = { R, rows, inDim: K, outDim: N, r, scale, offA, strideA, offB, strideB, splits: 1 };
      const separate = [
        prepareLoraDown(gpu, { x: bufs.x, loraA: bufs.A, u: pair.u }, shape),
        ...prepareMatmulSplitK(
          gpu,
          { a: bufs.x, b: bufs.w, bias: bufs.bias, c: pair.c, aux: auxOf(pair) },
          p,
          {},
          epilogue,
          S,
          scratch,
          loraOf(pair.u),
        ),
      ];
      expect(separate[0].label).toBe('loraRows');
      await gpu.run('fused', one);
      await gpu.run('separate', separate);
      const read = async (o: ReturnType<typeof out>) => ({
        c: await gpu.readF32(o.c, M * N),
        aux: await gpu.readF32(o.aux, M * N),
        u: await gpu.readF32(o.u, M * r),
      });
      const [got, want2] = [await read(fused), await read(pair)];
      const what = `rows ${rows} R ${R} N ${N} K ${K} S ${S} r ${r} ${epilogue}`;
      expect(Array.from(got.u), `${what}: u`).toEqual(Array.from(want2.u));
      expect(Array.from(got.c), `${what}: C`).toEqual(Array.from(want2.c));
      expect(Array.from(got.aux), `${what}: aux`).toEqual(Array.from(want2.aux));
      // float64: u = x·Aᵀ_run, then x·W + bias + s · u·Bᵀ_run (with the float64 u).
      const base = matmulReference(x, w, bias, new Float64Array(M * N), matmulParams({ ...p, hasBias: 1 }), {
        TRANS_A: 0,
        TRANS_B: 0,
      });
      const u64 = new Float64Array(M * r);
      for (let m = 0; m < M; m++)
        for (let j = 0; j < r; j++) {
          const at = offA + Math.floor(m / rows) * strideA + j * K;
          let t = 0;
          for (let k = 0; k < K; k++) t += x[m * K + k] * loraA[at + k];
          u64[m * r + j] = t;
        }
      expectAllClose(got.u, u64, gemmTolerance(u64, K), `${what}: u vs float64`);
      const v = new Float64Array(M * N);
      for (let i = 0; i < M * N; i++) {
        const [m, n] = [Math.floor(i / N), i % N];
        const at = offB + Math.floor(m / rows) * strideB + n * r;
        let t = 0;
        for (let j = 0; j < r; j++) t += u64[m * r + j] * loraB[at + j];
        v[i] = base[i] + Math.fround(scale) * t;
      }
      const want = matmulEpilogueReference(v, aux0, matmulParams(p), epilogue);
      expectAllClose(got.c, want.c, gemmTolerance(want.c, K + r), `${what}: C vs float64`);
      expectAllClose(got.aux, want.aux, gemmTolerance(want.aux, K + r), `${what}: aux vs float64`);
      for (const b of [...Object.values(bufs), ...Object.values(fused), ...Object.values(pair), scratch])
        b.destroy();
    },
  );

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

  it('keeps a product whose split takes its own sum whole only from the own-sum threshold on (none by default)', () => {
    // By default (SPLITK_OWN_SUM_MIN_TILES = Infinity: the H200 ran R = 1 6.6 % slower unsplit) nothing changes.
    expect(SPLITK_OWN_SUM_MIN_TILES).toBe(Infinity);
    expect(matmulSplitCount(1024, 1024, 256, true)).toBe(2);
    expect(matmulSplitCount(1024, 768, 256, true)).toBe(4);
    try {
      setSplitKOwnSumMinTiles(128);
      // c_fc at R = 1 (128 tiles of 128×64) stays whole where the split needs its own sum, not where a reader sums it.
      expect(matmulSplitCount(1024, 1024, 256, true)).toBe(1);
      expect(matmulSplitCount(1024, 1024, 256, false)).toBe(2);
      // c_attn's 96 tiles are under the threshold.
      expect(matmulSplitCount(1024, 768, 256, true)).toBe(4);
      expect(() => setSplitKOwnSumMinTiles(0)).toThrow(/own-sum min tiles/);
    } finally {
      setSplitKOwnSumMinTiles(SPLITK_OWN_SUM_MIN_TILES);
    }
    expect(matmulSplitCount(1024, 1024, 256, true)).toBe(2);
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
