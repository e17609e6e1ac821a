// Per-run AdamW and SGD steps (ALGORITHM.md) over a flat [R, n] block: every parameter of every run in
// one dispatch, each run with its own `Hyper` row (hyper.ts). `side` 0 steps an A block, 1 a B block
// (B's learning rate carries the run's LoRA+ ratio).
import source from '../../shaders/optimizer.wgsl?raw';
import { defineKernel, grid1d } from '../gpu/kernel';
import { hyperAt, UPDATE_RULE, type HyperRow } from './hyper';

export const adamwUpdate = defineKernel({
  label: 'adamwUpdate',
  source,
  entryPoint: 'adamw',
  bindings: { g: 'read', hyper: 'read', p: 'write', m: 'write', v: 'write' },
  params: { R: 'u32', n: 'u32', side: 'u32' },
  constants: { WG: 256 },
  workgroups: ({ R, n }, { WG }) => grid1d(R * n, WG),
});

export const sgdUpdate = defineKernel({
  label: 'sgdUpdate',
  source,
  entryPoint: 'sgd',
  bindings: { g: 'read', hyper: 'read', p: 'write' },
  params: { R: 'u32', n: 'u32', side: 'u32' },
  constants: { WG: 256 },
  workgroups: ({ R, n }, { WG }) => grid1d(R * n, WG),
});

export interface AdamState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** Does this row step with `rule` on this side, and at which rate? */
function stepping(h: HyperRow, rule: number, side: 0 | 1): number | undefined {
  if (h.training === 0 || h.rule !== rule) return undefined;
  return side === 1 ? h.lrB : h.lrA;
}

/** Float64 reference of one adamwUpdate step (textbook form of ALGORITHM.md); used only by tests. */
export function adamwReference(
  state: { p: ArrayLike<number>; m: ArrayLike<number>; v: ArrayLike<number> },
  g: ArrayLike<number>,
  hyper: ArrayLike<number>,
  R: number,
  n: number,
  side: 0 | 1 = 0,
): AdamState {
  const p = Float64Array.from(state.p);
  const m = Float64Array.from(state.m);
  const v = Float64Array.from(state.v);
  for (let run = 0; run < R; run++) {
    const h = hyperAt(hyper, run);
    const lr = stepping(h, UPDATE_RULE.adamw, side);
    if (lr === undefined) continue;
    for (let e = run * n; e < (run + 1) * n; e++) {
      p[e] *= 1 - lr * h.weightDecay;
      m[e] = h.beta1 * m[e] + (1 - h.beta1) * g[e];
      v[e] = h.beta2 * v[e] + (1 - h.beta2) * g[e] * g[e];
      p[e] -= (lr * (m[e] / h.bc1)) / (Math.sqrt(v[e] / h.bc2) + h.eps);
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
  side: 0 | 1 = 0,
): Float64Array {
  const p = Float64Array.from(p0);
  for (let run = 0; run < R; run++) {
    const h = hyperAt(hyper, run);
    const lr = stepping(h, UPDATE_RULE.sgd, side);
    if (lr === undefined) continue;
    for (let e = run * n; e < (run + 1) * n; e++) p[e] = p[e] * (1 - lr * h.weightDecay) - lr * g[e];
  }
  return p;
}
