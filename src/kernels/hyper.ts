// The per-run hyper-parameter row of the optimizer kernels: the one definition of its layout. The shaders
// that read it (optimizer.wgsl, sweep.wgsl) declare the same `struct Hyper`, field for field (WGSL has no
// includes); hyper.test.ts checks their declarations against HYPER_FIELDS.

/** Field order of `struct Hyper` (all f32). */
export const HYPER_FIELDS = [
  'lrA', // A's learning rate at this step (after warm-up and decay)
  'lrB', // B's: lrA × the run's LoRA+ ratio (1 = plain)
  'beta1',
  'beta2',
  'eps',
  'weightDecay', // decoupled: p ← p·(1 − lr_p·wd), each tensor with its own rate
  'bc1', // 1 − β1^t
  'bc2', // 1 − β2^t
  'training', // 1 = train; 0 = frozen ('active' is reserved in WGSL) (stopped, diverged, or another update rule's run)
  'rule', // UPDATE_RULE: which update kernel steps this run
] as const;

export type HyperRow = Record<(typeof HYPER_FIELDS)[number], number>;

/** f32 values per run. */
export const HYPER_WIDTH = HYPER_FIELDS.length;

export const UPDATE_RULE = { adamw: 0, sgd: 1 } as const;

/** The `hyper [R]` buffer's content for a set of runs. */
export function packHyper(rows: readonly HyperRow[]): Float32Array {
  const out = new Float32Array(rows.length * HYPER_WIDTH);
  rows.forEach((h, i) => HYPER_FIELDS.forEach((f, k) => (out[i * HYPER_WIDTH + k] = h[f])));
  return out;
}

/** Row i of a packed buffer, by field name (the references read it this way). */
export function hyperAt(packed: ArrayLike<number>, i: number): HyperRow {
  const row = {} as HyperRow;
  HYPER_FIELDS.forEach((f, k) => (row[f] = packed[i * HYPER_WIDTH + k]));
  return row;
}

/** A run's row at its step t (1, 2, ...): bias corrections from its own betas. */
export function hyperRow(h: {
  lr: number;
  loraplusRatio: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  t: number;
  active: boolean;
  rule: keyof typeof UPDATE_RULE;
}): HyperRow {
  return {
    lrA: h.lr,
    lrB: h.lr * h.loraplusRatio,
    beta1: h.beta1,
    beta2: h.beta2,
    eps: h.eps,
    weightDecay: h.weightDecay,
    bc1: 1 - Math.pow(h.beta1, h.t),
    bc2: 1 - Math.pow(h.beta2, h.t),
    training: h.active ? 1 : 0,
    rule: UPDATE_RULE[h.rule],
  };
}
