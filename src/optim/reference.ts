// Float64 reference optimizers of ALGORITHM.md (AdamW, Riemannian AdamW, SGD, Riemannian SGD) over one run's
// concatenated LoRA buffers, and a reference training loop. Ground truth for the GPU optimizers; test-only.
import type { LabGptConfig, Weights } from '../model/config';
import type { LoraLayout } from '../model/lora-layout';
import { referenceLoss, type ReferenceBatch } from '../model/reference';

import { LORAPLUS_DEFAULT_RATIO, type OptimizerKind } from './optimizer';

export interface OptimHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** δ of the r×r preconditioners BᵀB + δI, AAᵀ + δI. */
  damping: number;
  /** LoRA+ (ALGORITHM.md): B's learning rate = ratio × lr, its decay too; default 1 (16 for loraplus-adamw). */
  loraplusRatio?: number;
}

/** ALGORITHM.md's defaults. */
export function defaultHyper(lr: number): OptimHyper {
  return { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, damping: 1e-6 };
}

/** One run's optimizer state: A [SA], B [SB] and their Adam moments in the same layout; t = steps taken. */
export interface OptimState {
  A: Float64Array;
  B: Float64Array;
  mA: Float64Array;
  vA: Float64Array;
  mB: Float64Array;
  vB: Float64Array;
  t: number;
}

export function createOptimState(A: ArrayLike<number>, B: ArrayLike<number>): OptimState {
  return {
    A: Float64Array.from(A),
    B: Float64Array.from(B),
    mA: new Float64Array(A.length),
    vA: new Float64Array(A.length),
    mB: new Float64Array(B.length),
    vB: new Float64Array(B.length),
    t: 0,
  };
}

// ---- r×r solves ------------------------------------------------------------------------------------

/** P = BᵀB + δI for B [out, r] at `off` (row-major r×r). */
export function gramBtB(
  B: ArrayLike<number>,
  off: number,
  out: number,
  r: number,
  damping: number,
): Float64Array {
  const P = new Float64Array(r * r);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) {
      let acc = i === j ? damping : 0;
      for (let o = 0; o < out; o++) acc += B[off + o * r + i] * B[off + o * r + j];
      P[i * r + j] = acc;
    }
  }
  return P;
}

/** P = AAᵀ + δI for A [r, in] at `off`. */
export function gramAAt(
  A: ArrayLike<number>,
  off: number,
  inDim: number,
  r: number,
  damping: number,
): Float64Array {
  const P = new Float64Array(r * r);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) {
      let acc = i === j ? damping : 0;
      for (let k = 0; k < inDim; k++) acc += A[off + i * inDim + k] * A[off + j * inDim + k];
      P[i * r + j] = acc;
    }
  }
  return P;
}

/** Lower-triangular L with P = L Lᵀ (row-major), or null when a pivot is not positive and finite. */
export function choleskyFactor(P: ArrayLike<number>, r: number): Float64Array | null {
  const L = new Float64Array(r * r);
  for (let j = 0; j < r; j++) {
    let d = P[j * r + j];
    for (let k = 0; k < j; k++) d -= L[j * r + k] ** 2;
    if (!(d > 0) || !Number.isFinite(d)) return null;
    const ljj = Math.sqrt(d);
    L[j * r + j] = ljj;
    for (let i = j + 1; i < r; i++) {
      let s = P[i * r + j];
      for (let k = 0; k < j; k++) s -= L[i * r + k] * L[j * r + k];
      L[i * r + j] = s / ljj;
    }
  }
  return L;
}

/** Solves L Lᵀ y = x in place for the vector x[off + i·stride], i < r (forward, then back substitution). */
function solveVector(L: Float64Array, r: number, x: Float64Array, off: number, stride: number): void {
  for (let i = 0; i < r; i++) {
    let s = x[off + i * stride];
    for (let k = 0; k < i; k++) s -= L[i * r + k] * x[off + k * stride];
    x[off + i * stride] = s / L[i * r + i];
  }
  for (let i = r - 1; i >= 0; i--) {
    let s = x[off + i * stride];
    for (let k = i + 1; k < r; k++) s -= L[k * r + i] * x[off + k * stride];
    x[off + i * stride] = s / L[i * r + i];
  }
}

/** X ← P⁻¹ X for X [r, n] at `off` (P = L Lᵀ): each column is one system. */
export function choleskySolveLeft(L: Float64Array, r: number, X: Float64Array, off: number, n: number): void {
  for (let col = 0; col < n; col++) solveVector(L, r, X, off + col, n);
}

/** X ← X P⁻¹ for X [n, r] at `off` (P symmetric, so each row x solves P y = x). */
export function choleskySolveRight(
  L: Float64Array,
  r: number,
  X: Float64Array,
  off: number,
  n: number,
): void {
  for (let row = 0; row < n; row++) solveVector(L, r, X, off + row * r, 1);
}

/**
 * gA' = (BᵀB + δI)⁻¹ gA for every adapter (ALGORITHM.md). Where Cholesky breaks down the adapter's gradient
 * is left unpreconditioned (the identity, as the paper's code does) and counted in `fallbacks`.
 */
export function preconditionA(
  layout: LoraLayout,
  B: ArrayLike<number>,
  gA: ArrayLike<number>,
  damping: number,
): { g: Float64Array; fallbacks: number } {
  const g = Float64Array.from(gA);
  let fallbacks = 0;
  for (const ad of layout.adapters) {
    const L = choleskyFactor(gramBtB(B, ad.offB, ad.outDim, layout.r, damping), layout.r);
    if (L) choleskySolveLeft(L, layout.r, g, ad.offA, ad.inDim);
    else fallbacks++;
  }
  return { g, fallbacks };
}

