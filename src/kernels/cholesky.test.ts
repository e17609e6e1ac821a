import { describe, expect, it } from 'vitest';
import {
  CHOLESKY_RETRY_ABS,
  CHOLESKY_RETRY_REL,
  choleskySolve,
  choleskySolveReference,
  CholeskyStatus,
} from './cholesky';
import { aAtJob, bTbJob, packJobs, type FactorJob } from './gram';
import { mulberry32, randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

/** Row-major Q diag(λ) Qᵀ with Q a random orthogonal matrix: eigenvalues exactly λ before f32 rounding. */
function spd(eigenvalues: readonly number[], seed: number): Float64Array {
  const r = eigenvalues.length;
  const g = randn(r * r, seed);
  const q = new Float64Array(r * r); // rows are orthonormal (Gram-Schmidt)
  for (let i = 0; i < r; i++) {
    for (let k = 0; k < r; k++) q[i * r + k] = g[i * r + k];
    for (let j = 0; j < i; j++) {
      let d = 0;
      for (let k = 0; k < r; k++) d += q[i * r + k] * q[j * r + k];
      for (let k = 0; k < r; k++) q[i * r + k] -= d * q[j * r + k];
    }
    let nrm = 0;
    for (let k = 0; k < r; k++) nrm += q[i * r + k] ** 2;
    for (let k = 0; k < r; k++) q[i * r + k] /= Math.sqrt(nrm);
  }
  const p = new Float64Array(r * r);
  for (let a = 0; a < r; a++)
    for (let b = a; b < r; b++) {
      let s = 0;
      for (let i = 0; i < r; i++) s += eigenvalues[i] * q[i * r + a] * q[i * r + b];
      p[a * r + b] = s;
      p[b * r + a] = s;
    }
  return p;
}

/** r eigenvalues spread geometrically from `top` down to top / cond (in a seeded order). */
function spectrum(r: number, cond: number, seed: number, top = 1): number[] {
  const rand = mulberry32(seed);
  const ev = Array.from({ length: r }, (_, i) => top * cond ** -(r === 1 ? 0 : i / (r - 1)));
  return ev.sort(() => rand() - 0.5);
}

/**
 * Jobs alternating left (gA [r, n] via aAtJob) and right (gB [n, r] via bTbJob), each region followed
 * by 3 padding elements that no job views, so stray writes show up.
 */
function mixedJobs(count: number, r: number, n: number): { jobs: FactorJob[]; size: number } {
  const jobs: FactorJob[] = [];
  let offset = 0;
  for (let m = 0; m < count; m++) {
    jobs.push(m % 2 === 0 ? aAtJob(offset, n) : bTbJob(offset, n, r));
    offset += r * n + 3;
  }
  return { jobs, size: offset };
}

function pack(mats: readonly ArrayLike<number>[]): Float32Array {
  const r2 = mats[0].length;
  const out = new Float32Array(mats.length * r2);
  mats.forEach((p, m) => out.set(Array.from(p), m * r2));
  return out;
}

async function solve(P: Float32Array, jobs: FactorJob[], rhs: Float32Array, r: number) {
  const got = await runOnce(
    choleskySolve,
    { P, jobs: packJobs(jobs), rhs, status: jobs.length },
    { count: jobs.length, r },
  );
  return { rhs: got.rhs, status: new Uint32Array(got.status.buffer) };
}

/**
 * Largest normwise backward error ‖P_m x − b‖ / (‖P_m‖₂ ‖x‖ + ‖b‖) over all vectors of all jobs, in
 * float64 on the f32 inputs; `norm2` is ‖P_m‖₂ (known from the construction).
 */
function worstBackwardError(
  P: ArrayLike<number>,
  norm2: number,
  jobs: readonly FactorJob[],
  b: ArrayLike<number>,
  x: ArrayLike<number>,
  r: number,
): number {
  let worst = 0;
  jobs.forEach((job, m) => {
    for (let k = 0; k < job.n; k++) {
      const at = (i: number) => job.offset + i * job.strideI + k * job.strideK;
      let res = 0;
      let nb = 0;
      let nx = 0;
      for (let i = 0; i < r; i++) {
        let s = -b[at(i)];
        for (let j = 0; j < r; j++) s += P[m * r * r + i * r + j] * x[at(j)];
        res += s * s;
        nb += b[at(i)] ** 2;
        nx += x[at(i)] ** 2;
      }
      worst = Math.max(worst, Math.sqrt(res) / (norm2 * Math.sqrt(nx) + Math.sqrt(nb)));
    }
  });
  return worst;
}

const allFinite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);

