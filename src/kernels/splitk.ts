// Summation of split-K partial products (LoRA weight gradients over many rows).
import source from '../../shaders/splitk.wgsl?raw';
import { defineKernel, grid1d } from '../gpu/kernel';

export const sumSplits = defineKernel({
  label: 'sumSplits',
  source,
  bindings: { partial: 'read', out: 'write' },
  params: { R: 'u32', S: 'u32', n: 'u32', offOut: 'u32', strideOut: 'u32', alpha: 'f32' },
  workgroups: ({ R, n }) => grid1d(R * n, 256),
});

/**
 * Number of row chunks for a reduction over `rows` rows: chunks of at least `minChunk` rows that
 * divide `rows` exactly (the batched matmul needs equal chunks); 1 when none fits.
 */
export function splitCount(rows: number, minChunk = 128, maxSplits = 64): number {
  let best = 1;
  for (let s = 2; s <= maxSplits; s++) if (rows % s === 0 && rows / s >= minChunk) best = s;
  return best;
}

/** Float64 reference, used only by tests. */
export function sumSplitsReference(
  partial: ArrayLike<number>,
  out: ArrayLike<number>,
  p: { R: number; S: number; n: number; offOut: number; strideOut: number; alpha: number },
): Float64Array {
  const res = Float64Array.from(out);
  for (let run = 0; run < p.R; run++) {
    for (let i = 0; i < p.n; i++) {
      let acc = 0;
      for (let s = 0; s < p.S; s++) acc += partial[(run * p.S + s) * p.n + i];
      res[p.offOut + run * p.strideOut + i] = p.alpha * acc;
    }
  }
  return res;
}
