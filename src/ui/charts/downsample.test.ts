import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { downsample } from './downsample';
import type { ChartPoint } from './types';

const series = (ys: number[]): ChartPoint[] => ys.map((y, x) => ({ x, y }));

describe('downsample', () => {
  it('returns short series unchanged (as a copy)', () => {
    const pts = series([3, 1, 2]);
    const got = downsample(pts, 10);
    expect(got).toEqual(pts);
    expect(got).not.toBe(pts);
  });

  it('keeps first, last and the extremes of each bucket', () => {
    // 2 + 2 buckets × 2 = budget 6; inner points 1..8 split into [1..4] and [5..8]
    const ys = [5, 4, 9, 0.5, 3, 2, 1, 8, 7, 6];
    const got = downsample(series(ys), 6);
    expect(got.map((p) => p.x)).toEqual([0, 2, 3, 6, 7, 9]);
  });

  it('keeps a single spike in a long series', () => {
    const ys = Array.from({ length: 2000 }, (_, i) => 3 - i / 1000);
    ys[1234] = 1e6;
    const got = downsample(series(ys), 100);
    expect(got.some((p) => p.x === 1234 && p.y === 1e6)).toBe(true);
    expect(got[0]).toEqual({ x: 0, y: 3 });
    expect(got[got.length - 1].x).toBe(1999);
  });

  it('never exceeds the budget, keeps first/last and x order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 120 }),
        (ys, max) => {
          const pts = series(ys);
          const got = downsample(pts, max);
          expect(got.length).toBeLessThanOrEqual(max);
          expect(got[0]).toBe(pts[0]);
          if (max >= 2) expect(got[got.length - 1]).toBe(pts[pts.length - 1]);
          for (let i = 1; i < got.length; i++) expect(got[i].x).toBeGreaterThan(got[i - 1].x);
          if (max >= 4) {
            const minY = Math.min(...ys);
            const maxY = Math.max(...ys);
            expect(got.some((p) => p.y === minY)).toBe(true);
            expect(got.some((p) => p.y === maxY)).toBe(true);
          }
        },
      ),
    );
  });

  it('returns nothing for an empty series or a zero budget', () => {
    expect(downsample([], 10)).toEqual([]);
    expect(downsample(series([1, 2]), 0)).toEqual([]);
  });
});
