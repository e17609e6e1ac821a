import { describe, expect, it } from 'vitest';
import {
  countFallbacks,
  keepLastGood,
  keepLastGoodReference,
  sweepGuard,
  sweepGuardReference,
} from './sweep';
import { hyperAt, hyperRow, packHyper } from './hyper';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

function hyper(R: number): Float32Array {
  const row = { lr: 1e-3, loraplusRatio: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, t: 1 };
  return packHyper(
    Array.from({ length: R }, (_, r) => hyperRow({ ...row, active: true, rule: r % 2 ? 'sgd' : 'adamw' })),
  );
}

describe('sweepGuard', () => {
  it.each([1, 5, 70])(
    'R=%i: finite runs go on; NaN, Inf and exploded runs are frozen at this step',
    async (R) => {
      const lossSums = new Float32Array(R).map((_, i) => 10 + i);
      const flags = new Uint32Array(R);
      const state = new Float32Array(R * 4);
      for (let r = 0; r < R; r++) state.set([1, r % 4 === 3 ? 0 : 5 + r, 0, 0], r * 4);
      if (R > 1) lossSums[1] = NaN;
      if (R > 2) lossSums[2] = Infinity;
      if (R > 3) flags[3] = 1; // non-finite seen in the reduction, sums may look fine
      if (R > 4) lossSums[4] = 100 * (5 + 4); // 100× first loss > 3× bound
      const history = new Float32Array(3 * R);
      const p = { R, step: 7, historyRow: 2, invCount: 0.5, boundFactor: 3 };
      const got = await runOnce(
        sweepGuard,
        { lossSums, lossFlags: flags, state, hyper: hyper(R), history },
        p,
      );
      const s = Float64Array.from(state);
      const hy = Float64Array.from(hyper(R));
      const h = Float64Array.from(history);
      sweepGuardReference(lossSums, flags, s, hy, h, p);
      expectAllClose(got.state, s, { rtol: 0, atol: 0 }, 'state');
      expectAllClose(got.hyper, hy, { rtol: 0, atol: 0 }, 'hyper');
      expectAllClose(got.history, h, { rtol: 0, atol: 0 }, 'history');
      if (R > 4) {
        expect([1, 2, 3, 4].map((r) => got.state[r * 4])).toEqual([0, 0, 0, 0]);
        expect(got.state[1 * 4 + 2]).toBe(7);
        expect(got.state[0]).toBe(1);
        expect(hyperAt(got.hyper, 0).training).toBe(1);
        expect(hyperAt(got.hyper, 1).training).toBe(0);
      }
    },
  );

  it('countFallbacks adds each alive run’s non-zero statuses over three solves; a frozen run’s stay', async () => {
    const R = 4;
    const counts = new Float32Array(R * 4).fill(0);
    for (const run of [0, 1, 2]) counts[run * 4] = 1; // alive; run 3 diverged (frozen)
    counts[3] = 4; // accumulates
    counts[15] = 2; // the frozen run's count before it froze
    const got = await runOnce(
      countFallbacks,
      {
        status0: new Uint32Array([0, 1, 2, 0, 1, 0, 0, 1, 1]),
        jobRun0: new Uint32Array([0, 0, 1, 1, 1, 2, 2, 3, 3]),
        status1: new Uint32Array([1, 1, 1]),
        jobRun1: new Uint32Array([2, 0, 3]),
        status2: new Uint32Array([1]), // beyond count2 = 0: not counted
        jobRun2: new Uint32Array([0]),
        counts,
      },
      { count0: 9, count1: 3, count2: 0, R },
    );
    expect([got.counts[3], got.counts[7], got.counts[11], got.counts[15]]).toEqual([6, 2, 1, 2]);
  });
});

describe('keepLastGood', () => {
  it.each([
    [1, 3, 5],
    [3, 257, 70],
    [5, 1000, 33],
    [7, 130, 129],
  ])(
    'R=%i SA=%i SB=%i: alive runs copy A and B, frozen runs keep their last good ones',
    async (R, SA, SB) => {
      const state = new Float32Array(R * 4);
      for (let r = 0; r < R; r++) state[r * 4] = r % 3 === 1 ? 0 : 1; // runs 1, 4, ... are diverged
      const fill = (n: number, f: (k: number) => number) => Float32Array.from({ length: n }, (_, k) => f(k));
      const A = fill(R * SA, (k) => Math.sin(k * 0.37) + 0.001 * k);
      const B = fill(R * SB, (k) => Math.cos(k * 0.11) - 0.002 * k);
      for (let r = 1; r < R; r += 3) {
        A[r * SA] = NaN; // a diverged run's overflowed weights never reach lastA/lastB
        B[r * SB + SB - 1] = Infinity;
      }
      const lastA = fill(R * SA, (k) => -1 - k);
      const lastB = fill(R * SB, (k) => 2 + k);
      const p = { R, SA, SB };
      const got = await runOnce(keepLastGood, { state, A, B, lastA, lastB }, p);
      const wantA = Float64Array.from(lastA);
      const wantB = Float64Array.from(lastB);
      keepLastGoodReference(state, A, B, wantA, wantB, p);
      expectAllClose(got.lastA, wantA, { rtol: 0, atol: 0 }, 'lastA');
      expectAllClose(got.lastB, wantB, { rtol: 0, atol: 0 }, 'lastB');
      expect(got.lastA.every(Number.isFinite) && got.lastB.every(Number.isFinite)).toBe(true);
      expect(got.lastA[0]).toBe(A[0]);
      if (R > 1) expect(got.lastB[SB]).toBe(lastB[SB]);
    },
  );
});
