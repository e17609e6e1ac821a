import { describe, expect, it } from 'vitest';
import { expectAllClose } from '../test/close';
import { mulberry32, randn } from '../util/random';
import type { LabGptConfig, Weights } from './config';
import { initLora, randomWeights } from './init';
import { loraLayout, type LoraLayout, type LoraTarget } from './lora-layout';
import { referenceLoss, type ReferenceBatch } from './reference';

const ALL: LoraTarget[] = ['c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'];

function tinyConfig(n_layer: number, n_head: number): LabGptConfig {
  return { n_layer, n_head, n_embd: 8, n_positions: 16, vocab_size: 256, layer_norm_epsilon: 1e-5 };
}

/** GPT-2-style weights, but larger and with non-trivial LayerNorm parameters so every path matters. */
function testWeights(cfg: LabGptConfig, seed: number): Weights {
  const w = randomWeights(cfg, seed, 0.3);
  let k = 0;
  for (const [name, t] of w) {
    if (!/ln_(\d|f)\./.test(name)) continue;
    const noise = randn(t.length, seed * 7919 + k++, 0.2);
    for (let i = 0; i < t.length; i++) t[i] += noise[i];
  }
  return w;
}

function testBatch(Bt: number, T: number, seed: number, maskedEvery = 0): ReferenceBatch {
  const rand = mulberry32(seed);
  const n = Bt * T;
  const tokens = new Uint32Array(n).map(() => Math.floor(rand() * 256));
  const targets = new Uint32Array(n).map(() => Math.floor(rand() * 256));
  const mask = new Float32Array(n).map((_, i) => (maskedEvery > 0 && i % maskedEvery === 1 ? 0 : 1));
  return { tokens, targets, mask, Bt, T };
}

function randomLora(layout: LoraLayout, seed: number): { A: Float64Array; B: Float64Array } {
  return {
    A: Float64Array.from(randn(layout.SA, seed, 0.5)),
    B: Float64Array.from(randn(layout.SB, seed + 1, 0.5)),
  };
}

/** Central differences of the loss w.r.t. every element of `x` (A or B, perturbed in place and restored). */
function finiteDifferences(x: Float64Array, lossAt: () => number, h: number): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h;
    const up = lossAt();
    x[i] = x0 - h;
    const down = lossAt();
    x[i] = x0;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** ‖got − want‖∞ / ‖want‖∞: element-wise relative error is meaningless for near-zero entries. */
function normRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}

/**
 * An independent forward written the other way round: LoRA merged into the weight as PEFT's merge does
 * (W' = W + s · (B A)ᵀ in Conv1D layout), one position at a time, scores masked with −∞, one-pass moments.
 */