/** gB' = gB (AAᵀ + δI)⁻¹ for every adapter, with the same fallback as preconditionA. */
export function preconditionB(
  layout: LoraLayout,
  A: ArrayLike<number>,
  gB: ArrayLike<number>,
  damping: number,
): { g: Float64Array; fallbacks: number } {
  const g = Float64Array.from(gB);
  let fallbacks = 0;
  for (const ad of layout.adapters) {
    const L = choleskyFactor(gramAAt(A, ad.offA, ad.inDim, layout.r, damping), layout.r);
    if (L) choleskySolveRight(L, layout.r, g, ad.offB, ad.outDim);
    else fallbacks++;
  }
  return { g, fallbacks };
}

// ---- updates ---------------------------------------------------------------------------------------

/** torch.optim.AdamW for one tensor at step t (≥ 1): decoupled decay first, then the bias-corrected step. */
export function adamwUpdate(
  p: Float64Array,
  g: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  t: number,
  h: OptimHyper,
): void {
  const bc1 = 1 - h.beta1 ** t;
  const bc2 = 1 - h.beta2 ** t;
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - h.lr * h.weightDecay;
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g[i];
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g[i] * g[i];
    p[i] -= (h.lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + h.eps);
  }
}

/** p ← p·(1 − lr·wd) − lr·g. */
export function sgdUpdate(p: Float64Array, g: ArrayLike<number>, h: OptimHyper): void {
  for (let i = 0; i < p.length; i++) p[i] = p[i] * (1 - h.lr * h.weightDecay) - h.lr * g[i];
}

export interface StepOptions {
  /**
   * Riemannian AdamW only: build B's preconditioner from A_t instead of A_{t+1}. The default (false) is
   * the order of the paper's code (ALGORITHM.md, step 2).
   */
  bFromOldA?: boolean;
}

export interface StepResult {
  /** The gradient that entered A's update (preconditioned for the Riemannian kinds). */
  gA: Float64Array;
  gB: Float64Array;
  /** Preconditioners that fell back to the identity in this step. */
  fallbacks: number;
}

/**
 * One optimizer step of one run, in place on `state`, with gradients dA, dB taken at (A_t, B_t).
 * Riemannian AdamW does not recompute dB after A moves: only B's preconditioner sees A_{t+1}.
 */
export function referenceStep(
  kind: OptimizerKind,
  state: OptimState,
  grads: { dA: ArrayLike<number>; dB: ArrayLike<number> },
  hyper: OptimHyper,
  layout: LoraLayout,
  options: StepOptions = {},
): StepResult {
  if (grads.dA.length !== state.A.length || grads.dB.length !== state.B.length)
    throw new Error('referenceStep: gradient and parameter lengths differ');
  state.t += 1;
  const ratio = hyper.loraplusRatio ?? (kind === 'loraplus-adamw' ? LORAPLUS_DEFAULT_RATIO : 1);
  const hyperB = { ...hyper, lr: hyper.lr * ratio };
  switch (kind) {
    case 'adamw':
    case 'loraplus-adamw': {
      adamwUpdate(state.A, grads.dA, state.mA, state.vA, state.t, hyper);
      adamwUpdate(state.B, grads.dB, state.mB, state.vB, state.t, hyperB);
      return { gA: Float64Array.from(grads.dA), gB: Float64Array.from(grads.dB), fallbacks: 0 };
    }
    case 'riemannian-adamw': {
      const oldA = options.bFromOldA ? Float64Array.from(state.A) : undefined;
      const pa = preconditionA(layout, state.B, grads.dA, hyper.damping);
      adamwUpdate(state.A, pa.g, state.mA, state.vA, state.t, hyper);
      const pb = preconditionB(layout, oldA ?? state.A, grads.dB, hyper.damping);
      adamwUpdate(state.B, pb.g, state.mB, state.vB, state.t, hyperB);
      return { gA: pa.g, gB: pb.g, fallbacks: pa.fallbacks + pb.fallbacks };
    }
    case 'sgd': {
      sgdUpdate(state.A, grads.dA, hyper);
      sgdUpdate(state.B, grads.dB, hyperB);
      return { gA: Float64Array.from(grads.dA), gB: Float64Array.from(grads.dB), fallbacks: 0 };
    }
    case 'riemannian-sgd': {
      const pa = preconditionA(layout, state.B, grads.dA, hyper.damping);
      const pb = preconditionB(layout, state.A, grads.dB, hyper.damping);
      sgdUpdate(state.A, pa.g, hyper);
      sgdUpdate(state.B, pb.g, hyperB);
      return { gA: pa.g, gB: pb.g, fallbacks: pa.fallbacks + pb.fallbacks };
    }
  }
}

export interface TrainOptions extends StepOptions {
  /** Learning rate of optimizer step t (1-based, as the bias correction's t); default hyper.lr throughout. */
  lrAt?: (t: number) => number;
}

/**
 * Trains one run for batches.length steps and returns the loss of every step, each computed before that
 * step's update (as a training loop logs it).
 */
export function referenceTrain(
  cfg: LabGptConfig,
  weights: Weights,
  layout: LoraLayout,
  kind: OptimizerKind,
  hyper: OptimHyper,
  initA: ArrayLike<number>,
  initB: ArrayLike<number>,
  batches: readonly ReferenceBatch[],
  options: TrainOptions = {},
): number[] {
  const state = createOptimState(initA, initB);
  const losses: number[] = [];
  for (const batch of batches) {
    const { loss, dA, dB } = referenceLoss(cfg, weights, layout, state.A, state.B, batch);
    losses.push(loss);
    const h = options.lrAt ? { ...hyper, lr: options.lrAt(state.t + 1) } : hyper;
    referenceStep(kind, state, { dA, dB }, h, layout, options);
  }
  return losses;
}
