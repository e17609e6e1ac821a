import { describe, expect, it } from 'vitest';
import { gramCholeskySolve } from './gram-cholesky-solve';
import { choleskySolve, choleskySolveReference, CholeskyStatus } from './cholesky';
import { aAtJob, bTbJob, gram, gramReference, packJobs, type FactorJob } from './gram';
import { randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

type Side = 'A' | 'B' | 'mixed';

interface Problem {
  r: number;
  factors: Float32Array;
  gramJobs: FactorJob[];
  damping: Float32Array;
  solveJobs: FactorJob[];
  rhs: Float32Array;
}

/**
 * `count` jobs as the optimizer builds them: side A reads B [n, r] (BᵀB) and solves the columns of
 * gA [r, n]; side B reads A [r, n] (AAᵀ) and solves the rows of gB [n, r]. 'mixed' alternates A, B.
 * Factors and rhs are separate buffers, each region followed by 3 padding elements no job views.
 * Factor entries ~ N(0, 1/n) and δ = 0.5 keep P's condition number near 10 for any n and r.
 */
function problem(count: number, r: number, n: number, side: Side, seed: number): Problem {
  const gramJobs: FactorJob[] = [];
  const solveJobs: FactorJob[] = [];
  let offset = 0;
  for (let m = 0; m < count; m++) {
    const a = side === 'A' || (side === 'mixed' && m % 2 === 0);
    gramJobs.push(a ? bTbJob(offset, n, r) : aAtJob(offset, n));
    solveJobs.push(a ? aAtJob(offset, n) : bTbJob(offset, n, r));
    offset += r * n + 3;
  }
  return {
    r,
    factors: randn(offset, seed, 1 / Math.sqrt(n)),
    gramJobs,
    damping: Float32Array.from(gramJobs, (_, m) => 0.5 + 0.1 * (m % 3)),
    solveJobs,
    rhs: randn(offset, seed + 1),
  };
}

async function fused(p: Problem) {
  const count = p.gramJobs.length;
  const got = await runOnce(
    gramCholeskySolve,
    {
      factors: p.factors,
      gramJobs: packJobs(p.gramJobs),
      damping: p.damping,
      P: count * p.r * p.r,
      solveJobs: packJobs(p.solveJobs),
      rhs: p.rhs,
      status: count,
    },
    { count, r: p.r },
  );
  return { P: got.P, rhs: got.rhs, status: new Uint32Array(got.status.buffer) };
}

/** The path the fused kernel replaces: gram, then choleskySolve on gram's P. */
async function twoKernels(p: Problem) {
  const count = p.gramJobs.length;
  const g = await runOnce(
    gram,
    { factors: p.factors, jobs: packJobs(p.gramJobs), damping: p.damping, out: count * p.r * p.r },
    { count, r: p.r },
  );
  const s = await runOnce(
    choleskySolve,
    { P: g.out, jobs: packJobs(p.solveJobs), rhs: p.rhs, status: count },
    { count, r: p.r },
  );
  return { P: g.out, rhs: s.rhs, status: new Uint32Array(s.status.buffer) };
}

/** Float64 P (gramReference) and the float64 solve on it (choleskySolveReference). */
function reference(p: Problem) {
  const P = gramReference(p.factors, p.gramJobs, p.r, p.damping);
  return { P, ...choleskySolveReference(P, p.solveJobs, p.rhs, p.r) };
}

const bits = (a: Float32Array | Uint32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/**
 * Jobs that break down, in one dispatch (r = 16, n = 37, mixed sides): 0 and 5 fine; 1 a factor with
 * one index i all zero and δ = 0, so P's row and column i are exactly 0 (pivot exactly 0, rescued by
 * the retry); 2 a NaN in the factor (P non-finite: identity); 3 δ = −1 (P ≈ FᵀF − I indefinite, not
 * rescued); 4 a zero factor and δ = 0 (P = 0: the retry's absolute 1e-6 makes it δI).
 */
function breakdowns(): Problem {
  const r = 16;
  const n = 37;
  const p = problem(6, r, n, 'mixed', 91);
  const at = (m: number, i: number, k: number) => {
    const j = p.gramJobs[m];
    return j.offset + i * j.strideI + k * j.strideK;
  };
  for (let k = 0; k < n; k++) p.factors[at(1, 3, k)] = 0;
  p.damping[1] = 0;
  p.factors[at(2, 5, 11)] = NaN;
  p.damping[3] = -1;
  for (let i = 0; i < r; i++) for (let k = 0; k < n; k++) p.factors[at(4, i, k)] = 0;
  p.damping[4] = 0;
  return p;
}

// Tolerances as gram.test.ts (P) and cholesky.test.ts (x, condition number ~10).
const P_TOL = { rtol: 2e-5, atol: 1e-5 };
const X_TOL = { rtol: 1e-4, atol: 1e-5 };

describe('gramCholeskySolve', () => {
  it('refuses r outside 1..64 (one thread per row of L)', () => {
    expect(() => gramCholeskySolve.workgroups({ count: 1, r: 65 }, {})).toThrow();
    expect(() => gramCholeskySolve.workgroups({ count: 1, r: 0 }, {})).toThrow();
    expect(gramCholeskySolve.workgroups({ count: 70000, r: 64 }, {})).toEqual([65535, 2, 1]);
  });

  // [count, r, n, side]: r = 1 (256 slices per entry) .. 16 (136 entries, one slice) .. 64 (2080 entries:
  // whole entries per thread); n not a multiple of anything.
  it.each<[number, number, number, Side]>([
    [1, 1, 37, 'A'],
    [3, 2, 259, 'B'],
    [9, 4, 37, 'mixed'],
    [3, 7, 259, 'mixed'],
    [3, 16, 37, 'A'],
    [1, 64, 37, 'B'],
    [3, 64, 259, 'mixed'],
  ])('count=%i r=%i n=%i side %s: P and x match float64', async (count, r, n, side) => {
    const p = problem(count, r, n, side, 5 + r + n);
    const got = await fused(p);
    const want = reference(p);
    expect(Array.from(want.status)).toEqual(new Array(count).fill(CholeskyStatus.ok));
    expect(Array.from(got.status)).toEqual(Array.from(want.status));
    expectAllClose(got.P, want.P, P_TOL, 'P');
    expectAllClose(got.rhs, want.rhs, X_TOL, 'x');
  });

  it('breakdowns: damped retry (1) and identity (2) as choleskySolve, others unaffected', async () => {
    const p = breakdowns();
    const got = await fused(p);
    const want = reference(p);
    expect(Array.from(want.status)).toEqual([0, 1, 2, 2, 1, 0]);
    expect(Array.from(got.status)).toEqual(Array.from(want.status));
    expectAllClose(got.P, want.P, P_TOL, 'P'); // NaN exactly where float64 has it (row and column 5 of P₂)
    expect(got.rhs.every(Number.isFinite)).toBe(true);
    // Status 2 leaves the vectors (and the padding) bit-identical; the others match float64. The
    // damped ones are block diagonal (the zero row and column decouple exactly), so no worse conditioned.
    const region = (m: number) => [p.solveJobs[m].offset, p.solveJobs[m].offset + p.r * 37 + 3] as const;
    for (const m of [2, 3])
      expect(bits(got.rhs.slice(...region(m)))).toEqual(bits(p.rhs.slice(...region(m))));
    for (const m of [0, 1, 4, 5])
      expectAllClose(got.rhs.slice(...region(m)), want.rhs.slice(...region(m)), X_TOL, `x m=${m}`);
  });

  // The fused kernel runs gram's and choleskySolve's float32 operations in the same order: same bits.
  it.each<[string, () => Problem]>([
    ['r=1 n=259 side A', () => problem(3, 1, 259, 'A', 1)],
    ['r=4 n=37 side B', () => problem(9, 4, 37, 'B', 2)],
    ['r=7 n=259 mixed', () => problem(3, 7, 259, 'mixed', 3)],
    ['r=16 n=37 mixed', () => problem(9, 16, 37, 'mixed', 4)],
    ['r=64 n=37 mixed', () => problem(3, 64, 37, 'mixed', 5)],
    ['breakdowns', breakdowns],
  ])('%s: P, x and status bitwise equal to gram then choleskySolve', async (_, make) => {
    const p = make();
    const [got, want] = [await fused(p), await twoKernels(p)];
    expect(bits(got.status)).toEqual(bits(want.status));
    expect(bits(got.P)).toEqual(bits(want.P));
    expect(bits(got.rhs)).toEqual(bits(want.rhs));
  });
});