function naiveLogits(
  cfg: LabGptConfig,
  w: Weights,
  layout: LoraLayout,
  A: Float64Array,
  B: Float64Array,
  tokens: Uint32Array,
  T: number,
): number[][] {
  const C = cfg.n_embd;
  const H = cfg.n_head;
  const D = C / H;
  const g = (name: string) => w.get(name)!;
  const ln = (x: number[], gamma: Float32Array, beta: Float32Array) => {
    const m = x.reduce((a, b) => a + b, 0) / C;
    const v = x.reduce((a, b) => a + b * b, 0) / C - m * m;
    return x.map((xi, c) => ((xi - m) / Math.sqrt(v + cfg.layer_norm_epsilon)) * gamma[c] + beta[c]);
  };
  const conv = (x: number[], module: string, I: number, O: number) => {
    const W = Array.from(g(`${module}.weight`));
    const ad = layout.adapters.find((a) => a.module === module);
    if (ad) {
      for (let i = 0; i < I; i++)
        for (let o = 0; o < O; o++)
          for (let k = 0; k < layout.r; k++)
            W[i * O + o] += layout.scale * B[ad.offB + o * layout.r + k] * A[ad.offA + k * I + i];
    }
    const bias = g(`${module}.bias`);
    return Array.from({ length: O }, (_, o) => x.reduce((acc, xi, i) => acc + xi * W[i * O + o], bias[o]));
  };
  const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  const logits: number[][] = [];
  for (let b = 0; b < tokens.length / T; b++) {
    let hs = Array.from({ length: T }, (_, t) =>
      Array.from(
        { length: C },
        (_, c) =>
          g('transformer.wte.weight')[tokens[b * T + t] * C + c] + g('transformer.wpe.weight')[t * C + c],
      ),
    );
    for (let l = 0; l < cfg.n_layer; l++) {
      const p = `transformer.h.${l}`;
      const qkv = hs.map((x) =>
        conv(ln(x, g(`${p}.ln_1.weight`), g(`${p}.ln_1.bias`)), `${p}.attn.c_attn`, C, 3 * C),
      );
      const merged = hs.map((_, t) => {
        const out = new Array<number>(C).fill(0);
        for (let hd = 0; hd < H; hd++) {
          const scores = qkv.map((row, s) =>
            s > t
              ? -Infinity
              : row.slice(C + hd * D, C + hd * D + D).reduce((a, kv, d) => a + kv * qkv[t][hd * D + d], 0) /
                Math.sqrt(D),
          );
          const mx = Math.max(...scores);
          const e = scores.map((x) => Math.exp(x - mx));
          const z = e.reduce((a, x) => a + x, 0);
          for (let d = 0; d < D; d++)
            out[hd * D + d] = e.reduce((a, es, s) => a + (es / z) * qkv[s][2 * C + hd * D + d], 0);
        }
        return out;
      });
      hs = hs.map((x, t) => {
        const attn = conv(merged[t], `${p}.attn.c_proj`, C, C);
        const mid = x.map((xi, c) => xi + attn[c]);
        const f = conv(ln(mid, g(`${p}.ln_2.weight`), g(`${p}.ln_2.bias`)), `${p}.mlp.c_fc`, C, 4 * C).map(
          gelu,
        );
        const mlp = conv(f, `${p}.mlp.c_proj`, 4 * C, C);
        return mid.map((mi, c) => mi + mlp[c]);
      });
    }
    for (const x of hs) {
      const y = ln(x, g('transformer.ln_f.weight'), g('transformer.ln_f.bias'));
      logits.push(
        Array.from({ length: cfg.vocab_size }, (_, v) =>
          y.reduce((a, yc, c) => a + yc * g('transformer.wte.weight')[v * C + c], 0),
        ),
      );
    }
  }
  return logits;
}

describe('referenceLoss forward', () => {
  it.each([
    [0, 1, ALL, 2],
    [1, 2, ALL, 2],
    [2, 4, ['c_attn', 'mlp.c_proj'] as LoraTarget[], 3],
  ])(
    'matches a naive merged-weight forward (n_layer=%i, n_head=%i, targets=%j, r=%i)',
    (nLayer, nHead, targets, r) => {
      const cfg = tinyConfig(nLayer, nHead);
      const w = testWeights(cfg, 11);
      const layout = loraLayout(cfg, { r, alpha: 4, targets });
      const { A, B } = randomLora(layout, 5);
      const batch = testBatch(2, 5, 3);
      const got = referenceLoss(cfg, w, layout, A, B, batch, { backward: false, logits: true });
      const want = naiveLogits(cfg, w, layout, A, B, batch.tokens, batch.T).flat();
      expectAllClose(got.logits!, want, { rtol: 1e-10, atol: 1e-10 }, 'logits');
      expect(got.dA.length).toBe(0);
    },
  );

  it('loss is the masked mean of −log softmax(logits)[target]', () => {
    const cfg = tinyConfig(1, 2);
    const w = testWeights(cfg, 2);
    const layout = loraLayout(cfg, { r: 2, alpha: 2, targets: ALL });
    const { A, B } = randomLora(layout, 9);
    const batch = testBatch(2, 6, 4, 3);
    const res = referenceLoss(cfg, w, layout, A, B, batch, { logits: true });
    const V = cfg.vocab_size;
    let sum = 0;
    let count = 0;
    for (let n = 0; n < batch.Bt * batch.T; n++) {
      const row = Array.from(res.logits!.subarray(n * V, (n + 1) * V));
      const lse = Math.log(row.reduce((a, x) => a + Math.exp(x), 0));
      expect(res.rowLoss[n]).toBeCloseTo(lse - row[batch.targets[n]], 10);
      sum += batch.mask[n] * (lse - row[batch.targets[n]]);
      count += batch.mask[n];
    }
    expect(count).toBeLessThan(batch.Bt * batch.T);
    expect(res.loss).toBeCloseTo(sum / count, 12);

    // A masked position's target changes nothing, an unmasked one changes the loss.
    const moved = { ...batch, targets: batch.targets.slice() };
    moved.targets[1] = (moved.targets[1] + 1) % V;
    const same = referenceLoss(cfg, w, layout, A, B, moved);
    expect(same.loss).toBe(res.loss);
    expectAllClose(same.dA, res.dA, { rtol: 0, atol: 0 }, 'dA with a masked target moved');
    moved.targets[0] = (moved.targets[0] + 1) % V;
    expect(referenceLoss(cfg, w, layout, A, B, moved, { backward: false }).loss).not.toBe(res.loss);
  });

  it('rejects mismatched shapes and out-of-range tokens', () => {
    const cfg = tinyConfig(1, 2);
    const w = testWeights(cfg, 2);
    const layout = loraLayout(cfg, { r: 2, alpha: 2, targets: ALL });
    const { A, B } = randomLora(layout, 9);
    expect(() => referenceLoss(cfg, w, layout, A.subarray(1), B, testBatch(1, 4, 1))).toThrow(/SA=/);
    expect(() => referenceLoss(cfg, w, layout, A, B, testBatch(1, 17, 1))).toThrow(/T=17/);
    const bad = testBatch(1, 4, 1);
    bad.tokens[2] = 256;
    expect(() => referenceLoss(cfg, w, layout, A, B, bad)).toThrow(/vocabulary/);
  });
});

