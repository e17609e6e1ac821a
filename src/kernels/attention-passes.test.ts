import { describe, expect, it } from 'vitest';
import { attentionBackwardReference, attentionForwardReference, type AttentionShape } from './attention';
import {
  ATTENTION_PASSES_TILES,
  ATTENTION_PASSES_TILES_NARROW,
  ATTENTION_PASSES_TILES_WIDE,
  ATTENTION_PASSES_VEC4_TILES_NARROW,
  ATTENTION_PASSES_VEC4_TILES_WIDE,
  attentionPassesBackwardSteps,
  attentionPassesForwardSteps,
  attentionPassesProbabilities,
  attentionProbsSize,
  attentionStatsSize,
  prepareAttentionPassesBackward,
  pickAttentionPassesTiles,
  prepareAttentionPassesForward,
  prepareAttentionPassesForwardProj,
  attentionProjFoldFits,
  setAttentionPassesFusedForward,
} from './attention-passes';
import { prepareMatmulSplitKPartials } from './matmul-splitk';
import { randn } from '../util/random';
import { testGpu } from '../test/gpu';
import { expectAllClose, expectSameBits, type Tolerance } from '../test/close';

// float32 dot products of length ≤ 70 and a float32 softmax against float64: errors are a few 1e-7
// relative; 1e-4 leaves margin for SwiftShader's exp/div, and atol covers entries that cancel to ~0.
const PROBS_TOL: Tolerance = { rtol: 1e-4, atol: 1e-6 };
const OUT_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };
// dS = P(dP − rowsum) cancels, so gradients near 0 are judged by atol (the fused kernels' tolerance).
const GRAD_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };

// [N, T, H, D]: T is never a multiple of the 32-row tiles; D 1, 3, 8, 16, 64.
const SHAPES: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [2, 5, 2, 3],
  [3, 17, 4, 8],
  [2, 70, 2, 16],
  [1, 37, 2, 64],
];
// [N, T, H, D] for the vec4 kernels (T, D multiples of 4).
const VEC4_SHAPES: [number, number, number, number][] = [
  [1, 4, 1, 4],
  [2, 20, 2, 8],
  [3, 36, 2, 12],
  [2, 72, 2, 64],
  [1, 40, 2, 68],
];
// A layout other than the default 32×32 tile: non-square, TM ≠ TN, chunk not dividing D.
const ODD_TILES = { WX: 8, WY: 4, TM: 3, TN: 1, KC: 5 };

const sizes = (shape: AttentionShape) => ({
  qkv: shape.N * shape.T * 3 * shape.H * shape.D,
  out: shape.N * shape.T * shape.H * shape.D,
  probs: attentionProbsSize(shape),
  stats: attentionStatsSize(shape),
});

/** The tiles the prepare functions take for `constants` (undefined: the pick). */
const tilesOf = (shape: AttentionShape, constants?: Record<string, number>) =>
  constants ?? pickAttentionPassesTiles(shape);

/**
 * What a forward of these tiles saves for its backward, from the float64 model: the probabilities and
 * their row statistics (max, Σ exp) for the scalar kernels; for the vec4 kernels the scaled scores in float32
 * on and below the diagonal (NaN above it: no reader may use them unmasked) and the statistics of those.
 */
function savedFor(qkv: Float32Array, shape: AttentionShape, constants?: Record<string, number>) {
  const { N, T, H, D } = shape;
  const C = H * D;
  const probs = new Float32Array(attentionProbsSize(shape));
  const stats = new Float32Array(attentionStatsSize(shape));
  const vec4 = tilesOf(shape, constants).VEC4 === 1;
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        const row = (n * H + h) * T + i;
        const sc = new Float64Array(i + 1);
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++)
            dot += qkv[(n * T + i) * 3 * C + h * D + d] * qkv[(n * T + j) * 3 * C + C + h * D + d];
          sc[j] = vec4 ? Math.fround(dot / Math.sqrt(D)) : dot / Math.sqrt(D);
        }
        const m = Math.max(...sc);
        const l = sc.reduce((acc, x) => acc + Math.exp(x - m), 0);
        stats[2 * row] = m;
        stats[2 * row + 1] = l;
        for (let j = 0; j < T; j++)
          probs[row * T + j] = j <= i ? (vec4 ? sc[j] : Math.exp(sc[j] - m) / l) : vec4 ? NaN : 0;
      }
  return { probs, stats };
}

