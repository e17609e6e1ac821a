import { describe, expect, it } from 'vitest';
import {
  loraBackwardPair,
  loraBackwardPairConstants,
  loraBackwardPairParams,
  loraBackwardTriple,
  loraBackwardTripleConstants,
  loraBackwardTripleParams,
  loraReduce,
  loraReduceConstants,
  loraReduceGuard,
  loraReduceGuardConstants,
  loraReduceGuardParams,
  loraReduceGroupsPerRun,
  loraReduceReference,
  LORA_REDUCE_TARGET_GROUPS,
  loraRows,
  loraRowsConstants,
  loraRowsReference,
} from './lora-skinny';
import { gemmTolerance } from './matmul';
import { lossGuard, sweepGuard } from './sweep';
import { runSums } from './reduce';
import { hyperAt, hyperRow, packHyper } from './hyper';
import { randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose, expectSameBits } from '../test/close';

/**
 * `n` random values per run at off + t·stride and NaN elsewhere: the other adapters of a concatenated
 * buffer, so a read outside this run's factor shows as NaN.
 */
function factors(R: number, off: number, stride: number, n: number, seed: number): Float32Array {
  const values = randn(off + R * stride + 8, seed, 0.5);
  const out = new Float32Array(values.length).fill(NaN);
  for (let t = 0; t < R; t++) {
    out.set(values.subarray(off + t * stride, off + t * stride + n), off + t * stride);
  }
  return out;
}

describe('loraRows', () => {
  // [R, rows, K, r, TRANS_W]: rows 37, 130 (not multiples of the 8-row blocks), K 33 and 256 (33 not a
  // multiple of the 32-lane tiles), r 1, 4, 7, 64; W as A [r, K] and as B [K, r].
  const shapes: [number, number, number, number, 0 | 1][] = [
    [1, 37, 33, 1, 0],
    [3, 130, 256, 4, 1],
    [3, 37, 256, 7, 0],
    [1, 130, 33, 64, 1],
    [3, 37, 33, 64, 0],
    [1, 130, 256, 4, 0],
    [3, 130, 33, 7, 1],
    [3, 5, 256, 1, 1],
  ];
  it.each(shapes)('R=%i rows=%i K=%i r=%i TRANS_W=%i matches float64', async (R, rows, K, r, transW) => {
    // W of each run inside a wider concatenated buffer: an offset and a stride past r·K.
    const p = { R, rows, K, r, offW: 11, strideW: r * K + 5, alpha: 1.75 };
    const seed = R * 1000 + rows + r;
    const x = randn(R * rows * K, seed);
    const w = factors(R, p.offW, p.strideW, r * K, seed + 1);
    // NaN past the output: a stray write there shows.
    const out0 = new Float32Array(R * rows * r + 16).fill(NaN);
    const got = await runOnce(loraRows, { x, w, out: out0 }, p, loraRowsConstants(r, transW));
    const want = new Float64Array(out0.length).fill(NaN);
    want.set(loraRowsReference(x, w, p, transW));
    expectAllClose(got.out, want, gemmTolerance(want.subarray(0, R * rows * r), K), 'loraRows out');
  });

  it("a diverged run's NaN in x stays in that run (no read past K into the next row or run)", async () => {
    const [R, rows, K, r] = [3, 37, 33, 7];
    const p = { R, rows, K, r, offW: 0, strideW: r * K, alpha: 1 };
    const x = randn(R * rows * K, 77);
    x.fill(NaN, rows * K, 2 * rows * K);
    const w = randn(R * r * K, 78);
    const got = await runOnce(loraRows, { x, w, out: R * rows * r }, p, loraRowsConstants(r, 0));
    const want = loraRowsReference(x, w, p, 0);
    expect(want.slice(0, rows * r).every(Number.isFinite)).toBe(true);
    expectAllClose(got.out, want, gemmTolerance(want.subarray(0, rows * r), K), 'loraRows NaN run');
  });
});

