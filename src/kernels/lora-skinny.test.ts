import { describe, expect, it } from 'vitest';
import {
  loraReduce,
  loraReduceConstants,
  loraReduceReference,
  loraRows,
  loraRowsConstants,
  loraRowsReference,
} from './lora-skinny';
import { gemmTolerance } from './matmul';
import { randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

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
  // [R, rows, C, r, TRANS_OUT]: rows 37, 130 (not multiples of the 32-row tiles), C 33 and 256 (33 not
  // a multiple of the 32-column blocks), r 1, 4, 7, 64; out as dA [r, C] and as dB [C, r].
  const shapes: [number, number, number, number, 0 | 1][] = [
    [1, 37, 33, 1, 0],
    [3, 130, 256, 4, 1],
    [3, 37, 256, 7, 0],
    [1, 130, 33, 64, 1],
    [3, 130, 33, 64, 0],
    [1, 37, 256, 4, 1],
    [3, 130, 33, 7, 1],
    [3, 5, 256, 1, 0],
  ];
  it.each(shapes)('R=%i rows=%i C=%i r=%i TRANS_OUT=%i matches float64', async (R, rows, C, r, transOut) => {
    const p = { R, rows, C, r, offOut: 7, strideOut: r * C + 9, alpha: 0.625 };
    const seed = R * 1000 + rows + r + 500;
    const pIn = randn(R * rows * r, seed);
    const x = randn(R * rows * C, seed + 1);
    // NaN everywhere: what lies outside each run's gradient must stay NaN, the rest be written.
    const out0 = new Float32Array(p.offOut + R * p.strideOut + 8).fill(NaN);
    const got = await runOnce(loraReduce, { p: pIn, x, out: out0 }, p, loraReduceConstants(r, transOut));
    const want = loraReduceReference(pIn, x, out0, p, transOut);
    const written = want.filter((v) => !Number.isNaN(v));
    expect(written.length).toBe(R * r * C);
    expectAllClose(got.out, want, gemmTolerance(written, rows), 'loraReduce out');
  });

  it("a diverged run's NaN in x stays in that run (no read past the last row into the next run)", async () => {
    const [R, rows, C, r] = [3, 37, 33, 7];
    const p = { R, rows, C, r, offOut: 0, strideOut: r * C, alpha: 1 };
    const pIn = randn(R * rows * r, 79);
    const x = randn(R * rows * C, 80);
    x.fill(NaN, rows * C, 2 * rows * C);
    const out0 = new Float32Array(R * r * C);
    const got = await runOnce(loraReduce, { p: pIn, x, out: out0 }, p, loraReduceConstants(r, 0));
    const want = loraReduceReference(pIn, x, out0, p, 0);
    expect(want.slice(0, r * C).every(Number.isFinite)).toBe(true);
    expectAllClose(got.out, want, gemmTolerance(want.subarray(0, r * C), rows), 'loraReduce NaN run');
  });
});

describe('skinny constants', () => {
  it('refuse r past 64 and keep the staged W tile within 16 vec4 per lane', () => {
    expect(() => loraRowsConstants(65, 0)).toThrow(/r ≤ 64/);
    expect(() => loraReduceConstants(0, 0)).toThrow(/r ≤ 64/);
    for (let r = 1; r <= 64; r++) {
      const k = loraRowsConstants(r, 1);
      expect(k.R4 * k.KSTEP).toBeLessThanOrEqual(16);
    }
  });
});
