import { describe, expect, it } from 'vitest';
import { expectAllClose } from '../test/close';
import { mulberry32, randn } from '../util/random';
import type { LabGptConfig } from '../model/config';
import { initLora, randomWeights } from '../model/init';
import { loraLayout, type LoraLayout } from '../model/lora-layout';
import { referenceLoss, type ReferenceBatch } from '../model/reference';
import {
  choleskyFactor,
  choleskySolveLeft,
  choleskySolveRight,
  createOptimState,
  defaultHyper,
  referenceStep,
  referenceTrain,
} from './reference';
import type { OptimizerKind } from './optimizer';

const cfgOf = (n_layer: number, n_embd: number): LabGptConfig => ({
  n_layer,
  n_head: 1,
  n_embd,
  n_positions: 16,
  vocab_size: 256,
  layer_norm_epsilon: 1e-5,
});

/** Row-major matrix product [m, k] · [k, n]. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) for (let l = 0; l < k; l++) c[i * n + j] += a[i * k + l] * b[l * n + j];
  return c;
}

function transpose(a: ArrayLike<number>, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
  return t;
}

/** Gauss-Jordan with partial pivoting: an inverse computed a different way from Cholesky. */
function inverse(P: ArrayLike<number>, r: number): Float64Array {
  const a = Float64Array.from(P);
  const inv = new Float64Array(r * r);
  for (let i = 0; i < r; i++) inv[i * r + i] = 1;
  for (let c = 0; c < r; c++) {
    let piv = c;
    for (let i = c + 1; i < r; i++) if (Math.abs(a[i * r + c]) > Math.abs(a[piv * r + c])) piv = i;
    for (let j = 0; j < r; j++) {
      [a[c * r + j], a[piv * r + j]] = [a[piv * r + j], a[c * r + j]];
      [inv[c * r + j], inv[piv * r + j]] = [inv[piv * r + j], inv[c * r + j]];
    }
    const d = a[c * r + c];
    for (let j = 0; j < r; j++) {
      a[c * r + j] /= d;
      inv[c * r + j] /= d;
    }
    for (let i = 0; i < r; i++) {
      if (i === c) continue;
      const f = a[i * r + c];
      for (let j = 0; j < r; j++) {
        a[i * r + j] -= f * a[c * r + j];
        inv[i * r + j] -= f * inv[c * r + j];
      }
    }
  }
  return inv;
}

const plusDamping = (P: Float64Array, r: number, d: number) =>
  P.map((x, i) => (i % (r + 1) === 0 ? x + d : x));

/** Random SPD r×r: MᵀM + 0.1 I. */
function randomSpd(r: number, seed: number): Float64Array {
  const M = randn(r * r, seed);
  return plusDamping(matmul(transpose(M, r, r), M, r, r, r), r, 0.1);
}

function normRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

describe('Cholesky solves', () => {
  it.each([1, 3, 7, 64])('left and right solves match an explicit inverse (r=%i)', (r) => {
    const P = randomSpd(r, r);
    const L = choleskyFactor(P, r)!;
    expectAllClose(matmul(L, transpose(L, r, r), r, r, r), P, { rtol: 1e-12, atol: 1e-12 }, 'L Lᵀ');
    const inv = inverse(P, r);
    const n = 5;
    const off = 3;
    const X = Float64Array.from(randn(off + r * n, 40 + r));
    const left = X.slice();
    choleskySolveLeft(L, r, left, off, n);
    expectAllClose(
      left.subarray(off),
      matmul(inv, X.subarray(off), r, r, n),
      { rtol: 1e-9, atol: 1e-9 },
      'P⁻¹X',
    );
    expectAllClose(left.subarray(0, off), X.subarray(0, off), { rtol: 0, atol: 0 }, 'outside the slice');
    const right = X.slice();
    choleskySolveRight(L, r, right, off, n);
    expectAllClose(
      right.subarray(off),
      matmul(X.subarray(off), inv, n, r, r),
      { rtol: 1e-9, atol: 1e-9 },
      'XP⁻¹',
    );
  });

  it('reports a breakdown instead of producing NaN', () => {
    expect(choleskyFactor([1, 2, 2, 1], 2)).toBeNull();
    expect(choleskyFactor([0, 0, 0, 0], 2)).toBeNull();
    expect(choleskyFactor([NaN, 0, 0, 1], 2)).toBeNull();
    expect(choleskyFactor([1e-12, 0, 0, 1e-12], 2)).not.toBeNull();
  });
});

