import { describe, expect, it } from 'vitest';
import { attentionBackwardReference, attentionForwardReference, type AttentionShape } from './attention';
import {
  ATTENTION_PASSES_SOFTWARE_TILES,
  ATTENTION_PASSES_TILE_CANDIDATES,
  attentionPassesBackwardSteps,
  attentionPassesForwardSteps,
  attentionPassesTag,
  attentionPassesWorkgroupBytes,
  attentionProbsSize,
  pickAttentionPassesTiles,
  prepareAttentionPassesBackward,
  prepareAttentionPassesForward,
  type AttentionPassesTiles,
} from './attention-passes';
import { randn } from '../util/random';
import { testGpu } from '../test/gpu';
import { expectAllClose, type Tolerance } from '../test/close';

// float32 dot products of length ≤ 129 and a float32 softmax against float64: errors are a few 1e-7
// relative; 1e-4 leaves margin for SwiftShader's exp/div, and atol covers entries that cancel to ~0.
const PROBS_TOL: Tolerance = { rtol: 1e-4, atol: 1e-6 };
const OUT_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };
// dS = P(dP − rowsum) cancels, so gradients near 0 are judged by atol (the fused kernels' tolerance).
const GRAD_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };

// [N, T, H, D]: T never a multiple of the 32- or 64-row tiles (33, 70, 129 one past / between them), D 1,
// 3, 8, 16 and 64 (lab-gpt's; 64 spans two column blocks of the 32×32 tiles), N·H > 1 but in the first.
const SHAPES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [2, 5, 2, 3],
  [3, 17, 4, 8],
  [2, 33, 3, 8],
  [2, 70, 2, 16],
  [1, 37, 2, 64],
  [1, 129, 2, 64],
];
// Layouts no candidate has: 3 × 2 threads (6, not a warp's divisor), chunks of 5 (dividing neither D nor
// the tiles), rows ≠ columns; each way of splitting the kernels.
const ODD_TILES: AttentionPassesTiles[] = [
  { WX: 3, WY: 2, KC: 5, merge: true },
  { WX: 2, WY: 3, KC: 5, merge: false },
];
// Every candidate (those the test device's workgroup memory holds) and the odd ones.
const TILES: [string, AttentionPassesTiles][] = [...ATTENTION_PASSES_TILE_CANDIDATES, ...ODD_TILES].map(
  (t) => [attentionPassesTag(t), t],
);

const sizes = (shape: AttentionShape) => ({
  qkv: shape.N * shape.T * 3 * shape.H * shape.D,
  out: shape.N * shape.T * shape.H * shape.D,
  probs: attentionProbsSize(shape),
});

async function fits(tiles?: AttentionPassesTiles): Promise<boolean> {
  const gpu = await testGpu();
  return !tiles || attentionPassesWorkgroupBytes(tiles) <= gpu.device.limits.maxComputeWorkgroupStorageSize;
}

/** A buffer pre-filled with NaN, so that any element a kernel fails to write shows up. */
function poisoned(n: number): Float32Array {
  return new Float32Array(n).fill(NaN);
}

async function forward(qkv: Float32Array, shape: AttentionShape, tiles?: AttentionPassesTiles) {
  const gpu = await testGpu();
  const n = sizes(shape);
  const b = {
    qkv: gpu.buffer(qkv, 'qkv'),
    out: gpu.buffer(poisoned(n.out), 'out'),
    probs: gpu.buffer(poisoned(n.probs), 'probs'),
  };
  await gpu.run('attention passes forward', prepareAttentionPassesForward(gpu, b, shape, tiles));
  const res = { out: await gpu.readF32(b.out, n.out), probs: await gpu.readF32(b.probs, n.probs) };
  Object.values(b).forEach((x) => x.destroy());
  return res;
}

