import { describe, expect, it } from 'vitest';
import { splitCount, sumSplits, sumSplitsReference } from './splitk';
import { randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

describe('sumSplits', () => {
  it.each([
    [1, 1, 1],
    [3, 7, 33],
    [2, 16, 1000],
    [4, 5, 70_000],
  ])('R=%i S=%i n=%i into a strided, offset output', async (R, S, n) => {
    const partial = randn(R * S * n, R + S + n);
    const p = { R, S, n, offOut: 5, strideOut: n + 3, alpha: 0.75 };
    const out = new Float32Array(5 + R * (n + 3)).fill(NaN); // untouched gaps stay NaN
    const got = await runOnce(sumSplits, { partial, out }, p);
    // S float32 additions: error ≤ S·eps·Σ|terms|, far below 1e-5 relative for S ≤ 16.
    expectAllClose(got.out, sumSplitsReference(partial, out, p), { rtol: 1e-5, atol: 1e-6 }, 'sums');
  });

  it('splitCount picks equal chunks of at least minChunk rows', () => {
    expect(splitCount(2048)).toBe(16);
    expect(splitCount(100)).toBe(1);
    expect(splitCount(3 * 128)).toBe(3);
    expect(splitCount(1024, 128, 4)).toBe(4);
  });
});