describe('referenceStep', () => {
  const scalarLayout = loraLayout(cfgOf(1, 1), { r: 1, alpha: 1, targets: ['attn.c_proj'] });

  it('AdamW matches a hand-computed scalar example over two steps', () => {
    const h = { ...defaultHyper(0.1), weightDecay: 0.01 };
    const s = createOptimState([1], [0]);
    referenceStep('adamw', s, { dA: [0.5], dB: [0] }, h, scalarLayout);
    // p = 1·(1 − 0.001); m = 0.05, v = 0.00025; m̂ = 0.05/0.1 = 0.5, v̂ = 0.00025/0.001 = 0.25.
    const p1 = 0.999 - (0.1 * 0.5) / (0.5 + 1e-8);
    expect(s.A[0]).toBeCloseTo(p1, 15);
    expect(s.mA[0]).toBeCloseTo(0.05, 15);
    expect(s.vA[0]).toBeCloseTo(0.00025, 15);
    referenceStep('adamw', s, { dA: [-0.25], dB: [0] }, h, scalarLayout);
    // m = 0.045 − 0.025 = 0.02, v = 0.999·0.00025 + 0.001·0.0625 = 0.00031225; 1 − 0.9² = 0.19, 1 − 0.999² = 0.001999.
    const p2 = p1 * 0.999 - (0.1 * (0.02 / 0.19)) / (Math.sqrt(0.00031225 / 0.001999) + 1e-8);
    expect(s.A[0]).toBeCloseTo(p2, 14);
    expect(s.t).toBe(2);
    // A zero parameter with zero gradient stays exactly zero (no 0/0).
    expect(s.B[0]).toBe(0);
  });

  it('SGD matches a hand-computed scalar example', () => {
    const s = createOptimState([1], [2]);
    referenceStep('sgd', s, { dA: [0.5], dB: [-1] }, defaultHyper(0.1), scalarLayout);
    expect(s.A[0]).toBeCloseTo(0.999 - 0.05, 15);
    expect(s.B[0]).toBeCloseTo(2 * 0.999 + 0.1, 15);
  });

  it('LoRA+: B steps (and decays) at λ·lr, A at lr; loraplus-adamw is λ = 16', () => {
    const h = { ...defaultHyper(0.01), weightDecay: 0.1 };
    const grads = { dA: [0.5], dB: [-0.25] };
    const plus = createOptimState([1], [2]);
    referenceStep('adamw', plus, grads, { ...h, loraplusRatio: 4 }, scalarLayout);
    // The first AdamW step moves a scalar by lr·sign(g) (m̂/(√v̂ + ε) = ±1 up to ε), after the decay
    // p·(1 − lr·wd).
    expect(plus.A[0]).toBeCloseTo(1 * (1 - 0.01 * 0.1) - 0.01, 8);
    expect(plus.B[0]).toBeCloseTo(2 * (1 - 0.04 * 0.1) + 0.04, 7);
    const named = createOptimState([1], [2]);
    referenceStep('loraplus-adamw', named, grads, h, scalarLayout);
    expect(named.B[0]).toBeCloseTo(2 * (1 - 0.16 * 0.1) + 0.16, 7);
    expect(named.A[0]).toBe(plus.A[0]);
  });

  // Two adapters of different shapes, so a wrong offset or stride shows.
  const cfg2 = cfgOf(1, 4);
  const layout2 = loraLayout(cfg2, { r: 3, alpha: 6, targets: ['c_attn', 'mlp.c_proj'] });

  /** Per adapter, the preconditioned gradients written with explicit inverses. */
  function explicitPreconditioned(
    layout: LoraLayout,
    A: Float64Array,
    B: Float64Array,
    gA: Float64Array,
    gB: Float64Array,
    d: number,
  ) {
    const r = layout.r;
    const pA = new Float64Array(gA.length);
    const pB = new Float64Array(gB.length);
    for (const ad of layout.adapters) {
      const a = A.subarray(ad.offA, ad.offA + r * ad.inDim);
      const b = B.subarray(ad.offB, ad.offB + ad.outDim * r);
      const PA = plusDamping(matmul(transpose(b, ad.outDim, r), b, r, ad.outDim, r), r, d);
      const PB = plusDamping(matmul(a, transpose(a, r, ad.inDim), r, ad.inDim, r), r, d);
      pA.set(matmul(inverse(PA, r), gA.subarray(ad.offA, ad.offA + r * ad.inDim), r, r, ad.inDim), ad.offA);
      pB.set(matmul(gB.subarray(ad.offB, ad.offB + ad.outDim * r), inverse(PB, r), ad.outDim, r, r), ad.offB);
    }
    return { pA, pB };
  }

  function randomState(seed: number) {
    const A = Float64Array.from(randn(layout2.SA, seed, 0.5));
    const B = Float64Array.from(randn(layout2.SB, seed + 1, 0.5));
    const gA = Float64Array.from(randn(layout2.SA, seed + 2));
    const gB = Float64Array.from(randn(layout2.SB, seed + 3));
    return { A, B, gA, gB };
  }

  it('Riemannian SGD preconditions both factors from (A_t, B_t)', () => {
    const { A, B, gA, gB } = randomState(1);
    const h = { ...defaultHyper(0.05), damping: 1e-3 };
    const s = createOptimState(A, B);
    const res = referenceStep('riemannian-sgd', s, { dA: gA, dB: gB }, h, layout2);
    const want = explicitPreconditioned(layout2, A, B, gA, gB, h.damping);
    expectAllClose(res.gA, want.pA, { rtol: 1e-9, atol: 1e-12 }, "gA'");
    expectAllClose(res.gB, want.pB, { rtol: 1e-9, atol: 1e-12 }, "gB'");
    expectAllClose(
      s.A,
      A.map((a, i) => a * (1 - 0.05 * 0.01) - 0.05 * want.pA[i]),
      { rtol: 1e-12, atol: 1e-14 },
      'A',
    );
    expectAllClose(
      s.B,
      B.map((b, i) => b * (1 - 0.05 * 0.01) - 0.05 * want.pB[i]),
      { rtol: 1e-12, atol: 1e-14 },
      'B',
    );
    expect(res.fallbacks).toBe(0);
  });

  it("Riemannian AdamW preconditions B from the updated A (the paper's order), then runs AdamW", () => {
    const { A, B, gA, gB } = randomState(7);
    const h = { ...defaultHyper(0.05), damping: 1e-3 };
    const s = createOptimState(A, B);
    const res = referenceStep('riemannian-adamw', s, { dA: gA, dB: gB }, h, layout2);
    const fromNew = explicitPreconditioned(layout2, s.A, B, gA, gB, h.damping);
    const fromOld = explicitPreconditioned(layout2, A, B, gA, gB, h.damping);
    expectAllClose(res.gA, fromOld.pA, { rtol: 1e-9, atol: 1e-12 }, "gA' from B_t");
    expectAllClose(res.gB, fromNew.pB, { rtol: 1e-9, atol: 1e-12 }, "gB' from A_{t+1}");
    expect(normRelDiff(fromNew.pB, fromOld.pB)).toBeGreaterThan(1e-3);
    // The moments see the preconditioned gradients: the same as plain AdamW fed with gA', gB'.
    const plain = createOptimState(A, B);
    referenceStep('adamw', plain, { dA: res.gA, dB: res.gB }, h, layout2);
    for (const k of ['A', 'B', 'mA', 'vA', 'mB', 'vB'] as const)
      expectAllClose(s[k], plain[k], { rtol: 0, atol: 0 }, k);

    const old = createOptimState(A, B);
    const resOld = referenceStep('riemannian-adamw', old, { dA: gA, dB: gB }, h, layout2, {
      bFromOldA: true,
    });
    expectAllClose(resOld.gB, fromOld.pB, { rtol: 1e-9, atol: 1e-12 }, "gB' from A_t");
  });

  it.each(['riemannian-adamw', 'riemannian-sgd'] as OptimizerKind[])(
    '%s first step on the model with B = 0: gA = 0, gA′ = 0, no NaN',
    (kind) => {
      const cfg = { ...cfgOf(1, 8), n_head: 2 };
      const layout = loraLayout(cfg, {
        r: 2,
        alpha: 4,
        targets: ['c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
      });
      const init = initLora(layout, 3);
      const rand = mulberry32(5);
      const n = 8;
      const tokens = new Uint32Array(n).map(() => Math.floor(rand() * 256));
      const batch: ReferenceBatch = {
        tokens,
        targets: tokens.map((t) => (t + 1) % 256),
        mask: new Float32Array(n).fill(1),
        Bt: 2,
        T: 4,
      };
      const { dA, dB } = referenceLoss(cfg, randomWeights(cfg, 2), layout, init.A, init.B, batch);
      expect(dA.every((x) => x === 0)).toBe(true);
      const s = createOptimState(init.A, init.B);
      const h = defaultHyper(1e-3);
      const res = referenceStep(kind, s, { dA, dB }, h, layout);
      expect(res.gA.every((x) => x === 0)).toBe(true);
      expect(res.fallbacks).toBe(0);
      expect([...s.A, ...s.B, ...res.gB].every(Number.isFinite)).toBe(true);
      expectAllClose(
        s.A,
        Float64Array.from(init.A).map((a) => a * (1 - h.lr * h.weightDecay)),
        { rtol: 1e-15, atol: 0 },
        'A only decays',
      );
      expect(Math.max(...s.B.map(Math.abs))).toBeGreaterThan(0);
    },
  );
});

describe('reparameterisation invariance (ALGORITHM.md)', () => {
  // One adapter, in 3, out 12, r 2, s = 1; loss f(W) = ½‖BA − W*‖², so gA = BᵀG, gB = GAᵀ with G = BA − W*.
  const layout = loraLayout(cfgOf(1, 3), { r: 2, alpha: 2, targets: ['mlp.c_fc'] });
  const [out, inDim, r] = [12, 3, 2];
  const Wstar = randn(out * inDim, 99);
  const A0 = Float64Array.from(randn(r * inDim, 100));
  const B0 = Float64Array.from(randn(out * r, 101));
  const S = Float64Array.from([1.7, 0.6, -0.4, 0.8]);

  /** (B₁A₁ − B₀A₀) / lr after one step from (B, A): the first-order change of W when lr is small. */
  function changeOfW(kind: OptimizerKind, A: Float64Array, B: Float64Array): Float64Array {
    const W = matmul(B, A, out, r, inDim);
    const G = W.map((w, i) => w - Wstar[i]);
    const dA = matmul(transpose(B, out, r), G, r, out, inDim);
    const dB = matmul(G, transpose(A, r, inDim), out, inDim, r);
    const h = { ...defaultHyper(1e-7), weightDecay: 0, damping: 1e-12 };
    const s = createOptimState(A, B);
    referenceStep(kind, s, { dA, dB }, h, layout);
    const W1 = matmul(s.B, s.A, out, r, inDim);
    return W1.map((w, i) => (w - W[i]) / h.lr);
  }

  const reparam = () => ({ A: matmul(inverse(S, r), A0, r, r, inDim), B: matmul(B0, S, out, r, r) });

  it('Riemannian SGD: the change of BA is the same for (B, A) and (BS, S⁻¹A)', () => {
    const { A, B } = reparam();
    expectAllClose(
      matmul(B, A, out, r, inDim),
      matmul(B0, A0, out, r, inDim),
      { rtol: 1e-12, atol: 1e-12 },
      'same W',
    );
    expect(normRelDiff(changeOfW('riemannian-sgd', A, B), changeOfW('riemannian-sgd', A0, B0))).toBeLessThan(
      1e-5,
    );
  });

  it('plain SGD: the change of BA depends on the factorisation', () => {
    const { A, B } = reparam();
    expect(normRelDiff(changeOfW('sgd', A, B), changeOfW('sgd', A0, B0))).toBeGreaterThan(0.05);
  });
});

describe('referenceTrain', () => {
  const cfg = { ...cfgOf(1, 8), n_head: 2 };
  const weights = randomWeights(cfg, 8, 0.1);
  const layout = loraLayout(cfg, { r: 2, alpha: 4, targets: ['c_attn', 'mlp.c_fc'] });
  const init = initLora(layout, 4);
  const tokens = Uint32Array.from([10, 20, 30, 40, 50, 60, 70, 80]);
  const batch: ReferenceBatch = {
    tokens,
    targets: tokens.map((t) => t + 1),
    mask: new Float32Array(8).fill(1),
    Bt: 2,
    T: 4,
  };
  const batches = Array.from({ length: 5 }, () => batch);

  it.each([
    ['adamw', 1e-2],
    ['riemannian-adamw', 1e-2],
    ['sgd', 1],
    ['riemannian-sgd', 1e-1],
  ] as [OptimizerKind, number][])('%s lowers the loss of a repeated batch (lr %f)', (kind, lr) => {
    const losses = referenceTrain(cfg, weights, layout, kind, defaultHyper(lr), init.A, init.B, batches);
    expect(losses).toHaveLength(5);
    expect(losses[0]).toBe(
      referenceLoss(cfg, weights, layout, init.A, init.B, batch, { backward: false }).loss,
    );
    for (let k = 1; k < 5; k++) expect(losses[k]).toBeLessThan(losses[k - 1]);
  });

  it('uses the learning-rate schedule, indexed by the 1-based step', () => {
    const seen: number[] = [];
    const losses = referenceTrain(cfg, weights, layout, 'adamw', defaultHyper(1), init.A, init.B, batches, {
      lrAt: (t) => (seen.push(t), 0),
    });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(losses).size).toBe(1);
  });
});