async function backward(
  qkv: Float32Array,
  probs: Float32Array,
  dout: Float32Array,
  shape: AttentionShape,
  tiles?: AttentionPassesTiles,
): Promise<Float32Array> {
  const gpu = await testGpu();
  const n = sizes(shape);
  const b = {
    qkv: gpu.buffer(qkv, 'qkv'),
    probs: gpu.buffer(probs, 'probs'),
    dout: gpu.buffer(dout, 'dout'),
    dqkv: gpu.buffer(poisoned(n.qkv), 'dqkv'),
    dscores: gpu.buffer(poisoned(n.probs), 'dscores'),
  };
  await gpu.run('attention passes backward', prepareAttentionPassesBackward(gpu, b, shape, tiles));
  const dqkv = await gpu.readF32(b.dqkv, n.qkv);
  Object.values(b).forEach((x) => x.destroy());
  return dqkv;
}

function inputs(shape: AttentionShape, seed: number) {
  const n = sizes(shape);
  const qkv = randn(n.qkv, seed);
  const ref = attentionForwardReference(qkv, shape);
  return { qkv, ref, probs32: Float32Array.from(ref.probs), dout: randn(n.out, seed + 1) };
}

const shapeOf = ([N, T, H, D]: number[]): AttentionShape => ({ N, T, H, D });

