import { describe, expect, it } from 'vitest';
import { deriveLine, linePath, nearestIndex, tooltipRows } from './lossSeries';
import { linearTicks, logTicks, makeScale } from './scale';
import type { LossLine } from './types';

const line = (id: string, ys: number[], start = 0): LossLine => ({
  id,
  label: id,
  color: '#123456',
  points: ys.map((y, i) => ({ x: start + i, y })),
  validation: [],
});

describe('scale', () => {
  it('maps linear and log domains onto the range and back', () => {
    const lin = makeScale('linear', [0, 10], [0, 100]);
    expect(lin.map(5)).toBe(50);
    expect(lin.invert(25)).toBe(2.5);
    const log = makeScale('log', [1, 100], [200, 0]);
    expect(log.map(10)).toBeCloseTo(100, 10);
    expect(log.invert(0)).toBeCloseTo(100, 10);
    expect(log.map(0)).toBeNaN();
  });

  it('makes 1-2-5 linear ticks inside the domain', () => {
    expect(linearTicks(0, 300, 4)).toEqual([0, 100, 200, 300]);
    expect(linearTicks(0.3, 1.1, 4)).toEqual([0.4, 0.6, 0.8, 1]);
  });

  it('makes power-of-ten log ticks, or 1-2-5 multiples within one decade', () => {
    expect(logTicks(1e-4, 1e-1, 5)).toEqual([1e-4, 1e-3, 1e-2, 1e-1]);
    expect(logTicks(0.6, 6, 5)).toEqual([1, 2, 5]);
    expect(logTicks(1e-9, 1, 3).length).toBeLessThanOrEqual(5);
  });
});

describe('deriveLine / linePath', () => {
  it('smooths every raw point and thins only what is drawn', () => {
    const l = line(
      'a',
      Array.from({ length: 1000 }, (_, i) => 1 + (i % 7)),
    );
    const d = deriveLine(l, 0.9, 50);
    expect(d.smoothed).toHaveLength(1000);
    expect(d.rawDraw.length).toBeLessThanOrEqual(50);
    expect(d.smoothDraw.length).toBeLessThanOrEqual(50);
    expect(deriveLine(l, 0.9, 50).smoothed).toBe(d.smoothed); // cached
    expect(deriveLine(l, 0.5, 50).smoothed).not.toBe(d.smoothed);
  });

  it('breaks the path where a value cannot be drawn on a log axis', () => {
    const sx = makeScale('linear', [0, 3], [0, 30]);
    const sy = makeScale('log', [1, 100], [100, 0]);
    const pts = [1, 10, 0, 100].map((y, x) => ({ x, y }));
    expect(linePath(pts, sx, sy)).toBe('M0,100L10,50M30,0');
  });
});

describe('tooltipRows', () => {
  it('gives every run present at x, sorted by smoothed value, lowest first', () => {
    const lines = [line('high', [5, 5, 5, 5]), line('low', [1, 1, 1, 1]), line('mid', [3, 3, 3, 3])];
    const d = lines.map((l) => deriveLine(l, 0, 500));
    const rows = tooltipRows(d, 2.2);
    expect(rows.map((r) => r.id)).toEqual(['low', 'mid', 'high']);
    expect(rows[0]).toMatchObject({ x: 2, value: 1, raw: 1, color: '#123456' });
  });

  it('leaves out a run that ended (diverged) before x', () => {
    const d = [line('long', [2, 2, 2, 2, 2, 2, 2, 2]), line('short', [1, 1, 1])].map((l) =>
      deriveLine(l, 0, 500),
    );
    expect(tooltipRows(d, 7).map((r) => r.id)).toEqual(['long']);
    expect(tooltipRows(d, 2).map((r) => r.id)).toEqual(['short', 'long']);
  });

  it('finds the nearest point by binary search', () => {
    const pts = [0, 10, 20, 30].map((x) => ({ x, y: 0 }));
    expect(nearestIndex(pts, 14)).toBe(1);
    expect(nearestIndex(pts, 16)).toBe(2);
    expect(nearestIndex(pts, -5)).toBe(0);
    expect(nearestIndex(pts, 99)).toBe(3);
    expect(nearestIndex([], 1)).toBe(-1);
  });
});
