import { describe, expect, it } from 'vitest';
import {
  attentionBackwardReference,
  attentionBackwardSteps,
  attentionForwardReference,
  attentionForwardSteps,
  attentionRowStatSize,
  attentionWorkgroupBytes,
  pickAttentionTiles,
  prepareAttentionBackward,
  prepareAttentionForward,
  type AttentionShape,
  type AttentionTiles,
} from './attention';
import { randn } from '../util/random';
import { testGpu } from '../test/gpu';
import { expectAllClose, type Tolerance } from '../test/close';

// float32 dot products of length ≤ 64 and an online float32 softmax against float64: errors are a few
// 1e-7 relative; 1e-4 leaves margin for SwiftShader's exp/log, and atol covers entries that cancel to ~0.
const OUT_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };
const LSE_TOL: Tolerance = { rtol: 1e-5, atol: 1e-5 };
// dS = P(dP − D) cancels, so gradients near 0 are judged by atol.
const GRAD_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };

// [N, T, H, D]: T is never a multiple of the tiles but in the first two; D 1, 3, 8, 16, 64.
const SHAPES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [2, 16, 1, 8],
  [2, 5, 2, 3],
  [3, 17, 4, 8],
  [2, 70, 2, 16],
  [1, 37, 2, 64],
];
// The device's pick; the H200's 4×4 register tiles on 8×8 threads (its 16×16 threads need 31 KiB,
// more than SwiftShader's 16); 32×32 (D ≤ 16 here); and an odd layout: non-square, TM ≠ TN, WX not
// dividing D, KC not dividing D. Shapes whose tiles do not fit the device are skipped.
const TILES: [string, AttentionTiles | undefined][] = [
  ['picked for the device', undefined],
  ['4x4 registers', { WX: 8, WY: 8, TM: 4, TN: 4, KC: 16 }],
  ['32x32', { WX: 16, WY: 16, TM: 2, TN: 2, KC: 16 }],
  ['odd', { WX: 4, WY: 8, TM: 3, TN: 1, KC: 5 }],
];

const sizes = ({ N, T, H, D }: AttentionShape) => ({
  qkv: N * T * 3 * H * D,
  out: N * T * H * D,
  rows: N * H * T,
});

/** A buffer pre-filled with NaN, so that any element a kernel fails to write shows up. */
function poisoned(n: number): Float32Array {
  return new Float32Array(n).fill(NaN);
}

async function forward(qkv: Float32Array, shape: AttentionShape, tiles?: AttentionTiles) {
  const gpu = await testGpu();
  const n = sizes(shape);
  const b = {
    qkv: gpu.buffer(qkv, 'qkv'),
    out: gpu.buffer(poisoned(n.out), 'out'),
    lse: gpu.buffer(poisoned(attentionRowStatSize(shape)), 'lse'),
  };
  await gpu.run('attention forward', prepareAttentionForward(gpu, b, shape, tiles));
  const res = { out: await gpu.readF32(b.out, n.out), lse: await gpu.readF32(b.lse, n.rows) };
  Object.values(b).forEach((x) => x.destroy());
  return res;
}

async function backward(
  x: { qkv: Float32Array; out: Float32Array; lse: Float32Array; dout: Float32Array },
  shape: AttentionShape,
  tiles?: AttentionTiles,
): Promise<Float32Array> {
  const gpu = await testGpu();
  const n = sizes(shape);
  const b = {
    qkv: gpu.buffer(x.qkv, 'qkv'),
    out: gpu.buffer(x.out, 'out'),
    lse: gpu.buffer(x.lse, 'lse'),
    dout: gpu.buffer(x.dout, 'dout'),
    dqkv: gpu.buffer(poisoned(n.qkv), 'dqkv'),
    delta: gpu.buffer(poisoned(n.rows), 'delta'),
  };
  await gpu.run('attention backward', prepareAttentionBackward(gpu, b, shape, tiles));
  const dqkv = await gpu.readF32(b.dqkv, n.qkv);
  Object.values(b).forEach((v) => v.destroy());
  return dqkv;
}

function inputs(shape: AttentionShape, seed: number) {
  const n = sizes(shape);
  const qkv = randn(n.qkv, seed);
  const ref = attentionForwardReference(qkv, shape);
  return {
    qkv,
    ref,
    out: Float32Array.from(ref.out),
    lse: Float32Array.from(ref.lse),
    dout: randn(n.out, seed + 1),
  };
}

const shapeOf = ([N, T, H, D]: number[]): AttentionShape => ({ N, T, H, D });

async function fits(shape: AttentionShape, tiles?: AttentionTiles): Promise<boolean> {
  const gpu = await testGpu();
  // Past 8 channels per thread the host rejects the tiles (the shader's register tile).
  return (
    !tiles ||
    (attentionWorkgroupBytes(shape.D, tiles) <= gpu.device.limits.maxComputeWorkgroupStorageSize &&
      Math.ceil(shape.D / tiles.WX) <= 8)
  );
}

