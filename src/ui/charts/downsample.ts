import type { ChartPoint } from './types';

/**
 * Thins a series for drawing only (statistics always use the raw points): keeps the first and last
 * points, and the lowest and highest point of each bucket in between, in x order, so spikes and
 * dips survive. Never returns more than `max` points. Non-finite y are kept only as bucket fillers
 * when a bucket has nothing finite.
 */
export function downsample(points: readonly ChartPoint[], max: number): ChartPoint[] {
  const n = points.length;
  const budget = Math.floor(max);
  if (budget <= 0 || n === 0) return [];
  if (n <= budget) return points.slice();
  if (budget === 1) return [points[0]];
  const out: ChartPoint[] = [points[0]];
  const buckets = Math.floor((budget - 2) / 2);
  const inner = n - 2; // points strictly between first and last
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets); // exclusive
    let lo = -1;
    let hi = -1;
    for (let i = start; i < end; i++) {
      const y = points[i].y;
      if (!Number.isFinite(y)) continue;
      if (lo < 0 || y < points[lo].y) lo = i;
      if (hi < 0 || y > points[hi].y) hi = i;
    }
    if (lo < 0) continue;
    if (lo === hi) out.push(points[lo]);
    else if (lo < hi) out.push(points[lo], points[hi]);
    else out.push(points[hi], points[lo]);
  }
  out.push(points[n - 1]);
  return out;
}
