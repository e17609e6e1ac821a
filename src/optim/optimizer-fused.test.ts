// The fused optimizer step (one dispatch: shaders/optimizer-fused.wgsl) against the split path (a Gram +
// Cholesky dispatch per side, an update dispatch per factor and rule), which the kernels' own tests check
// against float64 references (gram-cholesky-solve.test.ts, optimizer.test.ts, reference.test.ts): the same
// inputs must give the same float32 bits in every buffer the step writes.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '../gpu/context';
import { STATE } from '../kernels/sweep';
import type { LabGptConfig } from '../model/config';
import { loraLayout, type LoraTarget } from '../model/lora-layout';
import { testGpu } from '../test/gpu';
import { randn } from '../util/random';
import {
  DEFAULT_HYPER,
  OptimizerStep,
  resolveRunHyper,
  type OptimizerHyper,
  type OptimizerKind,
  type RunOverrides,
} from './optimizer';

interface Case {
  name: string;
  n_embd: number;
  n_layer: number;
  r: number;
  targets: LoraTarget[];
  kinds: OptimizerKind[];
  order: OptimizerHyper['preconditionerOrder'];
  /** Runs stopped this step (hyper training = 0): preconditioned, not stepped. */
  stopped?: number[];
  /**
   * Runs whose first adapter's A and B are zero and damping 0: BᵀB = 0, and AAᵀ = 0 where B's side is
   * preconditioned from A_t, so the retry on P + εI (status 1) on those sides.
   */
  singular?: number[];
  /** Runs singular so in every adapter: several jobs of the run add to its count at once. */
  allSingular?: number[];
  /** Runs frozen by the guard (state alive = 0): their fall-backs are not counted. */
  frozen?: number[];
  /** Each run's count before the step (state column 3; 0 where absent). */
  counted?: number[];
  /** Cholesky fall-backs counted per run after the step (state column 3). */
  fallbacks: number[];
}

const CASES: Case[] = [
  {
    name: 'every optimizer, the paper order, r 4, widths off the 256-thread stride',
    n_embd: 20,
    n_layer: 2,
    r: 4,
    targets: ['c_attn', 'mlp.c_proj'],
    kinds: ['adamw', 'riemannian-adamw', 'sgd', 'riemannian-sgd', 'loraplus-adamw'],
    order: 'paper',
    fallbacks: [0, 0, 0, 0, 0],
  },
  {
    name: 'old-iterate order, r 7, a stopped run and two singular Gram matrices',
    n_embd: 36,
    n_layer: 1,
    r: 7,
    targets: ['c_attn', 'attn.c_proj', 'mlp.c_fc'],
    kinds: ['riemannian-adamw', 'riemannian-sgd', 'adamw', 'riemannian-adamw'],
    order: 'old-iterate',
    stopped: [3],
    singular: [0, 1],
    fallbacks: [2, 2, 0, 0],
  },
  {
    name: 'counts added to earlier ones; a frozen run’s stay',
    n_embd: 20,
    n_layer: 2,
    r: 3,
    targets: ['c_attn', 'mlp.c_fc'],
    kinds: ['riemannian-sgd', 'riemannian-adamw', 'riemannian-sgd', 'adamw'],
    order: 'old-iterate',
    singular: [0, 2],
    allSingular: [1],
    frozen: [2],
    counted: [3, 5, 7, 1],
    fallbacks: [5, 13, 7, 1],
  },
  {
    name: 'Riemannian AdamW only, r 1 and the paper order, one singular run',
    n_embd: 24,
    n_layer: 3,
    r: 1,
    targets: ['c_attn'],
    kinds: ['riemannian-adamw', 'riemannian-adamw'],
    order: 'paper',
    singular: [1],
    fallbacks: [0, 1],
  },
  {
    name: 'r 12 over 72-wide factors (several elements per thread)',
    n_embd: 72,
    n_layer: 1,
    r: 12,
    targets: ['mlp.c_fc'],
    kinds: ['riemannian-adamw', 'sgd'],
    order: 'paper',
    fallbacks: [0, 0],
  },
];

function layoutOf(c: Case) {
  const cfg: LabGptConfig = {
    n_layer: c.n_layer,
    n_head: 1,
    n_embd: c.n_embd,
    n_positions: 16,
    vocab_size: 256,
    layer_norm_epsilon: 1e-5,
  };
  return loraLayout(cfg, { r: c.r, alpha: 2 * c.r, targets: c.targets });
}

