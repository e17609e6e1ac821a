// Per-run bookkeeping of a sweep on the GPU (no readback per step): divergence guard and fall-back counts.
import source from '../../shaders/sweep.wgsl?raw';
import lossGuardSource from '../../shaders/loss-guard.wgsl?raw';
import reducePhase from '../../shaders/reduce-phase.wgsl?raw';
import { defineKernel, foldedGrid, grid1d } from '../gpu/kernel';
import { HYPER_FIELDS, HYPER_WIDTH } from './hyper';

/** Columns of the per-run state [R, 4]. */
export const STATE = { alive: 0, firstLoss: 1, divergedAtStep: 2, choleskyFallbacks: 3, width: 4 } as const;
export const sweepGuard = defineKernel({
  label: 'sweepGuard',
  source,
  entryPoint: 'guard',
  bindings: {
    lossSums: 'read',
    lossFlags: 'read',
    state: 'write',
    hyper: 'write',
    history: 'write',
  },
  params: { R: 'u32', step: 'u32', historyRow: 'u32', invCount: 'f32', boundFactor: 'f32' },
  workgroups: ({ R }) => [Math.ceil(R / 64), 1, 1],
});

export const countFallbacks = defineKernel({
  label: 'countFallbacks',
  source,
  entryPoint: 'countFallbacks',
  bindings: {
    status0: 'read',
    jobRun0: 'read',
    status1: 'read',
    jobRun1: 'read',
    status2: 'read',
    jobRun2: 'read',
    counts: 'write',
  },
  params: { count0: 'u32', count1: 'u32', count2: 'u32', R: 'u32' },
  workgroups: ({ R }) => [Math.ceil(R / 64), 1, 1],
});

/**
 * After the guard: each alive run's A and B → lastA/lastB (one dispatch for both factors). A diverged run's
 * lastA/lastB then hold the weights of its last step whose loss passed the guard.
 */
export const keepLastGood = defineKernel({
  label: 'keepLastGood',
  source,
  entryPoint: 'keepLastGood',
  bindings: { state: 'read', A: 'read', B: 'read', lastA: 'write', lastB: 'write' },
  params: { R: 'u32', SA: 'u32', SB: 'u32' },
  workgroups: ({ R, SA, SB }) => grid1d(R * (SA + SB), 256),
});

/** Reference of keepLastGood (a copy: exact); mutates lastA/lastB. */
export function keepLastGoodReference(
  state: ArrayLike<number>,
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  lastA: Float64Array,
  lastB: Float64Array,
  p: { R: number; SA: number; SB: number },
): void {
  for (let run = 0; run < p.R; run++) {
    if (!(state[run * STATE.width + STATE.alive] > 0.5)) continue;
    for (let k = 0; k < p.SA; k++) lastA[run * p.SA + k] = A[run * p.SA + k];
    for (let k = 0; k < p.SB; k++) lastB[run * p.SB + k] = B[run * p.SB + k];
  }
}

/** Float64 reference of the guard for one step; mutates state/hyper/history copies and returns them. */
export function sweepGuardReference(
  lossSums: ArrayLike<number>,
  lossFlags: ArrayLike<number>,
  state: Float64Array,
  hyper: Float64Array,
  history: Float64Array,
  p: { R: number; step: number; historyRow: number; invCount: number; boundFactor: number },
): void {
  for (let run = 0; run < p.R; run++) {
    const loss = Math.fround(Math.fround(lossSums[run]) * Math.fround(p.invCount));
    history[p.historyRow * p.R + run] = loss;
    let alive = state[run * 4] > 0.5;
    if (alive) {
      if (state[run * 4 + 1] === 0 && Number.isFinite(loss)) state[run * 4 + 1] = loss;
      const first = state[run * 4 + 1];
      const bad =
        lossFlags[run] !== 0 ||
        !Number.isFinite(loss) ||
        (first > 0 && loss > Math.fround(p.boundFactor) * first);
      if (bad) {
        alive = false;
        state[run * 4] = 0;
        state[run * 4 + 2] = p.step;
      }
    }
    if (!alive) hyper[run * HYPER_WIDTH + HYPER_FIELDS.indexOf('training')] = 0;
  }
}

/**
 * runSums (the loss sums) and the guard in one dispatch, one workgroup per run (shaders/loss-guard.wgsl):
 * bit for bit the two.
 */
export const lossGuard = defineKernel({
  label: 'lossGuard',
  source: `${reducePhase}\n${lossGuardSource}`,
  bindings: {
    x: 'read',
    lossSums: 'write',
    lossFlags: 'write',
    state: 'write',
    hyper: 'write',
    history: 'write',
  },
  params: {
    R: 'u32',
    n: 'u32',
    step: 'u32',
    historyRow: 'u32',
    invCount: 'f32',
    boundFactor: 'f32',
  },
  constants: { WG: 256 },
  workgroups: ({ R }) => foldedGrid(R),
});