describe('loraReduce', () => {
  // [R, rows, C, r, TRANS_OUT]: rows 5, 37, 130, 1000 (not multiples of the tiles or the row lanes), C 33
  // and 256 (33 not a multiple of the column blocks), r 1, 3, 4, 7, 17, 64 (3, 7, 17 not multiples of
  // 4); out as dA [r, C] and as dB [C, r]. Their constants (loraReduceConstants) range from 32 columns
  // with all r per workgroup to 2 columns × 128 row lanes and split j blocks.
  const shapes: [number, number, number, number, 0 | 1][] = [
    [1, 37, 33, 1, 0],
    [3, 130, 256, 4, 1],
    [3, 37, 256, 7, 0],
    [1, 130, 33, 64, 1],
    [3, 130, 33, 64, 0],
    [1, 37, 256, 4, 1],
    [3, 130, 33, 7, 1],
    [3, 5, 256, 1, 0],
    [1, 1000, 33, 3, 1],
    [1, 1000, 33, 17, 0],
    [3, 130, 33, 17, 1],
    [1, 130, 256, 3, 0],
  ];
  it.each(shapes)('R=%i rows=%i C=%i r=%i TRANS_OUT=%i matches float64', async (R, rows, C, r, transOut) => {
    const p = { R, rows, C, r, offOut: 7, strideOut: r * C + 9, alpha: 0.625 };
    const seed = R * 1000 + rows + r + 500;
    const pIn = randn(R * rows * r, seed);
    const x = randn(R * rows * C, seed + 1);
    // NaN everywhere: what lies outside each run's gradient must stay NaN, the rest be written.
    const out0 = new Float32Array(p.offOut + R * p.strideOut + 8).fill(NaN);
    const got = await runOnce(loraReduce, { p: pIn, x, out: out0 }, p, loraReduceConstants(p, transOut));
    const want = loraReduceReference(pIn, x, out0, p, transOut);
    const written = want.filter((v) => !Number.isNaN(v));
    expect(written.length).toBe(R * r * C);
    // Float32 sums of `rows` products: rtol = atol / rms = 1e-5 · √rows.
    expectAllClose(got.out, want, gemmTolerance(written, rows), 'loraReduce out');
  });

  // Every split the shader takes (COLS 1..32 columns, j blocks of R4 = 1..5 vec4) at one shape whose rows
  // (77) and C (37) are multiples of none of them, r = 17 (five vec4, the last one partial).
  const [R, rows, C, r] = [2, 77, 37, 17];
  const splits: [number, number][] = [];
  for (const COLS of [1, 2, 4, 8, 16, 32]) {
    for (const R4 of [1, 2, 3, 5]) if ((256 / COLS) * R4 <= 512) splits.push([COLS, R4]);
  }
  it.each(splits)('split COLS=%i R4=%i matches float64 (both layouts)', async (COLS, R4) => {
    const p = { R, rows, C, r, offOut: 3, strideOut: r * C + 2, alpha: -1.5 };
    const pIn = randn(R * rows * r, 91);
    const x = randn(R * rows * C, 92);
    for (const transOut of [0, 1] as const) {
      const out0 = new Float32Array(p.offOut + R * p.strideOut + 4).fill(NaN);
      const got = await runOnce(loraReduce, { p: pIn, x, out: out0 }, p, { TRANS_OUT: transOut, COLS, R4 });
      const want = loraReduceReference(pIn, x, out0, p, transOut);
      const written = want.filter((v) => !Number.isNaN(v));
      expectAllClose(got.out, want, gemmTolerance(written, rows), `loraReduce COLS ${COLS} R4 ${R4}`);
    }
  });

  it('is deterministic: the same inputs give the same bits', async () => {
    const p = { R: 1, rows: 1000, C: 33, r: 17, offOut: 0, strideOut: 17 * 33, alpha: 1 };
    const pIn = randn(p.rows * p.r, 93);
    const x = randn(p.rows * p.C, 94);
    const k = loraReduceConstants(p, 0);
    const a = await runOnce(loraReduce, { p: pIn, x, out: p.r * p.C }, p, k);
    const b = await runOnce(loraReduce, { p: pIn, x, out: p.r * p.C }, p, k);
    expect(Array.from(new Uint32Array(b.out.buffer))).toEqual(Array.from(new Uint32Array(a.out.buffer)));
  });

  it("a diverged run's NaN in x stays in that run (no read past the last row into the next run)", async () => {
    const [R, rows, C, r] = [3, 37, 33, 7];
    const p = { R, rows, C, r, offOut: 0, strideOut: r * C, alpha: 1 };
    const pIn = randn(R * rows * r, 79);
    const x = randn(R * rows * C, 80);
    x.fill(NaN, rows * C, 2 * rows * C);
    const out0 = new Float32Array(R * r * C);
    for (const k of [loraReduceConstants(p, 0), { TRANS_OUT: 0, COLS: 1, R4: 1 }]) {
      const got = await runOnce(loraReduce, { p: pIn, x, out: out0 }, p, k);
      const want = loraReduceReference(pIn, x, out0, p, 0);
      expect(want.slice(0, r * C).every(Number.isFinite)).toBe(true);
      expectAllClose(got.out, want, gemmTolerance(want.subarray(0, r * C), rows), 'loraReduce NaN run');
    }
  });
});

