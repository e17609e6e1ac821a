// Per-run AdamW and SGD steps (ALGORITHM.md) over a flat [R, n] block: every parameter of every run in
// one dispatch, each run with its own `Hyper` row (hyper.ts). `side` 0 steps an A block, 1 a B block
// (B's learning rate carries the run's LoRA+ ratio).
import updates from '../../shaders/optimizer.wgsl?raw';
import fusedUpdates from '../../shaders/optimizer-fused.wgsl?raw';
import optimizerMath from '../../shaders/optimizer-math.wgsl?raw';
import gramPhase from '../../shaders/gram-phase.wgsl?raw';
import choleskyPhase from '../../shaders/cholesky-phase.wgsl?raw';
import { defineKernel, foldedGrid, grid1d } from '../gpu/kernel';
import { CHOLESKY_MAX_R } from './cholesky';
import { hyperAt, UPDATE_RULE, type HyperRow } from './hyper';

// Both paths compute the element updates of optimizer-math.wgsl.
const source = `${optimizerMath}\n${updates}`;
const fusedSource = `${optimizerMath}\n${fusedUpdates}`;

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

/**
 * The whole optimizer step of a sweep in one dispatch, one workgroup per (run, adapter): the Riemannian
 * preconditioner of both sides (Gram + Cholesky + in-place solve) and the AdamW / SGD steps of A and B, in
 * the split path's order (shaders/optimizer-fused.wgsl). Jobs: `packFusedJobs`. P holds 2·count slots (side A's
 * at m, side B's at count + m). Each job adds its Cholesky fall-backs to its run's count in `state` [R, 4]
 * (column 3) when the run is alive, as `countFallbacks` does in the split path.
 */
export const optimizerFused = defineKernel({
  label: 'optimizerFused',
  source: `${gramPhase}\n${choleskyPhase}\n${fusedSource}`,
  bindings: {
    A: 'write',
    B: 'write',
    dA: 'write',
    dB: 'write',
    mA: 'write',
    vA: 'write',
    mB: 'write',
    vB: 'write',
    hyper: 'read',
    jobs: 'read',
    P: 'write',
    state: 'write',
  },
  params: { count: 'u32', r: 'u32' },
  workgroups: ({ count, r }) => {
    if (!(r >= 1 && r <= CHOLESKY_MAX_R)) throw new Error(`optimizerFused: r=${r} outside 1..64`);
    return foldedGrid(count);
  },
});

/** Does this device allow the fused optimizer's storage bindings? (Otherwise the split path runs.) */
export const optimizerFusedFits = (limits: GPUSupportedLimits): boolean =>
  limits.maxStorageBuffersPerShaderStage >= Object.keys(optimizerFused.bindings).length;

/** One (run, adapter) of `optimizerFused`: its blocks' offsets in A [R, SA] and B [R, SB] (elements). */
export interface FusedJob {
  run: number;
  /** Precondition this run's gradients (Riemannian AdamW / SGD). */
  riemannian: boolean;
  /** B's preconditioner from A_t rather than A_{t+1} (Riemannian SGD, or the 'old-iterate' order). */
  oldB: boolean;
  offA: number;
  inDim: number;
  offB: number;
  outDim: number;
  damping: number;
}

/** The jobs as `struct FusedJob` rows (8 words each). */
export function packFusedJobs(jobs: readonly FusedJob[]): Uint32Array {
  const u = new Uint32Array(jobs.length * 8);
  const f = new Float32Array(u.buffer);
  jobs.forEach((j, m) => {
    u.set([j.run, (j.riemannian ? 1 : 0) | (j.oldB ? 2 : 0), j.offA, j.inDim, j.offB, j.outDim], m * 8);
    f[m * 8 + 6] = j.damping;
  });
  return u;
}