describe('attention (fused)', () => {
  it('rejects tiles whose register tile would overflow', async () => {
    const gpu = await testGpu();
    const b = (n: number) => gpu.buffer(n * 4, 'x');
    const shape = { N: 1, T: 4, H: 1, D: 64 };
    expect(() =>
      prepareAttentionForward(gpu, { qkv: b(768), out: b(256), lse: b(4) }, shape, {
        WX: 4,
        WY: 8,
        TM: 3,
        TN: 1,
        KC: 5,
      }),
    ).toThrow(/D \/ WX <= 8/);
  });

  it('lists its steps in dispatch order', () => {
    expect(attentionForwardSteps().map((k) => k.entryPoint)).toEqual(['forward']);
    expect(attentionBackwardSteps().map((k) => k.entryPoint)).toEqual(['backwardQuery', 'backwardKeyValue']);
  });

  it('picks tiles that fit the workgroup memory', () => {
    // WebGPU's guaranteed 16 KiB (SwiftShader) and the H200's 48 KiB through Dawn.
    for (const D of [8, 16, 64, 128]) {
      for (const limit of [16384, 49152]) {
        expect(attentionWorkgroupBytes(D, pickAttentionTiles(D, limit))).toBeLessThanOrEqual(limit);
      }
    }
    expect(pickAttentionTiles(64, 49152)).toEqual({ WX: 16, WY: 16, TM: 2, TN: 2, KC: 16 });
    expect(pickAttentionTiles(64, 16384)).toEqual({ WX: 16, WY: 16, TM: 1, TN: 1, KC: 16 });
  });

  describe.each(TILES)('tiles %s', (_name, tiles) => {
    it.each(SHAPES)('forward N=%i T=%i H=%i D=%i: out and lse', async (...dims) => {
      const shape = shapeOf(dims);
      if (!(await fits(shape, tiles))) return;
      const x = inputs(shape, 3 + dims[1]);
      const got = await forward(x.qkv, shape, tiles);
      expectAllClose(got.out, x.ref.out, OUT_TOL, 'out');
      expectAllClose(got.lse, x.ref.lse, LSE_TOL, 'lse');
    });

    it.each(SHAPES)('backward N=%i T=%i H=%i D=%i: dqkv', async (...dims) => {
      const shape = shapeOf(dims);
      if (!(await fits(shape, tiles))) return;
      const x = inputs(shape, 5 + dims[1]);
      const got = await backward(x, shape, tiles);
      expectAllClose(got, attentionBackwardReference(x.qkv, x.ref.probs, x.dout, shape), GRAD_TOL, 'dqkv');
    });
  });

  it('T = 300 (several key tiles), D = 16, picked tiles: forward and backward', async () => {
    const shape = { N: 1, T: 300, H: 1, D: 16 };
    const x = inputs(shape, 41);
    const got = await forward(x.qkv, shape);
    expectAllClose(got.out, x.ref.out, OUT_TOL, 'out');
    expectAllClose(got.lse, x.ref.lse, LSE_TOL, 'lse');
    const dqkv = await backward(x, shape);
    expectAllClose(dqkv, attentionBackwardReference(x.qkv, x.ref.probs, x.dout, shape), GRAD_TOL, 'dqkv');
  });

  // Every entry point decodes its head with the same head() / grid() pair, so the forward covers the fold.
  it('folds more than 65535 heads into dispatch z', async () => {
    // 1 thread per workgroup keeps 65539 workgroups affordable on a CPU emulator.
    const shape = { N: 65539, T: 2, H: 1, D: 2 };
    const x = inputs(shape, 21);
    const got = await forward(x.qkv, shape, { WX: 1, WY: 1, TM: 1, TN: 1, KC: 2 });
    expectAllClose(got.out, x.ref.out, OUT_TOL, 'out');
    expectAllClose(got.lse, x.ref.lse, LSE_TOL, 'lse');
  });

  it('float64 backward reference matches central differences of the forward reference', () => {
    const shape = { N: 2, T: 4, H: 2, D: 3 };
    const n = sizes(shape);
    const qkv = Float64Array.from(randn(n.qkv, 31));
    const g = Float64Array.from(randn(n.out, 32));
    // L = Σ out ⊙ g, so dL/dout = g.
    const loss = (x: Float64Array) =>
      attentionForwardReference(x, shape).out.reduce((s, o, k) => s + o * g[k], 0);
    const analytic = attentionBackwardReference(qkv, attentionForwardReference(qkv, shape).probs, g, shape);
    const numeric = new Float64Array(n.qkv);
    const eps = 1e-5;
    for (let k = 0; k < n.qkv; k++) {
      const x = Float64Array.from(qkv);
      x[k] = qkv[k] + eps;
      const up = loss(x);
      x[k] = qkv[k] - eps;
      numeric[k] = (up - loss(x)) / (2 * eps);
    }
    // Central differences: truncation O(eps²) ~ 1e-10, round-off ~ 1e-16 / eps ~ 1e-11.
    expectAllClose(analytic, numeric, { rtol: 1e-6, atol: 1e-8 }, 'dqkv vs finite differences');
    expect(analytic.some((v) => Math.abs(v) > 1e-2)).toBe(true);
  });
});