describe('loraReduceConstants', () => {
  const shape = (R: number, C: number, r: number, rows = 1024) => ({ R, rows, C, r });
  const groups = (s: ReturnType<typeof shape>) => {
    const k = loraReduceConstants(s, 0);
    return s.R * loraReduceGroupsPerRun(s.C, s.r, k.COLS, k.R4);
  };

  it('gives one run of the training step ≥ 128 workgroups (8–16× the 32-column blocks)', () => {
    for (const C of [256, 768]) {
      for (const r of [1, 4, 8, 16, 17, 32, 64]) {
        expect(groups(shape(1, C, r))).toBeGreaterThanOrEqual(LORA_REDUCE_TARGET_GROUPS);
        expect(groups(shape(1, C, r))).toBeGreaterThanOrEqual(8 * Math.ceil(C / 32));
      }
    }
    expect(loraReduceConstants(shape(1, 256, 4), 1)).toEqual({ TRANS_OUT: 1, COLS: 2, R4: 1 });
    expect(loraReduceConstants(shape(1, 768, 4), 0)).toEqual({ TRANS_OUT: 0, COLS: 4, R4: 1 });
    expect(loraReduceConstants(shape(1, 256, 64), 0)).toEqual({ TRANS_OUT: 0, COLS: 4, R4: 8 });
  });

  it('narrows to 8 columns (32 row lanes) at 1,024 rows even when the runs alone give enough workgroups', () => {
    expect(loraReduceConstants(shape(64, 256, 64), 0)).toEqual({ TRANS_OUT: 0, COLS: 8, R4: 16 });
    expect(loraReduceConstants(shape(16, 768, 4), 1)).toEqual({ TRANS_OUT: 1, COLS: 8, R4: 1 });
    expect(loraReduceConstants(shape(8, 256, 4), 1)).toEqual({ TRANS_OUT: 1, COLS: 8, R4: 1 });
  });

  it('keeps 32 columns and all of r per workgroup for few rows and many runs', () => {
    expect(loraReduceConstants(shape(64, 256, 64, 256), 0)).toEqual({ TRANS_OUT: 0, COLS: 32, R4: 16 });
    expect(loraReduceConstants(shape(16, 768, 4, 37), 1)).toEqual({ TRANS_OUT: 1, COLS: 32, R4: 1 });
  });

  it('keeps the staged tile, the row lanes (≥ 4 rows each) and the columns within bounds', () => {
    for (const R of [1, 2, 3, 8, 64]) {
      for (const rows of [1, 5, 37, 130, 1024, 4096]) {
        for (const C of [1, 33, 256, 768]) {
          for (let r = 1; r <= 64; r++) {
            const k = loraReduceConstants(shape(R, C, r, rows), 0);
            const lanes = 256 / k.COLS;
            expect([1, 2, 4, 8, 16, 32]).toContain(k.COLS);
            expect(lanes * k.R4).toBeLessThanOrEqual(512);
            expect(k.R4).toBeGreaterThanOrEqual(1);
            expect(k.R4).toBeLessThanOrEqual(Math.ceil(r / 4));
            if (k.COLS < 32) expect(lanes * 4).toBeLessThanOrEqual(rows);
          }
        }
      }
    }
  });

  it('refuses a split the shader cannot take', () => {
    expect(() =>
      loraReduce.workgroups(
        { R: 1, rows: 8, C: 8, r: 64, offOut: 0, strideOut: 0, alpha: 1 },
        { COLS: 1, R4: 16 },
      ),
    ).toThrow(/no split/);
    expect(() =>
      loraReduce.workgroups(
        { R: 1, rows: 8, C: 8, r: 4, offOut: 0, strideOut: 0, alpha: 1 },
        { COLS: 3, R4: 1 },
      ),
    ).toThrow(/no split/);
  });
});

