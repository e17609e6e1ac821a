import type { YScale } from './types';

/** A continuous scale from data values to pixels (linear or log10), with its ticks. */
export interface Scale {
  kind: YScale;
  domain: [number, number];
  range: [number, number];
  /** Data → pixel. Non-positive values on a log scale map to NaN. */
  map(v: number): number;
  /** Pixel → data. */
  invert(px: number): number;
  ticks(count?: number): number[];
}

export function makeScale(kind: YScale, domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = safeDomain(kind, domain);
  const t = kind === 'log' ? Math.log10 : (v: number) => v;
  const tInv = kind === 'log' ? (v: number) => Math.pow(10, v) : (v: number) => v;
  const a = t(d0);
  const span = t(d1) - a || 1;
  const [r0, r1] = range;
  return {
    kind,
    domain: [d0, d1],
    range,
    map: (v) => (kind === 'log' && !(v > 0) ? NaN : r0 + ((t(v) - a) / span) * (r1 - r0)),
    invert: (px) => tInv(a + ((px - r0) / (r1 - r0 || 1)) * span),
    ticks: (count = 5) => (kind === 'log' ? logTicks(d0, d1, count) : linearTicks(d0, d1, count)),
  };
}

function safeDomain(kind: YScale, [lo, hi]: [number, number]): [number, number] {
  let a = Math.min(lo, hi);
  let b = Math.max(lo, hi);
  if (kind === 'log') {
    if (!(b > 0)) return [0.1, 10];
    if (!(a > 0)) a = b / 1000;
  }
  if (!Number.isFinite(a) || !Number.isFinite(b)) return kind === 'log' ? [0.1, 10] : [0, 1];
  if (a === b) {
    if (kind === 'log') return [a / 2, b * 2];
    a -= Math.abs(a) * 0.1 || 1;
    b += Math.abs(b) * 0.1 || 1;
  }
  return [a, b];
}

/** Ticks at 1, 2, 5 × 10ᵏ steps, inside [lo, hi], about `count` of them. */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  const rough = (hi - lo) / Math.max(1, count);
  if (!(rough > 0) || !Number.isFinite(rough)) return [lo];
  const mag = Math.pow(10, Math.floor(Math.log10(rough)));
  const norm = rough / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    out.push(Number((k * step).toPrecision(12)));
  }
  return out;
}

/**
 * Ticks on a log axis: the powers of ten inside the domain (every second or third decade when
 * there are many); when fewer than two fit, the 1-2-5 multiples; when even those are too few,
 * linear ticks.
 */
export function logTicks(lo: number, hi: number, count = 5): number[] {
  const e0 = Math.ceil(Math.log10(lo) - 1e-9);
  const e1 = Math.floor(Math.log10(hi) + 1e-9);
  const decades = e1 - e0 + 1;
  if (decades >= 2) {
    const every = Math.max(1, Math.ceil(decades / Math.max(2, count + 2)));
    const out: number[] = [];
    for (let e = e0; e <= e1; e += every) out.push(pow10(e));
    return out;
  }
  const out: number[] = [];
  for (let e = e0 - 1; e <= e1 + 1; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * pow10(e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out.length >= 2 ? out : linearTicks(lo, hi, count);
}

/** 10^e without the rounding noise of Math.pow for negative e (1e-3, not 0.0010000000000000002). */
function pow10(e: number): number {
  return Number(`1e${e}`);
}