describe('attention (separate passes)', () => {
  it('lists its steps in dispatch order', () => {
    expect(attentionPassesForwardSteps().map((k) => k.entryPoint)).toEqual(['scores', 'weightedSum']);
    expect(attentionPassesBackwardSteps().map((k) => k.entryPoint)).toEqual([
      'backwardScores',
      'backwardGrads',
    ]);
    expect(attentionPassesForwardSteps(true).map((k) => k.entryPoint)).toEqual(['forwardRows']);
    expect(attentionPassesBackwardSteps(true).map((k) => k.entryPoint)).toEqual([
      'backwardRows',
      'backwardGrads',
    ]);
    expect(attentionPassesBackwardSteps(true)[1].constants).toMatchObject({ FIRST_ROLE: 1 });
  });

  it('picks tiles by the workgroup memory (64×64 with 48 KiB, 32×32 with 16 KiB) and for emulators', () => {
    expect(pickAttentionPassesTiles(49152)).toEqual({ WX: 16, WY: 16, KC: 32, merge: true });
    expect(pickAttentionPassesTiles(32768)).toEqual({ WX: 16, WY: 16, KC: 32, merge: true });
    expect(pickAttentionPassesTiles(16384)).toEqual({ WX: 8, WY: 8, KC: 16, merge: true });
    for (const limit of [16384, 32768, 49152]) {
      expect(attentionPassesWorkgroupBytes(pickAttentionPassesTiles(limit))).toBeLessThanOrEqual(limit);
    }
    expect(() => pickAttentionPassesTiles(4096)).toThrow(/no tile configuration fits 4096/);
    // A CPU emulation (SwiftShader reports 32 KiB) takes 32×32 tiles, whatever its limit.
    expect(pickAttentionPassesTiles(32768, true)).toEqual({ WX: 8, WY: 8, KC: 16, merge: true });
    expect(pickAttentionPassesTiles(49152, true)).toBe(ATTENTION_PASSES_SOFTWARE_TILES);
    expect(ATTENTION_PASSES_TILE_CANDIDATES.every((t) => attentionPassesWorkgroupBytes(t) <= 49152)).toBe(
      true,
    );
  });

  it('counts the workgroup memory the shader declares', () => {
    // Xs [KC][WY + 1] and Ys [KC][WX + 1] vec4s, red [4·WY·WX] and rowA, rowB [4·WY] floats.
    expect(attentionPassesWorkgroupBytes({ WX: 16, WY: 16, KC: 32, merge: true })).toBe(
      16 * 32 * 17 * 2 + 4 * 4 * 16 * 16 + 2 * 4 * 4 * 16,
    );
    expect(attentionPassesWorkgroupBytes({ WX: 8, WY: 8, KC: 16, merge: false })).toBe(5888);
    expect(attentionTag()).toBe('64x32/8x16 kc5 split');
  });

  it('refuses tiles past the device’s workgroup memory or its 256 threads', async () => {
    const gpu = await testGpu();
    const shape = { N: 1, T: 4, H: 1, D: 4 };
    const n = sizes(shape);
    const b = {
      qkv: gpu.buffer(n.qkv * 4, 'qkv'),
      out: gpu.buffer(n.out * 4, 'o'),
      probs: gpu.buffer(n.probs * 4, 'p'),
    };
    expect(() =>
      prepareAttentionPassesForward(gpu, b, shape, { WX: 16, WY: 16, KC: 1024, merge: true }),
    ).toThrow(/workgroup memory/);
    expect(() =>
      prepareAttentionPassesForward(gpu, b, shape, { WX: 32, WY: 16, KC: 4, merge: true }),
    ).toThrow(/threads/);
    Object.values(b).forEach((x) => x.destroy());
  });

  describe.each(TILES)('tiles %s', (_name, tiles) => {
    it.each(SHAPES)('forward N=%i T=%i H=%i D=%i: out and probs', async (...dims) => {
      if (!(await fits(tiles))) return;
      const shape = shapeOf(dims);
      const { qkv, ref } = inputs(shape, 3 + dims[1]);
      const got = await forward(qkv, shape, tiles);
      expectAllClose(got.probs, ref.probs, PROBS_TOL, 'probs');
      expectAllClose(got.out, ref.out, OUT_TOL, 'out');
    });

    it.each(SHAPES)('backward N=%i T=%i H=%i D=%i: dqkv', async (...dims) => {
      if (!(await fits(tiles))) return;
      const shape = shapeOf(dims);
      const { qkv, probs32, dout } = inputs(shape, 5 + dims[1]);
      const got = await backward(qkv, probs32, dout, shape, tiles);
      expectAllClose(got, attentionBackwardReference(qkv, probs32, dout, shape), GRAD_TOL, 'dqkv');
    });
  });

  it.each([
    ['picked', undefined],
    ['64x64 split', { WX: 16, WY: 16, KC: 16, merge: false }],
    ['odd', ODD_TILES[0]],
  ] as [string, AttentionPassesTiles | undefined][])(
    'probs above the diagonal are exactly 0 and each row sums to 1 (%s tiles)',
    async (_name, tiles) => {
      const shape = { N: 2, T: 33, H: 3, D: 4 };
      const got = await forward(inputs(shape, 9).qkv, shape, tiles);
      for (let row = 0; row < shape.N * shape.H * shape.T; row++) {
        const i = row % shape.T;
        let sum = 0;
        for (let j = 0; j < shape.T; j++) {
          const p = got.probs[row * shape.T + j];
          if (j > i) expect(p).toBe(0);
          sum += p;
        }
        expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
      }
    },
  );

  it('forward then backward from its own probs: the float64 model’s dqkv (T = 45, several tiles)', async () => {
    const shape = { N: 2, T: 45, H: 2, D: 16 };
    const { qkv, ref, dout } = inputs(shape, 17);
    for (const tiles of [undefined, { WX: 4, WY: 4, KC: 8, merge: false }]) {
      const fwd = await forward(qkv, shape, tiles);
      const got = await backward(qkv, fwd.probs, dout, shape, tiles);
      expectAllClose(got, attentionBackwardReference(qkv, ref.probs, dout, shape), GRAD_TOL, 'dqkv');
    }
  });

  // Every entry point decodes its head with the same head() / grid() pair, so the forward covers the fold.
  it('folds more than 65535 heads into dispatch z', async () => {
    // 1 thread per workgroup keeps 65539 workgroups affordable on a CPU emulator.
    const shape = { N: 65539, T: 2, H: 1, D: 2 };
    const { qkv, ref } = inputs(shape, 21);
    for (const merge of [true, false]) {
      const got = await forward(qkv, shape, { WX: 1, WY: 1, KC: 2, merge });
      expectAllClose(got.probs, ref.probs, PROBS_TOL, 'probs');
      expectAllClose(got.out, ref.out, OUT_TOL, 'out');
    }
  });
});

function attentionTag(): string {
  return attentionPassesTag({ WX: 8, WY: 16, KC: 5, merge: false });
}