describe('skinny constants', () => {
  it('refuse r past 64 and keep the staged W tile within 16 vec4 per lane', () => {
    expect(() => loraRowsConstants(65, 0)).toThrow(/r ≤ 64/);
    expect(() => loraReduceConstants({ R: 1, rows: 8, C: 8, r: 0 }, 0)).toThrow(/r ≤ 64/);
    for (let r = 1; r <= 64; r++) {
      const k = loraRowsConstants(r, 1);
      expect(k.R4 * k.KSTEP).toBeLessThanOrEqual(16);
    }
  });
});

describe('loraBackwardPair', () => {
  // [R, rows, out, r]: dB = s·dyᵀu and du = s·dy B of one module in one dispatch. rows 37 and 130 (not multiples
  // of the 8-row blocks or the row lanes), out 33 and 768 (lab-gpt's c_attn), r 1, 4, 7, 17.
  const shapes: [number, number, number, number][] = [
    [1, 37, 33, 1],
    [3, 130, 768, 4],
    [2, 37, 256, 7],
    [3, 130, 33, 17],
  ];
  it.each(shapes)(
    'R=%i rows=%i out=%i r=%i: the bits of loraReduce and loraRows, and float64',
    async (R, rows, out, r) => {
      const s = 1.75;
      const seed = R * 100 + rows + r;
      const dy = randn(R * rows * out, seed);
      const u = randn(R * rows * r, seed + 1);
      // B of each run inside a concatenated buffer (offset, stride past out·r); dB written there too.
      const [offB, strideB] = [7, out * r + 3];
      const loraB = factors(R, offB, strideB, out * r, seed + 2);
      const reduceP = { R, rows, C: out, r, offOut: offB, strideOut: strideB, alpha: s };
      const rowsP = { R, rows, K: out, r, offW: offB, strideW: strideB, alpha: s };
      const constants = loraBackwardPairConstants(reduceP, rowsP, 16384);
      expect(constants).not.toBeNull();
      const gradB0 = new Float32Array(loraB.length).fill(NaN);
      const du0 = new Float32Array(R * rows * r + 8).fill(NaN);
      const params = loraBackwardPairParams(reduceP, rowsP);
      const got = await runOnce(
        loraBackwardPair,
        { u, dy, gradB: gradB0, loraB, du: du0 },
        params,
        constants!,
      );
      const apart = {
        gradB: (
          await runOnce(loraReduce, { p: u, x: dy, out: gradB0 }, reduceP, loraReduceConstants(reduceP, 1))
        ).out,
        du: (await runOnce(loraRows, { x: dy, w: loraB, out: du0 }, rowsP, loraRowsConstants(r, 1))).out,
      };
      expectSameBits(got.gradB, apart.gradB, 'dB');
      expectSameBits(got.du, apart.du, 'du');
      const wantB = loraReduceReference(u, dy, gradB0, reduceP, 1);
      expectAllClose(got.gradB, wantB, gemmTolerance(wantB.filter(Number.isFinite), rows), 'dB');
      const wantU = new Float64Array(du0.length).fill(NaN);
      wantU.set(loraRowsReference(dy, loraB, rowsP, 1));
      expectAllClose(got.du, wantU, gemmTolerance(wantU.subarray(0, R * rows * r), out), 'du');
    },
  );

  // [R, rows, out, in, r]: the pair plus the previous module's dA = duᵀ x (in 33 and 256, not multiples of the
  // 32-column blocks in the first).
  const triples: [number, number, number, number, number][] = [
    [3, 130, 768, 256, 4],
    [2, 37, 256, 100, 7],
  ];
  it.each(triples)(
    'with the previous module’s dA (loraBackwardTriple): R=%i rows=%i out=%i in=%i r=%i, the bits of loraReduce, loraRows and loraReduce, and float64',
    async (R, rows, out, inDim, r) => {
      const s = 1.75;
      const seed = R * 100 + rows + r + inDim;
      const dy = randn(R * rows * out, seed);
      const u = randn(R * rows * r, seed + 1);
      const duA = randn(R * rows * r, seed + 3);
      const xA = randn(R * rows * inDim, seed + 4);
      const [offB, strideB, offA, strideA] = [7, out * r + 3, 5, inDim * r + 6];
      const loraB = factors(R, offB, strideB, out * r, seed + 2);
      const reduceP = { R, rows, C: out, r, offOut: offB, strideOut: strideB, alpha: s };
      const rowsP = { R, rows, K: out, r, offW: offB, strideW: strideB, alpha: s };
      const reduceA = { R, rows, C: inDim, r, offOut: offA, strideOut: strideA, alpha: 1 };
      const constants = loraBackwardTripleConstants(reduceP, rowsP, reduceA, 16384);
      expect(constants).not.toBeNull();
      const gradB0 = new Float32Array(loraB.length).fill(NaN);
      const du0 = new Float32Array(R * rows * r + 8).fill(NaN);
      const gradA0 = new Float32Array(offA + R * strideA + 8).fill(NaN);
      const got = await runOnce(
        loraBackwardTriple,
        { u, dy, gradB: gradB0, loraB, du: du0, duA, xA, gradA: gradA0 },
        loraBackwardTripleParams(reduceP, rowsP, reduceA),
        constants!,
      );
      const apart = {
        gradB: (
          await runOnce(loraReduce, { p: u, x: dy, out: gradB0 }, reduceP, loraReduceConstants(reduceP, 1))
        ).out,
        du: (await runOnce(loraRows, { x: dy, w: loraB, out: du0 }, rowsP, loraRowsConstants(r, 1))).out,
        gradA: (
          await runOnce(loraReduce, { p: duA, x: xA, out: gradA0 }, reduceA, loraReduceConstants(reduceA, 0))
        ).out,
      };
      expectSameBits(got.gradB, apart.gradB, 'dB');
      expectSameBits(got.du, apart.du, 'du');
      expectSameBits(got.gradA, apart.gradA, 'dA');
      const wantA = loraReduceReference(duA, xA, gradA0, reduceA, 0);
      expectAllClose(got.gradA, wantA, gemmTolerance(wantA.filter(Number.isFinite), rows), 'dA');
      const wantB = loraReduceReference(u, dy, gradB0, reduceP, 1);
      expectAllClose(got.gradB, wantB, gemmTolerance(wantB.filter(Number.isFinite), rows), 'dB');
    },
  );

  // [R, rows, in, r, n]: the backward's last dA (in 100 not a multiple of the 32-column blocks; rows 37 not of the
  // lanes) with the loss guard over n rows of losses a run (n 1000 not a multiple of its 256 threads).
  const guarded: [number, number, number, number, number][] = [
    [1, 130, 256, 4, 1024],
    [6, 37, 100, 7, 1000],
  ];
  it.each(guarded)(
    'with the loss guard (loraReduceGuard): R=%i rows=%i in=%i r=%i n=%i, the bits of loraReduce and lossGuard, and float64',
    async (R, rows, inDim, r, n) => {
      const seed = R * 100 + rows + r + inDim;
      const duA = randn(R * rows * r, seed);
      const xA = randn(R * rows * inDim, seed + 1);
      const [offA, strideA] = [5, inDim * r + 6];
      const reduceA = { R, rows, C: inDim, r, offOut: offA, strideOut: strideA, alpha: 1 };
      // Losses near 2 a row; run 1 sees a NaN, run 2 explodes past 3× its first loss, run 3 has no first loss yet,
      // run 5 was frozen before.
      const rowLoss = randn(R * n, seed + 2, 0.1).map((v) => 2 + v);
      const state = new Float32Array(R * 4);
      for (let t = 0; t < R; t++) state.set([t === 5 ? 0 : 1, t === 3 ? 0 : 1.9, t === 5 ? 4 : 0, 0], t * 4);
      if (R > 2) {
        rowLoss[n + 17] = NaN;
        for (let i = 0; i < n; i++) rowLoss[2 * n + i] *= 4;
      }
      const row = { lr: 1e-3, loraplusRatio: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, t: 3 };
      const hyper = packHyper(
        Array.from({ length: R }, (_, t) => hyperRow({ ...row, active: t !== 5, rule: 'adamw' })),
      );
      const guardP = { R, n, step: 9, historyRow: 1, invCount: 1 / n, boundFactor: 3 };
      const buffers = {
        rowLoss,
        lossSums: new Float32Array(R).fill(NaN),
        lossFlags: new Uint32Array(R).fill(7),
        state,
        hyper,
        history: new Float32Array(3 * R).fill(-1),
      };
      const gradA0 = new Float32Array(offA + R * strideA + 8).fill(NaN);
      const constants = loraReduceGuardConstants(reduceA, guardP);
      expect(constants).not.toBeNull();
      const got = await runOnce(
        loraReduceGuard,
        { duA, xA, gradA: gradA0, ...buffers },
        loraReduceGuardParams(reduceA, guardP),
        constants!,
      );
      const gradA = (
        await runOnce(loraReduce, { p: duA, x: xA, out: gradA0 }, reduceA, loraReduceConstants(reduceA, 0))
      ).out;
      const { rowLoss: x, ...rest } = buffers;
      const guard = await runOnce(lossGuard, { x, ...rest }, guardP);
      expectSameBits(got.gradA, gradA, 'dA');
      for (const k of ['lossSums', 'lossFlags', 'state', 'hyper', 'history'] as const)
        expectSameBits(got[k], guard[k], k);
      // ... and lossGuard those of the two dispatches it replaced (runSums, then sweepGuard).
      const summed = await runOnce(
        runSums,
        { x: rowLoss, sums: buffers.lossSums, flags: buffers.lossFlags },
        { R, n, square: 0 },
      );
      const { invCount, boundFactor, step, historyRow } = guardP;
      const split = await runOnce(
        sweepGuard,
        { lossSums: summed.sums, lossFlags: summed.flags, state, hyper, history: buffers.history },
        { R, step, historyRow, invCount, boundFactor },
      );
      expectSameBits(guard.lossSums, summed.sums, 'runSums');
      expectSameBits(guard.lossFlags, summed.flags, 'runSums flags');
      for (const k of ['state', 'hyper', 'history'] as const) expectSameBits(guard[k], split[k], k);
      const wantA = loraReduceReference(duA, xA, gradA0, reduceA, 0);
      expectAllClose(got.gradA, wantA, gemmTolerance(wantA.filter(Number.isFinite), rows), 'dA');
      // float64 sums (NaN where a run saw one); float32 sums over n ≤ 1024 terms near 2 within 1e-5 relative.
      const sums = Float64Array.from({ length: R }, (_, t) =>
        rowLoss.subarray(t * n, (t + 1) * n).reduce((a, v) => a + v, 0),
      );
      expectAllClose(got.lossSums, sums, { rtol: 1e-5, atol: 0 }, 'loss sums');
      expect(Array.from(new Uint32Array(got.lossFlags.buffer))).toEqual(
        Array.from({ length: R }, (_, t) => (R > 2 && t === 1 ? 1 : 0)),
      );
      const alive = Array.from({ length: R }, (_, t) => got.state[t * 4]);
      const training = Array.from({ length: R }, (_, t) => hyperAt(got.hyper, t).training);
      const want = Array.from({ length: R }, (_, t) => (R > 2 && (t === 1 || t === 2 || t === 5) ? 0 : 1));
      expect(alive).toEqual(want);
      expect(training).toEqual(want);
      if (R > 3) {
        expect(got.state[3 * 4 + 1]).toBeCloseTo(sums[3] / n, 5); // the first loss, set now
        expect(got.state[1 * 4 + 2]).toBe(9); // diverged at this step
        expect(got.state[5 * 4 + 2]).toBe(4); // kept
      }
      expect(got.history[R + 0]).toBeCloseTo(sums[0] / n, 5);
    },
  );

  it('declines what one dispatch cannot hold: too little workgroup memory', () => {
    const reduceP = { R: 1, rows: 64, C: 64, r: 64, offOut: 0, strideOut: 0, alpha: 1 };
    const rowsP = { R: 1, rows: 64, K: 64, r: 64, offW: 0, strideW: 0, alpha: 1 };
    expect(loraBackwardPairConstants(reduceP, rowsP, 16384)).toBeNull();
    expect(loraBackwardPairConstants(reduceP, rowsP, 32768)).not.toBeNull();
  });
});
