import { describe, expect, it } from 'vitest';
import { runSums, runSumsReference } from './reduce';
import { randn, mulberry32 } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

async function sumsOf(x: Float32Array, R: number, n: number, square: boolean, WG = 256) {
  const got = await runOnce(runSums, { x, sums: R, flags: R }, { R, n, square: square ? 1 : 0 }, { WG });
  return { sums: got.sums, flags: Array.from(new Uint32Array(got.flags.buffer)) };
}

/** Σ|x| (or Σx²) of each run: float32 summation error scales with it, not with the (cancelling) sum. */
function magnitudes(x: Float32Array, R: number, n: number, square: boolean): number[] {
  return Array.from(runSumsReference(x.map(Math.abs), R, n, square).sums);
}

const shapes = [1, 100, 5000, 300000].flatMap((n) => [1, 4].map((R) => [R, n] as const));

describe('runSums', () => {
  // Small integers: every partial sum is exact in float32 (|Σ| < 2^24), so the kernel must be exact
  // whatever its summation order; a dropped or doubled element cannot hide in rounding.
  // Besides the shapes of the sweep: a small workgroup, and 70 000 runs of one thread each (dispatch
  // folded into y).
  it.each([...shapes.map(([R, n]) => [R, n, 256]), [3, 70001, 32], [70000, 2, 1]])(
    'R=%i n=%i WG=%i: exact on integers, plain and squared',
    async (R, n, WG) => {
      const rand = mulberry32(7 + n + R);
      const x = Float32Array.from({ length: R * n }, () => Math.floor(rand() * 13) - 6);
      for (const square of [false, true]) {
        const want = runSumsReference(x, R, n, square);
        const got = await sumsOf(x, R, n, square, WG);
        expectAllClose(got.sums, want.sums, { rtol: 0, atol: 0 }, `square=${square}`);
        expect(got.flags).toEqual(Array.from(want.flags));
      }
    },
  );

  // Gaussian data: error bounded relative to Σ|x| (Σx² when squared): 2e-6 is ~30 float32 ulps,
  // well above the blocked summation's typical error and far below any missing block of terms.
  it.each(shapes)('R=%i n=%i: gaussian within 2e-6·Σ|x|', async (R, n) => {
    const x = randn(R * n, 3 + n * R, 2);
    for (const square of [false, true]) {
      const want = runSumsReference(x, R, n, square).sums;
      const scale = magnitudes(x, R, n, square);
      const got = (await sumsOf(x, R, n, square)).sums;
      for (let run = 0; run < R; run++) {
        expectAllClose([got[run]], [want[run]], { rtol: 0, atol: 2e-6 * scale[run] }, `run ${run}`);
      }
    }
  });

  it.each([
    [NaN, 100],
    [Infinity, 5000],
    [-Infinity, 300000],
    [NaN, 1],
  ])('a %s in run 2 flags run 2 only (n=%i)', async (bad, n) => {
    const R = 4;
    const x = randn(R * n, 5 + n);
    const pos = 2 * n + Math.floor(n / 3);
    x[pos] = bad;
    for (const square of [false, true]) {
      const got = await sumsOf(x, R, n, square);
      const want = runSumsReference(x, R, n, square);
      expect(got.flags).toEqual([0, 0, 1, 0]);
      expect(Number.isFinite(got.sums[2])).toBe(false);
      const scale = magnitudes(x, R, n, square);
      for (const run of [0, 1, 3]) {
        expectAllClose([got.sums[run]], [want.sums[run]], { rtol: 0, atol: 2e-6 * scale[run] }, `run ${run}`);
      }
    }
  });

  it('huge finite values, subnormals and -0 are not flagged', async () => {
    const x = new Float32Array([3.4e38, 1e-45, -1e-40, -0, 1]);
    const got = await sumsOf(x, 1, x.length, false);
    expect(got.flags).toEqual([0]);
    expectAllClose(got.sums, [Math.fround(3.4e38)], { rtol: 1e-7, atol: 0 }, 'sum');
  });
});
