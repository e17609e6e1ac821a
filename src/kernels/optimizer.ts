// Per-run AdamW and SGD steps (ALGORITHM.md) over a flat [R, n] block: every parameter of every run in
// one dispatch, each run with its own row of `hyper` (lr, β1, β2, ε, weightDecay, bc1, bc2, active).
import source from '../../shaders/optimizer.wgsl?raw';
import { defineKernel } from '../gpu/kernel';

/** Floats per run in `hyper`. */
export const HYPER_STRIDE = 8;

export interface Hyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Step t = 1, 2, ... (for the bias corrections 1 − β^t). */
  step: number;
  active: boolean;
}

/** The `hyper [R, 8]` rows of a set of runs at their current step. */
export function packHyper(runs: readonly Hyper[]): Float32Array {
  const out = new Float32Array(runs.length * HYPER_STRIDE);
  runs.forEach((h, i) =>
    out.set(
      [
        h.lr,
        h.beta1,
        h.beta2,
        h.eps,
        h.weightDecay,
        1 - h.beta1 ** h.step,
        1 - h.beta2 ** h.step,
        h.active ? 1 : 0,
      ],
      i * HYPER_STRIDE,
    ),
  );
  return out;
}

/** Workgroups for `total` threads of `wg`, folded into y past 65535. */
function grid(total: number, wg: number): [number, number, number] {
  const groups = Math.ceil(total / wg);
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x) || 1, 1];
}

export const adamwUpdate = defineKernel({
  label: 'adamwUpdate',
  source,
  entryPoint: 'adamw',
  bindings: { g: 'read', hyper: 'read', p: 'write', m: 'write', v: 'write' },
  params: { R: 'u32', n: 'u32' },
  constants: { WG: 256 },
  workgroups: ({ R, n }, { WG }) => grid(R * n, WG),
});

export const sgdUpdate = defineKernel({
  label: 'sgdUpdate',
  source,
  entryPoint: 'sgd',
  bindings: { g: 'read', hyper: 'read', p: 'write' },
  params: { R: 'u32', n: 'u32' },
  constants: { WG: 256 },
  workgroups: ({ R, n }, { WG }) => grid(R * n, WG),
});

export interface AdamState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** Float64 reference of one adamwUpdate step (textbook form of ALGORITHM.md); used only by tests. */
export function adamwReference(
  state: { p: ArrayLike<number>; m: ArrayLike<number>; v: ArrayLike<number> },
  g: ArrayLike<number>,
  hyper: ArrayLike<number>,
  R: number,
  n: number,
): AdamState {
  const p = Float64Array.from(state.p);
  const m = Float64Array.from(state.m);
  const v = Float64Array.from(state.v);
  for (let run = 0; run < R; run++) {
    const [lr, beta1, beta2, eps, wd, bc1, bc2, active] = Array.from(
      { length: HYPER_STRIDE },
      (_, k) => hyper[run * HYPER_STRIDE + k],
    );
    if (active === 0) continue;
    for (let e = run * n; e < (run + 1) * n; e++) {
      p[e] *= 1 - lr * wd;
      m[e] = beta1 * m[e] + (1 - beta1) * g[e];
      v[e] = beta2 * v[e] + (1 - beta2) * g[e] * g[e];
      p[e] -= (lr * (m[e] / bc1)) / (Math.sqrt(v[e] / bc2) + eps);
    }
  }
  return { p, m, v };
}

/** Float64 reference of one sgdUpdate step; used only by tests. */
export function sgdReference(
  p0: ArrayLike<number>,
  g: ArrayLike<number>,
  hyper: ArrayLike<number>,
  R: number,
  n: number,
): Float64Array {
  const p = Float64Array.from(p0);
  for (let run = 0; run < R; run++) {
    const lr = hyper[run * HYPER_STRIDE];
    const wd = hyper[run * HYPER_STRIDE + 4];
    if (hyper[run * HYPER_STRIDE + 7] === 0) continue;
    for (let e = run * n; e < (run + 1) * n; e++) p[e] = p[e] * (1 - lr * wd) - lr * g[e];
  }
  return p;
}
