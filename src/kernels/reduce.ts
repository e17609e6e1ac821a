// Per-run sums and non-finite flags: each run's loss and gradient norms, and divergence detection.
import source from '../../shaders/reduce.wgsl?raw';
import reducePhase from '../../shaders/reduce-phase.wgsl?raw';
import { defineKernel, foldedGrid } from '../gpu/kernel';

/** sums[ρ] = Σ x[ρ·n + i] (or Σ x² when square = 1); flags[ρ] = 1 when run ρ holds a NaN or ±Inf. */
export const runSums = defineKernel({
  label: 'runSums',
  source: `${reducePhase}\n${source}`,
  bindings: { x: 'read', sums: 'write', flags: 'write' },
  params: { R: 'u32', n: 'u32', square: 'u32' },
  constants: { WG: 256 },
  workgroups: ({ R }) => foldedGrid(R),
});

/** Float64 reference, used only by tests. */
export function runSumsReference(
  x: ArrayLike<number>,
  R: number,
  n: number,
  square: boolean,
): { sums: Float64Array; flags: Uint32Array } {
  const sums = new Float64Array(R);
  const flags = new Uint32Array(R);
  for (let run = 0; run < R; run++) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const v = x[run * n + i];
      if (!Number.isFinite(v)) flags[run] = 1;
      acc += square ? v * v : v;
    }
    sums[run] = acc;
  }
  return { sums, flags };
}
