import { describe, expect, it } from 'vitest';
import { emaSmooth } from './ema';

describe('emaSmooth (TensorBoard debiased EMA)', () => {
  it('matches hand-computed values', () => {
    // w = 0.5: last = 0.5, 1.25, 2.125; debias 0.5, 0.75, 0.875
    const got = emaSmooth([1, 2, 3], 0.5);
    expect(got[0]).toBeCloseTo(1, 12);
    expect(got[1]).toBeCloseTo(1.25 / 0.75, 12);
    expect(got[2]).toBeCloseTo(2.125 / 0.875, 12);
    // w = 0.6: last = 0.8, 2.08; debias 0.4, 0.64
    const b = emaSmooth([2, 4], 0.6);
    expect(b[0]).toBeCloseTo(2, 12);
    expect(b[1]).toBeCloseTo(3.25, 12);
  });

  it('weight 0 returns the raw values', () => {
    expect(emaSmooth([3, 1, 2], 0)).toEqual([3, 1, 2]);
  });

  it('passes NaN/Inf through without updating the state or the count', () => {
    const got = emaSmooth([1, NaN, 3, Infinity], 0.5);
    expect(got[0]).toBeCloseTo(1, 12);
    expect(got[1]).toBeNaN();
    // second finite point: last = 0.25 + 1.5 = 1.75, debias 1 - 0.25
    expect(got[2]).toBeCloseTo(1.75 / 0.75, 12);
    expect(got[3]).toBe(Infinity);
  });

  it('leaves a constant series exactly constant and does not mutate its input', () => {
    const ys = [0.7, 0.7, 0.7];
    expect(emaSmooth(ys, 0.9)).toEqual([0.7, 0.7, 0.7]);
    const input = [5, 1];
    emaSmooth(input, 0.9);
    expect(input).toEqual([5, 1]);
  });

  it('clamps the weight to at most 0.999 and is empty for empty input', () => {
    expect(emaSmooth([], 0.5)).toEqual([]);
    const got = emaSmooth([1, 2], 1);
    expect(got[1]).toBeCloseTo((0.999 * 0.001 + 0.001 * 2) / (1 - 0.999 ** 2), 9);
  });
});
