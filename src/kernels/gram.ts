// P[m] = F_mᵀ-side Gram + δ_m I for a batch of factors (every B, or every A, of every adapter of every run);
// δ_m is the damping of matrix m's run (runs of one sweep may differ in it).
import gramPhase from '../../shaders/gram-phase.wgsl?raw';
import source from '../../shaders/gram.wgsl?raw';
import { defineKernel, foldedGrid } from '../gpu/kernel';

/** Row-major view of a factor: element (i, k) at offset + i·strideI + k·strideK, k < n. */
export interface FactorJob {
  offset: number;
  n: number;
  strideI: number;
  strideK: number;
}

export const gram = defineKernel({
  label: 'gram',
  source: `${gramPhase}\n${source}`,
  bindings: { factors: 'read', jobs: 'read', damping: 'read', out: 'write' },
  params: { count: 'u32', r: 'u32' },
  workgroups: ({ count }) => foldedGrid(count),
});

/** Jobs for BᵀB of a row-major [out, r] factor at `offset`. */
export const bTbJob = (offset: number, out: number, r: number): FactorJob => ({
  offset,
  n: out,
  strideI: 1,
  strideK: r,
});
/** Jobs for AAᵀ of a row-major [r, in] factor at `offset`. */
export const aAtJob = (offset: number, inDim: number): FactorJob => ({
  offset,
  n: inDim,
  strideI: inDim,
  strideK: 1,
});

export function packJobs(jobs: readonly FactorJob[]): Uint32Array {
  const out = new Uint32Array(jobs.length * 4);
  jobs.forEach((j, m) => out.set([j.offset, j.n, j.strideI, j.strideK], m * 4));
  return out;
}

/** Float64 reference (damping[m] per job), used only by tests. */
export function gramReference(
  factors: ArrayLike<number>,
  jobs: readonly FactorJob[],
  r: number,
  damping: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(jobs.length * r * r);
  jobs.forEach((job, m) => {
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < r; j++) {
        let acc = i === j ? damping[m] : 0;
        for (let k = 0; k < job.n; k++) {
          acc +=
            factors[job.offset + i * job.strideI + k * job.strideK] *
            factors[job.offset + j * job.strideI + k * job.strideK];
        }
        out[m * r * r + i * r + j] = acc;
      }
    }
  });
  return out;
}
