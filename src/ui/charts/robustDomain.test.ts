import { describe, expect, it } from 'vitest';
import { robustYDomain } from './robustDomain';
import type { LossLine } from './types';

function line(id: string, ys: number[], validation: number[] = []): LossLine {
  return {
    id,
    label: id,
    color: '#000',
    points: ys.map((y, x) => ({ x, y })),
    validation: validation.map((y, i) => ({ x: i * 10, y })),
  };
}

const decaying = (start: number, end: number, n = 200) =>
  Array.from({ length: n }, (_, i) => start + ((end - start) * i) / (n - 1));

describe('robustYDomain', () => {
  const calm = [line('a', decaying(5.5, 1.2)), line('b', decaying(5.5, 0.8))];
  const exploding = line('c', [...decaying(5.5, 3, 195), 50, 500, 5e3, 5e4, 1e6]);

  it('ignores a 1e6 outlier but keeps the true minimum (linear)', () => {
    const [lo, hi] = robustYDomain([...calm, exploding], 'linear');
    expect(hi).toBeLessThan(10);
    expect(hi).toBeGreaterThanOrEqual(5.5); // every run's start stays visible
    expect(lo).toBeLessThanOrEqual(0.8);
    expect(lo).toBeGreaterThanOrEqual(0);
  });

  it('ignores the outlier on a log scale and stays > 0', () => {
    const [lo, hi] = robustYDomain([...calm, exploding], 'log');
    expect(hi).toBeLessThan(10);
    expect(hi).toBeGreaterThanOrEqual(5.5);
    expect(lo).toBeGreaterThan(0);
    expect(lo).toBeLessThan(0.8);
    expect(lo).toBeGreaterThan(0.5);
  });

  it('log scale skips zero and negative values', () => {
    const [lo] = robustYDomain([line('z', [0, -1, 2, 1])], 'log');
    expect(lo).toBeGreaterThan(0);
    expect(lo).toBeLessThanOrEqual(1);
  });

  it('counts validation points for the minimum', () => {
    const [lo] = robustYDomain([line('v', decaying(4, 2), [0.3])], 'linear');
    expect(lo).toBeLessThanOrEqual(0.3);
  });

  it('without outliers covers all the data with padding', () => {
    const [lo, hi] = robustYDomain(calm, 'linear');
    expect(lo).toBeCloseTo(0.8 - 0.05 * 4.7, 10);
    expect(hi).toBeCloseTo(5.5 + 0.05 * 4.7, 10);
  });

  it('has sensible defaults for no data and flat data', () => {
    expect(robustYDomain([], 'linear')).toEqual([0, 1]);
    expect(robustYDomain([], 'log')).toEqual([0.1, 10]);
    const [lo, hi] = robustYDomain([line('f', [2, 2, 2])], 'linear');
    expect(lo).toBeCloseTo(1.8, 10);
    expect(hi).toBeCloseTo(2.2, 10);
    const [llo, lhi] = robustYDomain([line('f', [2, 2, 2])], 'log');
    expect(llo).toBeCloseTo(2 / 1.5, 10);
    expect(lhi).toBeCloseTo(3, 10);
  });
});

describe('robustYDomain quantile', () => {
  it('puts the top at the 98th percentile (nearest rank) of unsorted data', () => {
    // a permutation of 1..1000 (7919 is coprime with 1000) starting at 1, so the start rule is moot
    const ys = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) + 1);
    const [lo, hi] = robustYDomain([line('q', ys)], 'linear');
    // sorted[floor(0.98 · 999)] = sorted[979] = 980; span 979, padded by 5 %
    expect(hi).toBeCloseTo(980 + 0.05 * 979, 9);
    expect(lo).toBe(0);
  });
});
