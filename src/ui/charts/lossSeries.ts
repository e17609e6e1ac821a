import { downsample, downsampleIndices } from './downsample';
import { emaSmooth } from './ema';
import type { Scale } from './scale';
import type { ChartPoint, LossLine } from './types';

/** What a loss panel draws for one run; derived once per (points, smoothing, budget). */
export interface DerivedLine {
  line: LossLine;
  /** Smoothed value at every raw point (same length and x as line.points). */
  smoothed: number[];
  /** Thinned raw and smoothed series, for drawing only. */
  rawDraw: ChartPoint[];
  smoothDraw: ChartPoint[];
}

interface CacheEntry {
  smoothing: number;
  budget: number;
  smoothed: number[];
  rawDraw: ChartPoint[];
  smoothDraw: ChartPoint[];
}

// Keyed by the points array: a run whose points did not change (stopped, diverged) costs nothing
// on the next metrics message.
const cache = new WeakMap<readonly ChartPoint[], CacheEntry>();

export function deriveLine(line: LossLine, smoothing: number, budget: number): DerivedLine {
  const hit = cache.get(line.points);
  if (hit && hit.smoothing === smoothing && hit.budget === budget) return { line, ...hit };
  const smoothed = emaSmooth(
    line.points.map((p) => p.y),
    smoothing,
  );
  const rawDraw = downsample(line.points, budget);
  const smoothDraw =
    smoothing > 0
      ? downsampleIndices(smoothed.length, (i) => smoothed[i], budget).map((i) => ({
          x: line.points[i].x,
          y: smoothed[i],
        }))
      : rawDraw;
  const entry = { smoothing, budget, smoothed, rawDraw, smoothDraw };
  cache.set(line.points, entry);
  return { line, ...entry };
}

/** SVG path through the points; a point that does not map (y ≤ 0 on a log axis) breaks the path. */
export function linePath(points: readonly ChartPoint[], sx: Scale, sy: Scale): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    const x = sx.map(p.x);
    const y = sy.map(p.y);
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${round(x)},${round(y)}`;
    pen = true;
  }
  return d;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

export interface TooltipRow {
  id: string;
  label: string;
  color: string;
  dash?: string;
  x: number;
  value: number;
  raw: number;
}

/**
 * Every run's value at the raw point nearest to x (runs that ended or start more than one
 * point-spacing away are left out), sorted by smoothed value, lowest first.
 */
export function tooltipRows(lines: readonly DerivedLine[], x: number): TooltipRow[] {
  const rows: TooltipRow[] = [];
  for (const d of lines) {
    const pts = d.line.points;
    const i = nearestIndex(pts, x);
    if (i < 0) continue;
    const spacing = pts.length > 1 ? (pts[pts.length - 1].x - pts[0].x) / (pts.length - 1) : 0;
    if (Math.abs(pts[i].x - x) > Math.max(spacing, 1e-9) * 1.5) continue;
    const value = d.smoothed[i];
    if (!Number.isFinite(value)) continue;
    const { id, label, color, dash } = d.line;
    rows.push({ id, label, color, dash, x: pts[i].x, value, raw: pts[i].y });
  }
  return rows.sort((a, b) => a.value - b.value);
}

/** Index of the point whose x is nearest to x (points sorted by x); -1 when empty. */
export function nearestIndex(points: readonly ChartPoint[], x: number): number {
  if (points.length === 0) return -1;
  let lo = 0;
  let hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].x < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(points[lo - 1].x - x) <= Math.abs(points[lo].x - x)) return lo - 1;
  return lo;
}
