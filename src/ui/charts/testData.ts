// Fixtures shared by the chart component tests (not imported by the page).
import { formatLr } from './formatLr';
import { lrColor } from './colors';
import type { LossLine } from './types';

export const LRS = [1e-4, 1e-3, 1e-2, 1e-1];

/** A decaying loss curve with a little deterministic noise. */
export function lossCurve(steps: number, rate: number, start = 5.5, floor = 0.8): { x: number; y: number }[] {
  return Array.from({ length: steps }, (_, i) => ({
    x: i,
    y: floor + (start - floor) * Math.exp(-rate * i) + 0.05 * Math.sin(i * 1.7),
  }));
}

export function makeLines(steps = 300, prefix = 'adamw'): LossLine[] {
  return LRS.map((lr, k) => {
    const diverges = lr === 1e-1;
    const points = lossCurve(diverges ? 92 : steps, 0.01 * (k + 1));
    return {
      id: `${prefix}@${lr}`,
      label: `lr ${formatLr(lr)}`,
      color: lrColor(lr, LRS),
      points,
      validation: points.filter((p) => p.x % 50 === 0).map((p) => ({ x: p.x, y: p.y + 0.1 })),
      divergedAt: diverges ? { x: 92, y: Infinity } : undefined,
    };
  });
}