/** A buffer pre-filled with NaN, so that any element a kernel fails to write shows up. */
function poisoned(n: number): Float32Array {
  return new Float32Array(n).fill(NaN);
}

async function forward(qkv: Float32Array, shape: AttentionShape, constants?: Record<string, number>) {
  const gpu = await testGpu();
  const n = sizes(shape);
  const b = {
    qkv: gpu.buffer(qkv, 'qkv'),
    out: gpu.buffer(poisoned(n.out), 'out'),
    probs: gpu.buffer(poisoned(n.probs), 'probs'),
    stats: gpu.buffer(poisoned(n.stats), 'stats'),
  };
  await gpu.run('attention passes forward', prepareAttentionPassesForward(gpu, b, shape, constants));
  const saved = { probs: await gpu.readF32(b.probs, n.probs), stats: await gpu.readF32(b.stats, n.stats) };
  const res = {
    out: await gpu.readF32(b.out, n.out),
    saved,
    // The probabilities these stand for (the vec4 kernels save raw scores).
    probs: attentionPassesProbabilities(saved.probs, saved.stats, shape, tilesOf(shape, constants)),
  };
  Object.values(b).forEach((x) => x.destroy());
  return res;
}

/** The passes' backward from what a forward saved; `out` is O from these probabilities (Δ_i = dO_i · O_i). */
async function backward(
  qkv: Float32Array,
  saved: { probs: Float32Array; stats: Float32Array },
  out: Float32Array,
  dout: Float32Array,
  shape: AttentionShape,
  constants?: Record<string, number>,
  doutParts = 1,
): Promise<Float32Array> {
  const gpu = await testGpu();
  const n = sizes(shape);
  const b = {
    qkv: gpu.buffer(qkv, 'qkv'),
    probs: gpu.buffer(saved.probs, 'probs'),
    stats: gpu.buffer(saved.stats, 'stats'),
    dout: gpu.buffer(dout, 'dout'),
    dqkv: gpu.buffer(poisoned(n.qkv), 'dqkv'),
    dscores: gpu.buffer(poisoned(n.probs), 'dscores'),
    out: gpu.buffer(out, 'out'),
  };
  const steps = prepareAttentionPassesBackward(
    gpu,
    b,
    shape,
    constants ?? pickAttentionPassesTiles(shape),
    doutParts,
  );
  await gpu.run('attention passes backward', steps);
  const dqkv = await gpu.readF32(b.dqkv, n.qkv);
  Object.values(b).forEach((x) => x.destroy());
  return dqkv;
}

function inputs(shape: AttentionShape, seed: number) {
  const n = sizes(shape);
  const qkv = randn(n.qkv, seed);
  const ref = attentionForwardReference(qkv, shape);
  return {
    qkv,
    ref,
    probs32: Float32Array.from(ref.probs),
    out32: Float32Array.from(ref.out),
    dout: randn(n.out, seed + 1),
  };
}

const shapeOf = ([N, T, H, D]: number[]): AttentionShape => ({ N, T, H, D });

