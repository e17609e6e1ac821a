import type { ChartPoint } from './types';

/**
 * Thins a series for drawing only (statistics always use the raw points): keeps the first and last
 * points, and the lowest and highest point of each bucket in between, in x order, so spikes and
 * dips survive. Never returns more than `max` points. Buckets with no finite y are skipped.
 */
export function downsample(points: readonly ChartPoint[], max: number): ChartPoint[] {
  return downsampleIndices(points.length, (i) => points[i].y, max).map((i) => points[i]);
}

/** The indices `downsample` keeps, for a series of n values read through y(i). */
export function downsampleIndices(n: number, y: (i: number) => number, max: number): number[] {
  const budget = Math.floor(max);
  if (budget <= 0 || n === 0) return [];
  if (n <= budget) return Array.from({ length: n }, (_, i) => i);
  if (budget === 1) return [0];
  const out: number[] = [0];
  const buckets = Math.floor((budget - 2) / 2);
  const inner = n - 2; // points strictly between first and last
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets); // exclusive
    let lo = -1;
    let hi = -1;
    let loY = Infinity;
    let hiY = -Infinity;
    for (let i = start; i < end; i++) {
      const v = y(i);
      if (!Number.isFinite(v)) continue;
      if (v < loY) [lo, loY] = [i, v];
      if (v > hiY) [hi, hiY] = [i, v];
    }
    if (lo < 0) continue;
    if (lo === hi) out.push(lo);
    else if (lo < hi) out.push(lo, hi);
    else out.push(hi, lo);
  }
  out.push(n - 1);
  return out;
}
