// v ← P_m⁻¹ v for every vector of every job: the preconditioner solves of ALGORITHM.md (gA' = PA⁻¹ gA
// through aAtJob, gB' = gB PB⁻¹ through bTbJob), all matrices in one dispatch, one workgroup each.
import choleskyPhase from '../../shaders/cholesky-phase.wgsl?raw';
import source from '../../shaders/cholesky.wgsl?raw';
import { defineKernel, foldedGrid } from '../gpu/kernel';
import type { FactorJob } from './gram';

/** Largest r the kernel supports (its workgroup holds one thread per row of L). */
export const CHOLESKY_MAX_R = 64;

/** Per-matrix outcome written to `status`. */
export const CholeskyStatus = { ok: 0, damped: 1, identity: 2 } as const;

/** Damping of the retry after a breakdown: ε = RETRY_REL · mean|P_ii| + RETRY_ABS (see the shader). */
export const CHOLESKY_RETRY_REL = 1e-4;
export const CHOLESKY_RETRY_ABS = 1e-6;
const EPS32 = 2 ** -23;

export const choleskySolve = defineKernel({
  label: 'choleskySolve',
  source: `${choleskyPhase}\n${source}`,
  bindings: { P: 'read', jobs: 'read', rhs: 'write', status: 'write' },
  params: { count: 'u32', r: 'u32' },
  workgroups: ({ count, r }) => {
    if (!(r >= 1 && r <= CHOLESKY_MAX_R)) throw new Error(`choleskySolve: r=${r} outside 1..64`);
    return foldedGrid(count);
  },
});

/** Lower Cholesky factor of P + extra·I (row-major r×r, read through its upper triangle), or undefined. */
function factor(P: ArrayLike<number>, base: number, r: number, extra: number): Float64Array | undefined {
  const L = new Float64Array(r * r);
  for (let j = 0; j < r; j++) {
    for (let i = j; i < r; i++) {
      let s = P[base + j * r + i] + (i === j ? extra : 0);
      for (let k = 0; k < j; k++) s -= L[i * r + k] * L[j * r + k];
      if (i === j) {
        if (!(Number.isFinite(s) && s > EPS32 * Math.abs(P[base + j * r + j]))) return undefined;
        L[j * r + j] = Math.sqrt(s);
      } else {
        L[i * r + j] = s / L[j * r + j];
      }
    }
  }
  return L;
}

/**
 * Float64 reference with the kernel's semantics, status included: returns the solved copy of `rhs`
 * and the status of each matrix. Used only by tests.
 */
export function choleskySolveReference(
  P: ArrayLike<number>,
  jobs: readonly FactorJob[],
  rhs: ArrayLike<number>,
  r: number,
): { rhs: Float64Array; status: Uint32Array } {
  const out = Float64Array.from(rhs);
  const status = new Uint32Array(jobs.length);
  jobs.forEach((job, m) => {
    const base = m * r * r;
    let finite = true;
    let diagSum = 0;
    for (let e = 0; e < r * r; e++) finite &&= Number.isFinite(P[base + e]);
    for (let i = 0; i < r; i++) diagSum += Math.abs(P[base + i * r + i]);
    let L = finite ? factor(P, base, r, 0) : undefined;
    status[m] = CholeskyStatus.ok;
    if (finite && !L) {
      L = factor(P, base, r, (CHOLESKY_RETRY_REL * diagSum) / r + CHOLESKY_RETRY_ABS);
      status[m] = CholeskyStatus.damped;
    }
    if (!L) {
      status[m] = CholeskyStatus.identity;
      return;
    }
    const x = new Float64Array(r);
    for (let k = 0; k < job.n; k++) {
      const at = job.offset + k * job.strideK;
      for (let i = 0; i < r; i++) {
        let s = out[at + i * job.strideI];
        for (let j = 0; j < i; j++) s -= L[i * r + j] * x[j];
        x[i] = s / L[i * r + i];
      }
      for (let i = r - 1; i >= 0; i--) {
        let s = x[i];
        for (let j = i + 1; j < r; j++) s -= L[j * r + i] * x[j];
        x[i] = s / L[i * r + i];
      }
      for (let i = 0; i < r; i++) out[at + i * job.strideI] = x[i];
    }
  });
  return { rhs: out, status };
}