describe('attention (separate passes)', () => {
  it('lists its steps in dispatch order', () => {
    expect(attentionPassesForwardSteps().map((k) => k.entryPoint)).toEqual(['scores', 'weightedSum']);
    expect(attentionPassesForwardSteps(true).map((k) => k.entryPoint)).toEqual(['forward']);
    setAttentionPassesFusedForward(false);
    try {
      expect(attentionPassesForwardSteps(true).map((k) => k.entryPoint)).toEqual(['scores', 'weightedSum']);
    } finally {
      setAttentionPassesFusedForward(true);
    }
    expect(attentionPassesBackwardSteps().map((k) => k.entryPoint)).toEqual([
      'backwardScores',
      'backwardGrads',
    ]);
  });

  it('picks the vec4 kernels where T and D are multiples of 4; 64-row tiles from 512 blocks of 64 query rows', () => {
    const pick = (N: number, T: number, H: number, D: number) => pickAttentionPassesTiles({ N, T, H, D });
    expect(pick(64, 128, 4, 64)).toBe(ATTENTION_PASSES_VEC4_TILES_WIDE);
    expect(pick(63, 128, 4, 64)).toBe(ATTENTION_PASSES_VEC4_TILES_NARROW);
    expect(pick(8, 128, 4, 64)).toBe(ATTENTION_PASSES_VEC4_TILES_NARROW);
    expect(pick(64, 192, 2, 64)).toBe(ATTENTION_PASSES_VEC4_TILES_NARROW);
    expect(pick(64, 196, 2, 64)).toBe(ATTENTION_PASSES_VEC4_TILES_WIDE);
    expect(pick(64, 65, 2, 64)).toBe(ATTENTION_PASSES_TILES_NARROW);
    expect(pick(64, 193, 2, 64)).toBe(ATTENTION_PASSES_TILES_WIDE);
    expect(pick(128, 128, 2, 62)).toBe(ATTENTION_PASSES_TILES_WIDE);
  });

  it('refuses vec4 tiles for a shape they do not fit, and tiles whose statistics would not fit', async () => {
    const gpu = await testGpu();
    const shape = { N: 1, T: 6, H: 1, D: 4 };
    const n = sizes(shape);
    const b = {
      qkv: gpu.buffer(new Float32Array(n.qkv), 'qkv'),
      out: gpu.buffer(new Float32Array(n.out), 'out'),
      probs: gpu.buffer(new Float32Array(n.probs), 'probs'),
      // Room for the T = 8 shape below too.
      stats: gpu.buffer(new Float32Array(2 * n.stats), 'stats'),
    };
    expect(() => prepareAttentionPassesForward(gpu, b, shape, ATTENTION_PASSES_VEC4_TILES_WIDE)).toThrow(
      /multiples of 4/,
    );
    const ok = { N: 1, T: 8, H: 1, D: 4 };
    expect(() => prepareAttentionPassesForward(gpu, b, ok, { VEC4: 1, WX: 16, WY: 16, KC: 8 })).toThrow(
      /KC=8/,
    );
    Object.values(b).forEach((x) => x.destroy());
  });

  describe.each([
    ['picked tiles (32×64 at these shapes)', undefined],
    ['the kernel defaults (32×32)', ATTENTION_PASSES_TILES],
    ['64×64 tiles, KC 8 (the pick from 512 row blocks)', ATTENTION_PASSES_TILES_WIDE],
    ['odd tiles', ODD_TILES],
  ])('%s', (_name, constants: Record<string, number> | undefined) => {
    it.each(SHAPES)('forward N=%i T=%i H=%i D=%i: out and probs', async (...dims) => {
      const shape = shapeOf(dims);
      const { qkv, ref } = inputs(shape, 3 + dims[1]);
      const got = await forward(qkv, shape, constants);
      expectAllClose(got.probs, ref.probs, PROBS_TOL, 'probs');
      expectAllClose(got.out, ref.out, OUT_TOL, 'out');
    });

    it.each(SHAPES)('backward N=%i T=%i H=%i D=%i: dqkv', async (...dims) => {
      const shape = shapeOf(dims);
      const { qkv, probs32, out32, dout } = inputs(shape, 5 + dims[1]);
      const got = await backward(qkv, savedFor(qkv, shape, constants), out32, dout, shape, constants);
      expectAllClose(got, attentionBackwardReference(qkv, probs32, dout, shape), GRAD_TOL, 'dqkv');
    });
  });

  it.each([
    ['scalar', 33],
    ['vec4', 36],
  ])(
    'the probabilities are exactly 0 above the diagonal and each row sums to 1 (%s kernels, T = %i)',
    async (_k, T) => {
      const shape = { N: 2, T, H: 3, D: 4 };
      const got = await forward(inputs(shape, 9).qkv, shape);
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

  it('both kernel sets save the same row statistics; the scalar ones the probabilities, the vec4 ones the scores', async () => {
    const shape = { N: 2, T: 40, H: 2, D: 8 };
    const { qkv, ref } = inputs(shape, 13);
    const scalar = await forward(qkv, shape, ATTENTION_PASSES_TILES);
    const vec4 = await forward(qkv, shape, ATTENTION_PASSES_VEC4_TILES_NARROW);
    // (max, Σ exp) of each row from the float64 model: max = the largest score, Σ = 1 / P at the max.
    const want = new Float64Array(attentionStatsSize(shape));
    const { probs: s32 } = savedFor(qkv, shape, ATTENTION_PASSES_VEC4_TILES_NARROW);
    for (let row = 0; row < shape.N * shape.H * shape.T; row++) {
      const i = row % shape.T;
      const scores = Array.from({ length: i + 1 }, (_, j) => s32[row * shape.T + j]);
      want[2 * row] = Math.max(...scores);
      want[2 * row + 1] = scores.reduce((acc, x) => acc + Math.exp(x - want[2 * row]), 0);
    }
    expectAllClose(scalar.saved.stats, want, PROBS_TOL, 'scalar stats');
    expectAllClose(vec4.saved.stats, want, PROBS_TOL, 'vec4 stats');
    expectAllClose(scalar.saved.probs, ref.probs, PROBS_TOL, 'scalar probs');
    // The vec4 scores on and below the diagonal (a vec4 straddling it is whole), in float32.
    for (let row = 0; row < shape.N * shape.H * shape.T; row++) {
      const i = row % shape.T;
      for (let j = 0; j <= i; j++) {
        const got = vec4.saved.probs[row * shape.T + j];
        expect(Math.abs(got - s32[row * shape.T + j])).toBeLessThanOrEqual(
          1e-5 + 1e-4 * Math.abs(s32[row * shape.T + j]),
        );
      }
    }
  });

  it.each([
    ['scalar', 45],
    ['vec4', 44],
  ])(
    'forward then backward from its own probs (%s kernels, T = %i, several tiles): the float64 model’s dqkv',
    async (_k, T) => {
      const shape = { N: 2, T, H: 2, D: 16 };
      const { qkv, ref, dout } = inputs(shape, 17);
      const fwd = await forward(qkv, shape);
      const got = await backward(qkv, fwd.saved, fwd.out, dout, shape);
      expectAllClose(got, attentionBackwardReference(qkv, ref.probs, dout, shape), GRAD_TOL, 'dqkv');
    },
  );

  // The vec4 kernels: T and D multiples of 4, T never a multiple of the 32- or 64-row tiles; D 12 (a partial
  // KC chunk), 64 (lab-gpt's) and 68 (two 64-column tiles in weightedSum and backwardGrads).
  describe.each([
    ['vec4, picked tiles (32×64 at these shapes)', undefined],
    ['vec4, 64×64 tiles', ATTENTION_PASSES_VEC4_TILES_WIDE],
    ['vec4, odd tiles 32×16, KC 8', { VEC4: 1, WX: 4, WY: 8, KC: 8 }],
    ['vec4, odd tiles 16×32, KC 8', { VEC4: 1, WX: 8, WY: 4, KC: 8 }],
  ])('%s', (_name, constants: Record<string, number> | undefined) => {
    it.each(VEC4_SHAPES)('forward N=%i T=%i H=%i D=%i: out and probs', async (...dims) => {
      const shape = shapeOf(dims);
      const { qkv, ref } = inputs(shape, 3 + dims[1]);
      const got = await forward(qkv, shape, constants);
      expectAllClose(got.probs, ref.probs, PROBS_TOL, 'probs');
      expectAllClose(got.out, ref.out, OUT_TOL, 'out');
    });

    it.each(VEC4_SHAPES)('backward N=%i T=%i H=%i D=%i: dqkv', async (...dims) => {
      const shape = shapeOf(dims);
      const { qkv, probs32, out32, dout } = inputs(shape, 5 + dims[1]);
      const got = await backward(qkv, savedFor(qkv, shape, constants), out32, dout, shape, constants);
      expectAllClose(got, attentionBackwardReference(qkv, probs32, dout, shape), GRAD_TOL, 'dqkv');
    });
  });

  // dO as the partial products of a split-K product (gpu-model.ts): the passes add them as they read them.
  describe.each([
    ['picked tiles', undefined],
    ['64×64 tiles', ATTENTION_PASSES_VEC4_TILES_WIDE],
    ['odd tiles 16×32, KC 8', { VEC4: 1, WX: 8, WY: 4, KC: 8 }],
  ])('vec4, dO in parts, %s', (_name, constants: Record<string, number> | undefined) => {
    it.each([
      [2, 2, 20, 2, 8],
      [3, 3, 36, 2, 12],
      [2, 2, 72, 2, 64],
      [4, 1, 40, 2, 68],
    ])(
      '%i parts, N=%i T=%i H=%i D=%i: the bits of dO summed first, and the float64 model',
      async (S, ...dims) => {
        const shape = shapeOf(dims);
        const { qkv, probs32, out32 } = inputs(shape, 7 + dims[1]);
        const saved = savedFor(qkv, shape, constants);
        const n = sizes(shape).out;
        const parts = randn(S * n, 31 + S);
        // What matmulSplitKSum stores: Σ_s parts[s] added in float32 from zero, in part order.
        const summed = new Float32Array(n);
        for (let s = 0; s < S; s++)
          for (let i = 0; i < n; i++) summed[i] = Math.fround(summed[i] + parts[s * n + i]);
        const got = await backward(qkv, saved, out32, parts, shape, constants, S);
        const whole = await backward(qkv, saved, out32, summed, shape, constants);
        expectSameBits(got, whole, 'dqkv');
        expectAllClose(got, attentionBackwardReference(qkv, probs32, summed, shape), GRAD_TOL, 'dqkv');
      },
    );
  });

  // ORDER 1 (the longest tiles first, tile-major over the grid): every workgroup computes the tile it did, so
  // the bits are ORDER 0's; a tile left out or done twice under the new numbering leaves NaN or differs.
  describe.each([
    ['picked tiles', undefined],
    ['64×64 tiles', ATTENTION_PASSES_VEC4_TILES_WIDE],
    ['odd tiles 32×16, KC 8', { VEC4: 1, WX: 4, WY: 8, KC: 8 }],
  ])('vec4, longest tiles first, %s', (_name, tiles: Record<string, number> | undefined) => {
    it.each([
      [2, 72, 2, 64],
      [1, 40, 2, 68],
      [3, 36, 2, 12],
    ])('N=%i T=%i H=%i D=%i: forward and backward bit for bit as in grid order', async (...dims) => {
      const shape = shapeOf(dims);
      const base = tiles ?? pickAttentionPassesTiles(shape);
      const [inOrder, longestFirst] = [0, 1].map((ORDER) => ({ ...base, ORDER }));
      const { qkv, dout } = inputs(shape, 11 + dims[1]);
      const a = await forward(qkv, shape, inOrder);
      const b = await forward(qkv, shape, longestFirst);
      expect(b.out.some(Number.isNaN)).toBe(false);
      expectSameBits(b.out, a.out, 'out');
      expectSameBits(b.saved.stats, a.saved.stats, 'stats');
      expectSameBits(b.saved.probs, a.saved.probs, 'probs');
      const ga = await backward(qkv, a.saved, a.out, dout, shape, inOrder);
      const gb = await backward(qkv, a.saved, a.out, dout, shape, longestFirst);
      expect(gb.some(Number.isNaN)).toBe(false);
      expectSameBits(gb, ga, 'dqkv');
    });
  });

  // SKIP_MASKED 1 (the default): a thread skips a staged chunk that the causal mask makes all 0 for its rows;
  // fma(0, y, acc) = acc, so the bits are those of every chunk multiplied (the float64 tests above check the
  // skipping kernels' values). Short chunks (KC 4 and 8) give the diagonal blocks the most skipped chunks.
  // SQUARE_WARPS 1 (the default) renumbers scores' threads in squares: the same bits again;
  // an output it maps no thread to stays NaN.
  describe.each([
    ['64×64 tiles (the pick from 512 row blocks)', ATTENTION_PASSES_VEC4_TILES_WIDE],
    ['odd tiles 16×32, KC 8', { VEC4: 1, WX: 8, WY: 4, KC: 8 }],
    ['16×16 tiles, KC 4', { VEC4: 1, WX: 4, WY: 4, KC: 4 }],
    ['32×24 tiles, KC 8 (squares of 8 × 2 threads)', { VEC4: 1, WX: 8, WY: 6, KC: 8 }],
  ])('vec4, masked chunks skipped, %s', (_name, tiles: Record<string, number>) => {
    it.each([
      [2, 72, 2, 64],
      [3, 36, 2, 12],
    ])('N=%i T=%i H=%i D=%i: forward and backward bit for bit as with every chunk', async (...dims) => {
      const shape = shapeOf(dims);
      // Every chunk in rows of threads; chunks skipped in rows, then in squares of threads.
      const every = { ...tiles, SKIP_MASKED: 0, SQUARE_WARPS: 0 };
      const { qkv, dout } = inputs(shape, 29 + dims[1]);
      const a = await forward(qkv, shape, every);
      const ga = await backward(qkv, a.saved, a.out, dout, shape, every);
      for (const SQUARE_WARPS of [0, 1]) {
        const skip = { ...tiles, SKIP_MASKED: 1, SQUARE_WARPS };
        const b = await forward(qkv, shape, skip);
        expect(b.out.some(Number.isNaN)).toBe(false);
        expectSameBits(b.out, a.out, `out, square warps ${SQUARE_WARPS}`);
        expectSameBits(b.saved.probs, a.saved.probs, `probs, square warps ${SQUARE_WARPS}`);
        expectSameBits(b.saved.stats, a.saved.stats, `stats, square warps ${SQUARE_WARPS}`);
        const gb = await backward(qkv, a.saved, a.out, dout, shape, skip);
        expect(gb.some(Number.isNaN)).toBe(false);
        expectSameBits(gb, ga, `dqkv, square warps ${SQUARE_WARPS}`);
      }
    });
  });

  // The vec4 forward as one dispatch (`forward`: scores, then weightedSum's column blocks, in one workgroup per
  // query block): the same float32 operations in the same order as the two passes, so the same bits; NaN-poisoned
  // outputs show a block it leaves out. D 68: two column blocks of 64; T 40 and 72: a partial last row block.
  describe.each([
    ['picked tiles', undefined],
    ['64×64 tiles, longest first', { ...ATTENTION_PASSES_VEC4_TILES_WIDE, ORDER: 1 }],
    ['odd tiles 16×32, KC 8', { VEC4: 1, WX: 8, WY: 4, KC: 8 }],
  ])('vec4 forward in one dispatch, %s', (_name, tiles: Record<string, number> | undefined) => {
    it.each([
      [2, 72, 2, 64],
      [1, 40, 2, 68],
      [3, 36, 2, 12],
    ])('N=%i T=%i H=%i D=%i: the two passes’ bits', async (...dims) => {
      const shape = shapeOf(dims);
      const { qkv } = inputs(shape, 19 + dims[1]);
      const fused = await forward(qkv, shape, tiles);
      setAttentionPassesFusedForward(false);
      let passes: Awaited<ReturnType<typeof forward>>;
      try {
        passes = await forward(qkv, shape, tiles);
      } finally {
        setAttentionPassesFusedForward(true);
      }
      expect(fused.out.some(Number.isNaN)).toBe(false);
      expect(fused.saved.stats.some(Number.isNaN)).toBe(false);
      expectSameBits(fused.out, passes.out, 'out');
      expectSameBits(fused.saved.stats, passes.saved.stats, 'stats');
      expectSameBits(fused.saved.probs, passes.saved.probs, 'probs');
    });
  });

  // The fused forward with attn.c_proj's product by heads (forwardProj): the forward's outputs are the plain
  // forward's bits, and the partials [H, N·T, C] are those of the split-K matmul with S = H (each fma'd from 0
  // over the head's D channels in order). D 60: C = 120, a partial last column block of 64, KC 16 and 8 past D;
  // H 3, D 12: C = 36, one column block; T 40 and 36: a partial last row block.
  describe.each([
    ['picked tiles', undefined],
    ['tiles 32×32, KC 8', { VEC4: 1, WX: 8, WY: 8, KC: 8 }],
  ])(
    'vec4 forward with attn.c_proj’s product by heads, %s',
    (_name, tiles: Record<string, number> | undefined) => {
      it.each([
        [2, 72, 2, 64],
        [1, 40, 2, 60],
        [3, 36, 3, 12],
      ])('N=%i T=%i H=%i D=%i: the forward’s and the split product’s bits', async (...dims) => {
        const shape = shapeOf(dims);
        const { N, T, H, D } = shape;
        const C = H * D;
        const M = N * T;
        const { qkv } = inputs(shape, 29 + dims[1]);
        const W = randn(C * C, 31 + D, 0.2);
        const plain = await forward(qkv, shape, tiles);
        const gpu = await testGpu();
        const n = sizes(shape);
        const b = {
          qkv: gpu.buffer(qkv, 'qkv'),
          out: gpu.buffer(poisoned(n.out), 'out'),
          probs: gpu.buffer(poisoned(n.probs), 'probs'),
          stats: gpu.buffer(poisoned(n.stats), 'stats'),
          projW: gpu.buffer(W, 'projW'),
          partial: gpu.buffer(poisoned(H * M * C), 'partial'),
        };
        const split = gpu.buffer(poisoned(H * M * C), 'split');
        await gpu.run('attention forward with c_proj', [
          prepareAttentionPassesForwardProj(gpu, b, shape, tiles),
        ]);
        const p = { M, N: C, K: C };
        await gpu.run('c_proj split', [
          prepareMatmulSplitKPartials(gpu, { a: b.out, b: b.projW }, p, {}, H, split),
        ]);
        const out = await gpu.readF32(b.out, n.out);
        const partial = await gpu.readF32(b.partial, H * M * C);
        const want = await gpu.readF32(split, H * M * C);
        const saved = {
          probs: await gpu.readF32(b.probs, n.probs),
          stats: await gpu.readF32(b.stats, n.stats),
        };
        [...Object.values(b), split].forEach((x) => x.destroy());
        expectSameBits(out, plain.out, 'out');
        expectSameBits(saved.stats, plain.saved.stats, 'stats');
        expectSameBits(saved.probs, plain.saved.probs, 'probs');
        expect(partial.some(Number.isNaN)).toBe(false);
        expectSameBits(partial, want, 'partial');
        // And against float64 from the kernel's own O: dot products of D terms, a few 1e-7 relative.
        const ref = new Float64Array(H * M * C);
        for (let h = 0; h < H; h++)
          for (let m = 0; m < M; m++)
            for (let c = 0; c < C; c++) {
              let acc = 0;
              for (let d = 0; d < D; d++) acc += out[m * C + h * D + d] * W[(h * D + d) * C + c];
              ref[(h * M + m) * C + c] = acc;
            }
        expectAllClose(partial, ref, { rtol: 1e-5, atol: 1e-6 }, 'partial vs float64');
      });
    },
  );

  it('refuses the forward with c_proj’s product for the scalar kernels', async () => {
    const gpu = await testGpu();
    const shape = { N: 1, T: 5, H: 2, D: 3 };
    const n = sizes(shape);
    const buf = (k: number) => gpu.buffer(new Float32Array(k));
    const b = {
      qkv: buf(n.qkv),
      out: buf(n.out),
      probs: buf(n.probs),
      stats: buf(n.stats),
      projW: buf(36),
      partial: buf(2 * n.out),
    };
    expect(() => prepareAttentionPassesForwardProj(gpu, b, shape)).toThrow(/vec4 tiles/);
    // The chunks must be the heads, the tiles vec4.
    const heads = { N: 1, T: 40, H: 2, D: 68 };
    expect(attentionProjFoldFits(heads, 2)).toBe(true);
    expect(attentionProjFoldFits(heads, 4)).toBe(false);
    expect(attentionProjFoldFits(heads, 2, ATTENTION_PASSES_TILES_NARROW)).toBe(false);
    Object.values(b).forEach((x) => x.destroy());
  });

  it('refuses dO in parts for the scalar kernels', async () => {
    const gpu = await testGpu();
    const shape = { N: 1, T: 5, H: 1, D: 3 };
    const n = sizes(shape);
    const buf = (k: number) => gpu.buffer(new Float32Array(k));
    const b = {
      qkv: buf(n.qkv),
      probs: buf(n.probs),
      stats: buf(n.stats),
      dout: buf(2 * n.out),
      dqkv: buf(n.qkv),
      dscores: buf(n.probs),
      out: buf(n.out),
    };
    expect(() => prepareAttentionPassesBackward(gpu, b, shape, pickAttentionPassesTiles(shape), 2)).toThrow(
      /vec4/,
    );
    Object.values(b).forEach((x) => x.destroy());
  });

  // Every entry point of a kernel set decodes its head with the same function over grid()'s layout, so the
  // forward covers the fold. One thread per scalar workgroup keeps 65539 workgroups affordable on a CPU
  // emulator; the vec4 kernels' smallest tile (4 × 1 threads, 4 query rows) gives T = 8 two row blocks a head,
  // numbered longest first over the folded grid (ORDER 1).
  it.each([
    ['scalar', { N: 65539, T: 2, H: 1, D: 2 }, { WX: 1, WY: 1, TM: 1, TN: 1, KC: 2 }, 21],
    [
      'vec4, longest tiles first',
      { N: 65539, T: 8, H: 1, D: 4 },
      { VEC4: 1, WX: 4, WY: 1, KC: 4, ORDER: 1 },
      23,
    ],
  ] as const)('folds more than 65535 heads into dispatch z (%s)', async (_name, shape, tiles, seed) => {
    const { qkv, ref } = inputs(shape, seed);
    const got = await forward(qkv, shape, { ...tiles });
    expectAllClose(got.probs, ref.probs, PROBS_TOL, 'probs');
    expectAllClose(got.out, ref.out, OUT_TOL, 'out');
  });
});