/** One step of either path from the same inputs; every buffer it writes, read back. */
async function step(gpu: Gpu, c: Case, fused: boolean) {
  const layout = layoutOf(c);
  const R = c.kinds.length;
  const { SA, SB } = layout;
  const A = randn(R * SA, 1, 0.3);
  const B = randn(R * SB, 2, 0.3);
  const dA = randn(R * SA, 3, 0.1);
  const dB = randn(R * SB, 4, 0.1);
  const ad0 = layout.adapters[0];
  for (const run of c.singular ?? []) {
    A.fill(0, run * SA + ad0.offA, run * SA + ad0.offA + c.r * ad0.inDim);
    B.fill(0, run * SB + ad0.offB, run * SB + ad0.offB + ad0.outDim * c.r);
  }
  for (const run of c.allSingular ?? []) {
    A.fill(0, run * SA, (run + 1) * SA);
    B.fill(0, run * SB, (run + 1) * SB);
  }
  const runs = c.kinds.map((kind, run) => {
    const singular = c.singular?.includes(run) || c.allSingular?.includes(run);
    const o: RunOverrides = singular ? { damping: 0 } : {};
    return resolveRunHyper(kind, o, DEFAULT_HYPER);
  });
  const state = new Float32Array(R * STATE.width);
  for (let run = 0; run < R; run++) {
    state[run * STATE.width + STATE.alive] = c.frozen?.includes(run) ? 0 : 1;
    state[run * STATE.width + STATE.choleskyFallbacks] = c.counted?.[run] ?? 0;
  }
  const lora = {
    A: gpu.buffer(A, 'A'),
    B: gpu.buffer(B, 'B'),
    dA: gpu.buffer(dA, 'dA'),
    dB: gpu.buffer(dB, 'dB'),
  };
  const stateBuf = gpu.buffer(state, 'state');
  const optim = new OptimizerStep(gpu, layout, runs, c.order, lora, stateBuf, { fused });
  expect(optim.fused).toBe(fused);
  const moments = [
    [optim.buffers.mA, randn(R * SA, 5, 0.01)],
    [optim.buffers.vA, randn(R * SA, 6, 0.01).map(Math.abs)],
    [optim.buffers.mB, randn(R * SB, 7, 0.01)],
    [optim.buffers.vB, randn(R * SB, 8, 0.01).map(Math.abs)],
  ] as const;
  for (const [buf, data] of moments) gpu.write(buf, data);
  optim.writeHyper(
    c.kinds.map((kind, run) => ({ kind, lr: 0.01 * (run + 1), t: 3, active: !c.stopped?.includes(run) })),
  );
  await gpu.run('optimizer step', optim.dispatches());
  const out = {
    A: await gpu.readF32(lora.A),
    B: await gpu.readF32(lora.B),
    dA: await gpu.readF32(lora.dA),
    dB: await gpu.readF32(lora.dB),
    mA: await gpu.readF32(optim.buffers.mA),
    vA: await gpu.readF32(optim.buffers.vA),
    mB: await gpu.readF32(optim.buffers.mB),
    vB: await gpu.readF32(optim.buffers.vB),
    state: await gpu.readF32(stateBuf),
  };
  const dispatches = optim.dispatches().length;
  optim.destroy();
  for (const b of [lora.A, lora.B, lora.dA, lora.dB, stateBuf]) b.destroy();
  return { out, dispatches, A0: A, B0: B };
}

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

describe('the fused optimizer step', () => {
  it.each(CASES)('$name: bit for bit the split path', async (c) => {
    const gpu = await testGpu();
    const fused = await step(gpu, c, true);
    const split = await step(gpu, c, false);
    for (const key of Object.keys(fused.out) as (keyof typeof fused.out)[]) {
      const f = fused.out[key];
      const s = split.out[key];
      expect(f.length, key).toBe(s.length);
      const firstDiff = bits(f).findIndex((b, i) => b !== bits(s)[i]);
      expect(firstDiff, `${key}[${firstDiff}]: fused ${f[firstDiff]}, split ${s[firstDiff]}`).toBe(-1);
    }
    // The step moved the factors (a kernel that wrote nothing would also "agree" with itself, not with
    // the split path, but say it plainly) and counted the fall-backs it should.
    expect(bits(fused.out.A)).not.toEqual(bits(fused.A0));
    expect(bits(fused.out.B)).not.toEqual(bits(fused.B0));
    const counts = c.kinds.map((_, run) => fused.out.state[run * STATE.width + STATE.choleskyFallbacks]);
    expect(counts).toEqual(c.fallbacks);
    // One dispatch, the fall-back count included.
    expect(fused.dispatches).toBe(1);
    expect(split.dispatches).toBeGreaterThan(fused.dispatches);
  });

  it('a stopped run keeps its factors and moments; its gradient is still preconditioned', async () => {
    const gpu = await testGpu();
    const c = CASES[1];
    const { out, A0, B0 } = await step(gpu, c, true);
    const layout = layoutOf(c);
    const run = 3;
    const { SA, SB } = layout;
    expect(bits(out.A.subarray(run * SA, (run + 1) * SA))).toEqual(
      bits(A0.subarray(run * SA, (run + 1) * SA)),
    );
    expect(bits(out.B.subarray(run * SB, (run + 1) * SB))).toEqual(
      bits(B0.subarray(run * SB, (run + 1) * SB)),
    );
    expect(bits(out.dA.subarray(run * SA, (run + 1) * SA))).not.toEqual(
      bits(randn(4 * SA, 3, 0.1).subarray(run * SA, (run + 1) * SA)),
    );
  });
});
