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
  const ys: number[] = [];
  let firstMax = -Infinity;
  for (const line of lines) {
    for (const series of [line.points, line.validation]) {
      for (const p of series) if (usable(p.y, scale)) ys.push(p.y);
    }
    const first = line.points.find((p) => usable(p.y, scale));
    if (first) firstMax = Math.max(firstMax, first.y);
  }
  if (ys.length === 0) return scale === 'log' ? [0.1, 10] : [0, 1];
  const sorted = Float64Array.from(ys).sort();
  const min = sorted[0];
  const max = sorted[sorted.length - 1];
  const q = sorted[Math.floor(TOP_QUANTILE * (sorted.length - 1))];
  const top = Math.min(max, Math.max(q, firstMax));
  return scale === 'log' ? padLog(min, top) : padLinear(min, top);
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
