import { describe, it } from 'vitest';
import { aAtJob, bTbJob, gram, gramReference, packJobs, type FactorJob } from './gram';
import { randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

describe('gram', () => {
  // [runs, rows (out or in), r]: r not a multiple of anything, r = 1, and r = 64.
  it.each([
    [1, 3, 1],
    [3, 33, 4],
    [2, 130, 7],
    [2, 70, 64],
    [1, 40, 22], // 253 entries: one thread each, no n-split
  ])('runs=%i n=%i r=%i: BᵀB and AAᵀ of every run in one dispatch', async (runs, n, r) => {
    const per = n * r;
    // Layout per run: one B [n, r] then one A [r, n].
    const factors = randn(runs * 2 * per, 11 + n + r, 0.5);
    const jobs: FactorJob[] = [];
    for (let run = 0; run < runs; run++) {
      jobs.push(bTbJob(run * 2 * per, n, r));
      jobs.push(aAtJob(run * 2 * per + per, n));
    }
    // Each run its own damping.
    const damping = Float32Array.from(jobs, (_, m) => [1e-3, 1e-6, 1e-1][Math.floor(m / 2) % 3]);
    const got = await runOnce(
      gram,
      { factors, jobs: packJobs(jobs), damping, out: jobs.length * r * r },
      { count: jobs.length, r },
    );
    expectAllClose(got.out, gramReference(factors, jobs, r, damping), { rtol: 2e-5, atol: 1e-5 }, 'gram');
  });

  it('B = 0 gives exactly δI', async () => {
    const r = 5;
    const jobs = [bTbJob(0, 9, r)];
    const got = await runOnce(
      gram,
      {
        factors: new Float32Array(9 * r),
        jobs: packJobs(jobs),
        damping: new Float32Array([1e-6]),
        out: r * r,
      },
      { count: 1, r },
    );
    const want = new Float64Array(r * r);
    for (let i = 0; i < r; i++) want[i * r + i] = Math.fround(1e-6);
    expectAllClose(got.out, want, { rtol: 0, atol: 0 }, 'δI');
  });
});