describe('referenceLoss backward', () => {
  it.each([
    [2, 2, ALL, 2, 4],
    [1, 4, ['attn.c_proj', 'mlp.c_fc'] as LoraTarget[], 3, 1],
    [2, 1, ['c_attn'] as LoraTarget[], 1, 8],
  ])(
    'dA, dB match central differences (n_layer=%i, n_head=%i, targets=%j, r=%i, alpha=%i)',
    (nLayer, nHead, targets, r, alpha) => {
      const cfg = tinyConfig(nLayer, nHead);
      const w = testWeights(cfg, 21);
      const layout = loraLayout(cfg, { r, alpha, targets });
      const { A, B } = randomLora(layout, 17);
      const batch = testBatch(2, 5, 8, 4);
      const res = referenceLoss(cfg, w, layout, A, B, batch);
      const lossAt = () => referenceLoss(cfg, w, layout, A, B, batch, { backward: false }).loss;
      const fdA = finiteDifferences(A, lossAt, 1e-5);
      const fdB = finiteDifferences(B, lossAt, 1e-5);
      // Truncation (h² · f‴) and rounding (ε · loss / h) are both ~1e-10 against gradients of ~1e-2..1.
      expect(normRelError(res.dA, fdA)).toBeLessThan(1e-6);
      expect(normRelError(res.dB, fdB)).toBeLessThan(1e-6);
      expectAllClose(res.dA, fdA, { rtol: 1e-5, atol: 1e-8 }, 'dA');
      expectAllClose(res.dB, fdB, { rtol: 1e-5, atol: 1e-8 }, 'dB');
      expect(Math.max(...res.dA.map(Math.abs))).toBeGreaterThan(1e-3);
    },
  );

  it('with B = 0 the loss is the base model loss, dA = 0 and dB ≠ 0 matches differences', () => {
    const cfg = tinyConfig(2, 2);
    const w = testWeights(cfg, 4);
    const layout = loraLayout(cfg, { r: 2, alpha: 4, targets: ALL });
    const init = initLora(layout, 1);
    const A = Float64Array.from(init.A);
    const B = new Float64Array(layout.SB);
    const batch = testBatch(3, 4, 12);
    const base = referenceLoss(
      cfg,
      w,
      loraLayout(cfg, { r: 2, alpha: 4, targets: [] }),
      new Float64Array(0),
      new Float64Array(0),
      batch,
    );
    const res = referenceLoss(cfg, w, layout, A, B, batch);
    expect(res.loss).toBe(base.loss);
    expect(res.dA.every((x) => x === 0)).toBe(true);
    const fdB = finiteDifferences(
      B,
      () => referenceLoss(cfg, w, layout, A, B, batch, { backward: false }).loss,
      1e-5,
    );
    expect(normRelError(res.dB, fdB)).toBeLessThan(1e-6);
    expect(Math.max(...res.dB.map(Math.abs))).toBeGreaterThan(1e-3);
  });
});
