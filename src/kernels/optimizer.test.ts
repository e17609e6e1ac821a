import { describe, expect, it } from 'vitest';
import { adamwReference, adamwUpdate, sgdReference, sgdUpdate, type AdamState } from './optimizer';
import { hyperRow, packHyper, type HyperRow } from './hyper';
import { randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

/** Runs with their own lr, weight decay and LoRA+ ratio; run 1 (when present) is frozen. */
function runs(R: number, t: number, rule: 'adamw' | 'sgd'): HyperRow[] {
  return Array.from({ length: R }, (_, i) =>
    hyperRow({
      lr: [1e-3, 3e-2, 1e-2][i % 3],
      loraplusRatio: [1, 4, 16][i % 3],
      beta1: 0.9,
      beta2: i === 2 ? 0.99 : 0.999,
      eps: 1e-8,
      weightDecay: [0.01, 0.1, 0][i % 3],
      t,
      active: i !== 1,
      rule,
    }),
  );
}

/** Elements of run `i` of an [R, n] block. */
const run = (a: Float32Array, i: number, n: number) => a.subarray(i * n, (i + 1) * n);

/** Index of the first element whose bits differ, or -1 (toEqual on 70k elements is slow). */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

// [R, n, WG]: n not a multiple of the workgroup; WG = 2 forces 105002 workgroups, folded into y.
const shapes: [number, number, number][] = [
  [1, 1, 256],
  [3, 1000, 256],
  [3, 70001, 256],
  [3, 70001, 2],
];

it('WG = 2 over 3 × 70001 elements folds the grid into y', () => {
  expect(adamwUpdate.workgroups({ R: 3, n: 70001, side: 0 }, { WG: 2 })).toEqual([65535, 2, 1]);
  expect(sgdUpdate.workgroups({ R: 3, n: 70001, side: 0 }, { WG: 2 })).toEqual([65535, 2, 1]);
});

describe('adamwUpdate', () => {
  it.each(shapes)('R=%i n=%i WG=%i: steps t = 1..5 match float64', async (R, n, WG) => {
    let p: Float32Array = randn(R * n, 1 + n, 0.5);
    let m: Float32Array = new Float32Array(R * n);
    let v: Float32Array = new Float32Array(R * n);
    let want: AdamState = { p: Float64Array.from(p), m: new Float64Array(R * n), v: new Float64Array(R * n) };
    const p0 = p;
    for (let t = 1; t <= 5; t++) {
      const g = randn(R * n, 100 * t + n);
      const hyper = packHyper(runs(R, t, 'adamw'));
      const side = (t % 2) as 0 | 1; // A's and B's learning rates in turn (they differ by the LoRA+ ratio)
      const before = { p, m, v };
      const got = await runOnce(adamwUpdate, { g, hyper, p, m, v }, { R, n, side }, { WG });
      want = adamwReference(want, g, hyper, R, n, side);
      // f32 rounding of a handful of operations: ~1e-7 relative; m and v pass near 0 (m = 0.9m + 0.1g
      // can cancel), hence the absolute floors at the scale of g = N(0, 1) and g² · (1 − β2).
      expectAllClose(got.p, want.p, { rtol: 1e-5, atol: 1e-6 }, `p, t=${t}`);
      expectAllClose(got.m, want.m, { rtol: 1e-5, atol: 1e-6 }, `m, t=${t}`);
      expectAllClose(got.v, want.v, { rtol: 1e-5, atol: 1e-9 }, `v, t=${t}`);
      if (R > 1) {
        expect(firstBitDifference(run(got.p, 1, n), run(before.p, 1, n)), 'frozen run: p').toBe(-1);
        expect(firstBitDifference(run(got.m, 1, n), run(before.m, 1, n)), 'frozen run: m').toBe(-1);
        expect(firstBitDifference(run(got.v, 1, n), run(before.v, 1, n)), 'frozen run: v').toBe(-1);
      }
      ({ p, m, v } = got);
    }
    // The frozen run never moved over the 5 steps; the others did (every element).
    if (R > 1) expect(firstBitDifference(run(p, 1, n), run(p0, 1, n))).toBe(-1);
    for (const i of [0, 2].filter((i) => i < R))
      expect(run(p, i, n).every((x, e) => x !== p0[i * n + e])).toBe(true);
  });

  it('first step with g = 0 (gA = 0 while B = 0): only the decay, no NaN', async () => {
    const R = 3;
    const n = 77;
    const p = randn(R * n, 5);
    const hyper = packHyper(runs(R, 1, 'adamw'));
    const zeros = new Float32Array(R * n);
    const got = await runOnce(adamwUpdate, { g: zeros, hyper, p, m: zeros, v: zeros }, { R, n, side: 0 });
    const want = adamwReference({ p, m: zeros, v: zeros }, zeros, hyper, R, n);
    expectAllClose(got.p, want.p, { rtol: 1e-7, atol: 0 }, 'p');
    expect(Array.from(got.m).every((x) => x === 0) && Array.from(got.v).every((x) => x === 0)).toBe(true);
  });
});

describe('sgdUpdate', () => {
  it.each(shapes)('R=%i n=%i WG=%i: steps t = 1..5 match float64', async (R, n, WG) => {
    const p0 = randn(R * n, 2 + n, 0.5);
    let p: Float32Array = p0;
    let want: Float64Array = Float64Array.from(p0);
    for (let t = 1; t <= 5; t++) {
      const g = randn(R * n, 300 * t + n);
      const hyper = packHyper(runs(R, t, 'sgd'));
      const side = (t % 2) as 0 | 1;
      const got = await runOnce(sgdUpdate, { g, hyper, p }, { R, n, side }, { WG });
      want = sgdReference(want, g, hyper, R, n, side);
      expectAllClose(got.p, want, { rtol: 1e-5, atol: 1e-6 }, `p, t=${t}`);
      p = got.p;
    }
    if (R > 1) expect(firstBitDifference(run(p, 1, n), run(p0, 1, n))).toBe(-1);
  });
});