describe('choleskySolve', () => {
  it('refuses r outside 1..64 (one thread per row of L)', () => {
    expect(() => choleskySolve.workgroups({ count: 1, r: 65 }, {})).toThrow();
    expect(() => choleskySolve.workgroups({ count: 1, r: 0 }, {})).toThrow();
    expect(choleskySolve.workgroups({ count: 70000, r: 64 }, {})).toEqual([65535, 2, 1]);
  });

  // [count, r, n]: r from 1 to 64, n not a multiple of the 64-thread workgroup, left and right mixed.
  it.each([
    [1, 1, 1],
    [5, 4, 33],
    [5, 7, 130],
    [5, 16, 33],
    [1, 64, 1],
    [5, 64, 130],
    [1000, 4, 33],
  ])('count=%i r=%i n=%i, well conditioned: x matches float64', async (count, r, n) => {
    const P = pack(Array.from({ length: count }, (_, m) => spd(spectrum(r, 10, m, 2), 100 + m)));
    const { jobs, size } = mixedJobs(count, r, n);
    const rhs = randn(size, 7 + r + n);
    const got = await solve(P, jobs, rhs, r);
    const want = choleskySolveReference(P, jobs, rhs, r);
    expect(Array.from(want.status)).toEqual(new Array(count).fill(CholeskyStatus.ok));
    expect(Array.from(got.status)).toEqual(Array.from(want.status));
    // f32 Cholesky: forward error ≲ cond · r · 2⁻²⁴ ≈ 4e-5 for cond 10, r 64.
    expectAllClose(got.rhs, want.rhs, { rtol: 1e-4, atol: 1e-5 }, 'x');
  });

  it.each([
    [5, 4, 33],
    [5, 16, 130],
    [3, 64, 33],
  ])('count=%i r=%i n=%i, condition number 1e6: small backward error', async (count, r, n) => {
    const P = pack(Array.from({ length: count }, (_, m) => spd(spectrum(r, 1e6, 50 + m), 200 + m)));
    const { jobs, size } = mixedJobs(count, r, n);
    const rhs = randn(size, 3 + r);
    const got = await solve(P, jobs, rhs, r);
    const want = choleskySolveReference(P, jobs, rhs, r);
    expect(Array.from(want.status)).toEqual(new Array(count).fill(CholeskyStatus.ok));
    expect(Array.from(got.status)).toEqual(Array.from(want.status));
    expect(allFinite(got.rhs)).toBe(true);
    // ‖Px − b‖/‖b‖ is no measure here: the float64 solution rounded to f32 already leaves a relative
    // residual of 2e-3..2e-2 (‖x‖ ~ 1e6 ‖b‖ along the smallest eigenvector). Cholesky is backward
    // stable, so test the backward error instead: ≲ r · 2⁻²⁴ ≈ 4e-6 for r = 64 (measured 4e-8..6e-8;
    // the float64 solution rounded to f32: 1e-8..4e-8).
    const eta = worstBackwardError(P, 1, jobs, rhs, got.rhs, r);
    expect(eta).toBeLessThan(4e-6);
  });

  it('P = δI (B = 0 on the first step) and rhs = 0 gives exactly 0', async () => {
    const r = 7;
    const count = 4;
    const delta = Math.fround(1e-6);
    const eye = new Float64Array(r * r).map((_, e) => (e % (r + 1) === 0 ? delta : 0));
    const P = pack(new Array(count).fill(eye));
    const { jobs, size } = mixedJobs(count, r, 33);
    const got = await solve(P, jobs, new Float32Array(size), r);
    expect(Array.from(got.status)).toEqual(new Array(count).fill(CholeskyStatus.ok));
    expect(got.rhs.every((x) => Object.is(x, 0))).toBe(true);
  });

  it('indefinite and non-finite P: damped retry (1) or identity (2), no NaN, others unaffected', async () => {
    const r = 16;
    const n = 33;
    const ev = spectrum(r, 100, 9);
    const slightly = [...ev.slice(1), -1e-5]; // rescued by the retry's 1e-4 · mean|P_ii|
    const strongly = [...ev.slice(1), -0.5]; // not rescued
    const withNaN = spd(ev, 30);
    withNaN[5 * r + 3] = NaN; // off the diagonal, in the lower triangle the factorisation never reads
    const singular = new Float64Array(r * r); // P = 0: the retry's absolute 1e-6 makes it δI
    const mats = [spd(ev, 31), spd(slightly, 32), spd(strongly, 33), withNaN, singular, spd(ev, 34)];
    const P = pack(mats);
    const { jobs, size } = mixedJobs(mats.length, r, n);
    const rhs = randn(size, 77);
    const got = await solve(P, jobs, rhs, r);
    const want = choleskySolveReference(P, jobs, rhs, r);
    expect(Array.from(want.status)).toEqual([0, 1, 2, 2, 1, 0]);
    expect(Array.from(got.status)).toEqual(Array.from(want.status));
    expect(allFinite(got.rhs)).toBe(true);
    // Status 2 leaves the vectors (and the padding) bit-identical; the well-conditioned ones match float64.
    const region = (m: number) => [jobs[m].offset, jobs[m].offset + r * n + 3] as const;
    for (const m of [2, 3]) expect(got.rhs.slice(...region(m))).toEqual(rhs.slice(...region(m)));
    for (const m of [0, 4, 5])
      expectAllClose(
        got.rhs.slice(...region(m)),
        want.rhs.slice(...region(m)),
        { rtol: 1e-4, atol: 1e-5 },
        `m=${m}`,
      );
    // The damped matrix P + εI has condition ~1e5 here, so check its backward error (as above).
    const damped = Array.from(P.slice(r * r, 2 * r * r));
    let diagSum = 0;
    for (let i = 0; i < r; i++) diagSum += Math.abs(damped[i * r + i]);
    const eps = (CHOLESKY_RETRY_REL * diagSum) / r + CHOLESKY_RETRY_ABS;
    for (let i = 0; i < r; i++) damped[i * r + i] += eps;
    expect(worstBackwardError(damped, 1 + eps, [jobs[1]], rhs, got.rhs, r)).toBeLessThan(4e-6);
  });
});
