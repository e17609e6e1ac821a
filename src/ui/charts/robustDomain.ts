import type { LossLine, YScale } from './types';

/** Share of the highest finite values that may lie above the top of the domain. */
const TOP_QUANTILE = 0.98;
const PAD = 0.05;

/**
 * A y domain shared by every loss panel that one exploding run cannot flatten: the top is a high
 * quantile of all finite values (raised, if needed, to the highest starting loss so every curve's
 * start stays visible), the bottom the true minimum; both padded. On a log scale only values > 0
 * count and the domain stays > 0.
 */
export function robustYDomain(lines: readonly LossLine[], scale: YScale): [number, number] {
  let total = 0;
  for (const line of lines) total += line.points.length + line.validation.length;
  const ys = new Float64Array(total);
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  let firstMax = -Infinity;
  for (const line of lines) {
    for (const series of [line.points, line.validation]) {
      for (const p of series) {
        const y = p.y;
        if (!usable(y, scale)) continue;
        ys[n++] = y;
        if (y < min) min = y;
        if (y > max) max = y;
      }
    }
    const first = line.points.find((p) => usable(p.y, scale));
    if (first) firstMax = Math.max(firstMax, first.y);
  }
  if (n === 0) return scale === 'log' ? [0.1, 10] : [0, 1];
  const q = select(ys.subarray(0, n), Math.floor(TOP_QUANTILE * (n - 1)));
  const top = Math.min(max, Math.max(q, firstMax));
  return scale === 'log' ? padLog(min, top) : padLinear(min, top);
}

/** The k-th smallest value (0-based) by quickselect, O(n); reorders `a`. */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

function usable(y: number, scale: YScale): boolean {
  return Number.isFinite(y) && (scale === 'linear' || y > 0);
}

function padLinear(lo: number, hi: number): [number, number] {
  const span = hi - lo || Math.abs(hi) * 2 || 1; // flat data: ±10 % around it
  const bottom = lo - PAD * span;
  // Losses are non-negative: do not push the axis below zero just for padding.
  return [lo >= 0 ? Math.max(0, bottom) : bottom, hi + PAD * span];
}

function padLog(lo: number, hi: number): [number, number] {
  const f = hi > lo ? Math.pow(hi / lo, PAD) : 1.5; // flat data: a factor 1.5 either side
  return [lo / f, hi * f];
}
