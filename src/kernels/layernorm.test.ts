import { describe, expect, it } from 'vitest';
import {
  layerNormBackward,
  layerNormBackwardReference,
  layerNormBackwardSum,
  layerNormConstants,
  layerNormSumConstants,
  layerNormForward,
  layerNormForwardReference,
  layerNormForwardSum,
  layerNormForwardEmbed,
  layerNormBackwardSumLora,
} from './layernorm';
import { embedding, embeddingReference } from './embedding';
import { matmulSplitKSum } from './matmul-splitk';
import { MATMUL_EPILOGUE, matmulBindings, matmulParams, matmulWideVec4 } from './matmul';
import { randn } from '../util/random';
import { runOnce, testGpu } from '../test/gpu';
import { expectAllClose, expectSameBits } from '../test/close';

const eps = 1e-5;
// layerNormBackwardSum and matmulSplitKSum without their LoRA terms (LORA_R = 0): placeholder inputs and
// parameters.
const noLora = {
  du: 4,
  loraA: 4,
  sum: { loraU: 4, loraB: 4 },
  sumParams: { copies: 1, loraScale: 0, loraOffB: 0, loraStrideB: 0, loraRows: 1 },
};
const noLoraParams = { loraOffA: 0, loraStrideA: 0, loraRows: 1 };
// [rows, C, TPR, EPT, WG?]: the constants layerNormConstants picks (C = 1 zero variance; 7, 33 and 2000 not
// multiples of 4 or of the threads per row; 256 and 768 the model's), rows 1, 3, 5, 300 (not multiples
// of the rows per workgroup); then other splits of a shape (4 to 256 threads per row, padded elements)
// and rows past 65535 workgroups (dispatch folded into y; a workgroup of 4 threads, one row each,
// keeps SwiftShader quick).
type Shape = [rows: number, C: number, TPR: number, EPT: number, WG?: number];
const picked = (rows: number, C: number): Shape => {
  const k = layerNormConstants(C);
  return [rows, C, k.TPR, k.EPT];
};
const shapes: Shape[] = [
  picked(1, 1),
  picked(5, 7),
  picked(300, 7),
  picked(5, 33),
  picked(1, 256),
  picked(300, 256),
  picked(5, 768),
  picked(3, 2000),
  [7, 33, 4, 9],
  [7, 33, 16, 3],
  [5, 300, 64, 5],
  [5, 300, 256, 2],
  [70000, 3, 4, 1, 4],
];

// Inputs of each case: x with a non-zero mean per row (tests the two-pass variance), gamma near 1.
function inputs(rows: number, C: number, seed: number) {
  const x = randn(rows * C, seed, 1.5).map((v, i) => v + 3 * Math.sin(Math.floor(i / C)));
  const gamma = randn(C, seed + 1, 0.5).map((v) => v + 1);
  const beta = randn(C, seed + 2, 0.5);
  return { x, gamma, beta };
}

/**
 * Float32 LayerNorm loses accuracy in proportion to κ = max|x|·rstd of the row (x − mean rounds at the
 * scale of |x|, then rstd magnifies it): a row of three close values is ill-conditioned. Dividing got
 * and want by max(1, κ) of their row (times the natural size of the values, for dx) lets one
 * tolerance hold for well- and ill-conditioned rows alike.
 */
function conditioning(x: Float32Array, rstd: Float64Array, C: number): Float64Array {
  return rstd.map((rs, r) => Math.max(1, rs * Math.max(...x.subarray(r * C, (r + 1) * C).map(Math.abs))));
}

const bits = (v: Float32Array) => new Uint32Array(v.buffer, v.byteOffset, v.length);

function perRowScaled(values: ArrayLike<number>, scale: Float64Array, C: number): Float64Array {
  return Float64Array.from(values, (v, i) => v / scale[Math.floor(i / C)]);
}

describe('layerNormForward', () => {
  // y is O(3); float32 rounding of mean, rstd and the fma is a few ulps of it.
  it.each(shapes)('rows=%i C=%i TPR=%i EPT=%i', async (rows, C, TPR, EPT, WG = 256) => {
    const { x, gamma, beta } = inputs(rows, C, rows + C);
    const want = layerNormForwardReference(x, gamma, beta, rows, C, eps);
    const got = await runOnce(
      layerNormForward,
      { x, gamma, beta, y: rows * C, mean: rows, rstd: rows },
      { rows, C, eps },
      { WG, TPR, EPT },
    );
    const tol = { rtol: 1e-5, atol: 1e-5 };
    const kappa = conditioning(x, want.rstd, C);
    const scaled = (v: ArrayLike<number>) => perRowScaled(v, kappa, C);
    expectAllClose(scaled(got.y), scaled(want.y), tol, 'y / κ');
    expectAllClose(got.mean, want.mean, tol, 'mean');
    // rstd reaches 1/sqrt(eps) ≈ 316 for constant rows: relative tolerance.
    expectAllClose(got.rstd, want.rstd, { rtol: 1e-5, atol: 0 }, 'rstd');
  });

  it('a constant row gives y = beta and rstd = 1/sqrt(eps)', async () => {
    const C = 40;
    const x = new Float32Array(2 * C).fill(7.25);
    const { gamma, beta } = inputs(1, C, 9);
    const got = await runOnce(
      layerNormForward,
      { x, gamma, beta, y: 2 * C, mean: 2, rstd: 2 },
      { rows: 2, C, eps },
      layerNormConstants(C),
    );
    expectAllClose(got.y, [...beta, ...beta], { rtol: 0, atol: 0 }, 'y');
    expectAllClose(got.rstd, [1 / Math.sqrt(eps), 1 / Math.sqrt(eps)], { rtol: 1e-6, atol: 0 }, 'rstd');
  });
});

describe('layerNormForwardEmbed', () => {
  // [R, Bt, T, C, V]: C 33 and 7 (not multiples of the threads per row), rows R·Bt·T of 30, 84 and 600 (not
  // multiples of the rows per workgroup), the runs reading one batch of tokens.
  const embedShapes: [number, number, number, number, number][] = [
    [3, 2, 5, 33, 11],
    [2, 3, 14, 256, 50],
    [2, 1, 300, 7, 9],
  ];
  it.each(embedShapes)(
    'R=%i Bt=%i T=%i C=%i V=%i: x and the LayerNorm bit for bit the embedding then layerNormForward, and float64',
    async (R, Bt, T, C, V) => {
      const seed = R + Bt + T + C;
      const tokens = Uint32Array.from({ length: Bt * T }, (_, i) => (i * 7 + seed) % V);
      tokens[0] = V - 1;
      const wte = randn(V * C, seed, 1.5);
      const wpe = randn(T * C, seed + 1, 0.5).map((v, i) => v + 2 * Math.sin(Math.floor(i / C)));
      const { gamma, beta } = inputs(1, C, seed + 2);
      const rows = R * Bt * T;
      const constants = layerNormConstants(C);
      const got = await runOnce(
        layerNormForwardEmbed,
        { tokens, wte, wpe, gamma, beta, x: rows * C, y: rows * C, mean: rows, rstd: rows },
        { rows, C, eps, perRun: Bt * T, T },
        constants,
      );
      const emb = await runOnce(
        embedding,
        { tokens, wte, wpe, out: rows * C },
        { R, Bt, T, C, first: 0, count: V },
      );
      const two = await runOnce(
        layerNormForward,
        { x: emb.out, gamma, beta, y: rows * C, mean: rows, rstd: rows },
        { rows, C, eps },
        constants,
      );
      expectSameBits(got.x, emb.out, 'x');
      expectSameBits(got.y, two.y, 'y');
      expectSameBits(got.mean, two.mean, 'mean');
      expectSameBits(got.rstd, two.rstd, 'rstd');
      const x = embeddingReference(tokens, wte, wpe, R, Bt, T, C);
      const want = layerNormForwardReference(Float32Array.from(x), gamma, beta, rows, C, eps);
      const tol = { rtol: 1e-5, atol: 1e-5 };
      expectAllClose(got.x, x, tol, 'x');
      const kappa = conditioning(Float32Array.from(x), want.rstd, C);
      const scaled = (v: ArrayLike<number>) => perRowScaled(v, kappa, C);
      expectAllClose(scaled(got.y), scaled(want.y), tol, 'y / κ');
      expectAllClose(got.rstd, want.rstd, { rtol: 1e-5, atol: 0 }, 'rstd');
    },
  );
});

describe('layerNormForwardSum', () => {
  // [rows, C, S, bias, alpha]: the model's C = 256 (8 rows a workgroup) and C = 40, 70 (not multiples of
  // the threads per row); rows not multiples of the rows per workgroup; S = 1 to 4 chunks; alpha 1 (the
  // model's) and others, where a fused multiply-add in one kernel and not the other would show.
  const sumShapes: [rows: number, C: number, S: number, bias: boolean, alpha: number][] = [
    [13, 256, 4, true, 1],
    [300, 256, 2, false, 1],
    [5, 40, 1, false, 1],
    [9, 40, 4, true, 1.25],
    [37, 70, 2, true, 0.37],
    [3, 70, 4, false, 0.37],
  ];

  it.each(sumShapes)('rows=%i C=%i S=%i bias=%s alpha=%f', async (rows, C, S, hasBias, alpha) => {
    const size = rows * C;
    const seed = rows + C + S;
    const partial = randn(S * size, seed, 1.5);
    const bias = randn(C, seed + 1);
    const { x: aux, gamma, beta } = inputs(rows, C, seed + 2);
    const buffers = { partial, bias: hasBias ? bias : new Float32Array(4), aux, gamma, beta };
    const params = { rows, C, eps, S, hasBias: hasBias ? 1 : 0, alpha };
    const got = await runOnce(
      layerNormForwardSum,
      { ...buffers, x: size, y: size, mean: rows, rstd: rows },
      params,
      layerNormConstants(C),
    );

    // Float64: x = aux + alpha·Σ partial + bias to a few float32 ulps of its terms, then y from that x.
    const x = Float64Array.from(aux, (a, i) => {
      let acc = 0;
      for (let s = 0; s < S; s++) acc += partial[s * size + i];
      return a + alpha * acc + (hasBias ? bias[i % C] : 0);
    });
    expectAllClose(got.x, x, { rtol: 1e-6, atol: 1e-5 }, 'x');
    const want = layerNormForwardReference(x, gamma, beta, rows, C, eps);
    const kappa = conditioning(got.x, want.rstd, C);
    const scaled = (v: ArrayLike<number>) => perRowScaled(v, kappa, C);
    expectAllClose(scaled(got.y), scaled(want.y), { rtol: 1e-5, atol: 1e-5 }, 'y / κ');
    expectAllClose(got.mean, want.mean, { rtol: 1e-5, atol: 1e-5 }, 'mean');
    expectAllClose(got.rstd, want.rstd, { rtol: 1e-5, atol: 0 }, 'rstd');
    // With the model's constants for it (more threads per row, another order of the row sums): the same
    // float64 bounds.
    const wide = await runOnce(
      layerNormForwardSum,
      { ...buffers, x: size, y: size, mean: rows, rstd: rows },
      params,
      layerNormSumConstants(C, 1),
    );
    expect(bits(wide.x)).toEqual(bits(got.x));
    expectAllClose(scaled(wide.y), scaled(want.y), { rtol: 1e-5, atol: 1e-5 }, 'y / κ (sum constants)');
    expectAllClose(wide.mean, want.mean, { rtol: 1e-5, atol: 1e-5 }, 'mean (sum constants)');
    expectAllClose(wide.rstd, want.rstd, { rtol: 1e-5, atol: 0 }, 'rstd (sum constants)');

    // The two dispatches it replaces (matmulSplitKSum with the residual epilogue, then layerNormForward)
    // give the same bits.
    const sum = await runOnce(
      matmulSplitKSum,
      { partial, bias: buffers.bias, c: size, aux, ...noLora.sum },
      { M: rows, N: C, S, hasBias: params.hasBias, offC: 0, alpha, ...noLora.sumParams },
      { EPILOGUE: MATMUL_EPILOGUE.residual },
    );
    const ln = await runOnce(
      layerNormForward,
      { x: sum.c, gamma, beta, y: size, mean: rows, rstd: rows },
      { rows, C, eps },
      layerNormConstants(C),
    );
    expect(bits(got.x)).toEqual(bits(sum.c));
    expect(bits(got.y)).toEqual(bits(ln.y));
    expect(bits(got.mean)).toEqual(bits(ln.mean));
    expect(bits(got.rstd)).toEqual(bits(ln.rstd));
  });
});

describe('layerNormBackward', () => {
  // The reference itself, against central differences of the float64 forward: L = Σ w ⊙ y.
  it('reference matches finite differences', () => {
    const rows = 2;
    const C = 5;
    const { x, gamma, beta } = inputs(rows, C, 3);
    const w = randn(rows * C, 4);
    const loss = (xs: Float64Array) =>
      layerNormForwardReference(xs, gamma, beta, rows, C, eps).y.reduce((a, y, i) => a + y * w[i], 0);
    const dx = layerNormBackwardReference(w, x, gamma, rows, C, eps);
    const h = 1e-6;
    for (let i = 0; i < rows * C; i++) {
      const plus = Float64Array.from(x);
      const minus = Float64Array.from(x);
      plus[i] += h;
      minus[i] -= h;
      expect(Math.abs((loss(plus) - loss(minus)) / (2 * h) - dx[i])).toBeLessThan(1e-6);
    }
  });

  // dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) is a difference of terms of size rstd·max|g|, each known
  // to κ·ε: scaled by κ·rstd·max|g| per row, the error is a few float32 ulps.
  it.each(shapes)(
    'rows=%i C=%i TPR=%i EPT=%i, written and accumulated',
    async (rows, C, TPR, EPT, WG = 256) => {
      const { x, gamma, beta } = inputs(rows, C, 2 * rows + C);
      const dy = randn(rows * C, rows + 5 * C);
      const saved = layerNormForwardReference(x, gamma, beta, rows, C, eps);
      const mean = Float32Array.from(saved.mean);
      const rstd = Float32Array.from(saved.rstd);
      const prior = randn(rows * C, 77);
      const kappa = conditioning(x, saved.rstd, C);
      const scale = kappa.map((k, r) => {
        let g = 0;
        for (let c = 0; c < C; c++) g = Math.max(g, Math.abs(dy[r * C + c] * gamma[c]));
        return k * saved.rstd[r] * g;
      });
      for (const accumulate of [0, 1]) {
        const got = await runOnce(
          layerNormBackward,
          { dy, x, gamma, mean, rstd, dx: accumulate ? prior : rows * C },
          { rows, C, accumulate },
          { WG, TPR, EPT },
        );
        const want = layerNormBackwardReference(dy, x, gamma, rows, C, eps, accumulate ? prior : undefined);
        const scaled = (v: ArrayLike<number>) => perRowScaled(v, scale, C);
        expectAllClose(
          scaled(got.dx),
          scaled(want),
          { rtol: 1e-5, atol: 2e-6 },
          `dx / (κ·rstd·max|g|), accumulate=${accumulate}`,
        );
      }
    },
  );
});

describe('layerNormBackwardSum', () => {
  // [rows, C, S, alpha], as layerNormForwardSum's cases (no bias: the backward's products have none).
  const sumShapes: [rows: number, C: number, S: number, alpha: number][] = [
    [13, 256, 4, 1],
    [300, 256, 2, 1],
    [5, 40, 1, 1],
    [9, 40, 4, 1.25],
    [37, 70, 2, 0.37],
  ];

  it.each(sumShapes)('rows=%i C=%i S=%i alpha=%f, written and accumulated', async (rows, C, S, alpha) => {
    const size = rows * C;
    const seed = 3 * rows + C + S;
    const partial = randn(S * size, seed);
    const { x, gamma, beta } = inputs(rows, C, seed + 1);
    const saved = layerNormForwardReference(x, gamma, beta, rows, C, eps);
    const mean = Float32Array.from(saved.mean);
    const rstd = Float32Array.from(saved.rstd);
    const prior = randn(size, seed + 2);
    const dy = Float64Array.from({ length: size }, (_, i) => {
      let acc = 0;
      for (let s = 0; s < S; s++) acc += partial[s * size + i];
      return alpha * acc;
    });
    // As layerNormBackward's test: scaled by κ·rstd·max|g| per row, the error is a few float32 ulps.
    const kappa = conditioning(x, saved.rstd, C);
    const scale = kappa.map((k, r) => {
      let g = 0;
      for (let c = 0; c < C; c++) g = Math.max(g, Math.abs(dy[r * C + c] * gamma[c]));
      return k * saved.rstd[r] * g;
    });
    // The dy that matmulSplitKSum (no bias, no epilogue) stores, for the two dispatches this one replaces.
    const sum = await runOnce(
      matmulSplitKSum,
      { partial, bias: new Float32Array(4), c: size, aux: new Float32Array(4), ...noLora.sum },
      { M: rows, N: C, S, hasBias: 0, offC: 0, alpha, ...noLora.sumParams },
      { EPILOGUE: MATMUL_EPILOGUE.none },
    );
    for (const accumulate of [0, 1]) {
      const dx = accumulate ? prior : size;
      const got = await runOnce(
        layerNormBackwardSum,
        { partial, x, gamma, mean, rstd, dx, du: noLora.du, loraA: noLora.loraA },
        { rows, C, accumulate, S, alpha, ...noLoraParams },
        layerNormConstants(C),
      );
      const want = layerNormBackwardReference(dy, x, gamma, rows, C, eps, accumulate ? prior : undefined);
      const scaled = (v: ArrayLike<number>) => perRowScaled(v, scale, C);
      const what = `dx / (κ·rstd·max|g|), accumulate=${accumulate}`;
      expectAllClose(scaled(got.dx), scaled(want), { rtol: 1e-5, atol: 2e-6 }, what);
      const wide = await runOnce(
        layerNormBackwardSum,
        { partial, x, gamma, mean, rstd, dx, du: noLora.du, loraA: noLora.loraA },
        { rows, C, accumulate, S, alpha, ...noLoraParams },
        layerNormSumConstants(C, 1),
      );
      expectAllClose(scaled(wide.dx), scaled(want), { rtol: 1e-5, atol: 2e-6 }, `${what} (sum constants)`);
      const two = await runOnce(
        layerNormBackward,
        { dy: sum.c, x, gamma, mean, rstd, dx },
        { rows, C, accumulate },
        layerNormConstants(C),
      );
      expect(bits(got.dx), `bits, accumulate=${accumulate}`).toEqual(bits(two.dx));
    }
  });
});

describe('layerNormBackwardSum with LoRA’s du·A (LORA_R)', () => {
  // [runs, rows per run, C, S partials, r]: rows and C not multiples of the rows per workgroup or the
  // threads per row; C 4-aligned, as the product du·A it replaces needs (matmulWideVec4).
  const loraShapes: [number, number, number, number, number][] = [
    [3, 37, 68, 2, 4],
    [2, 50, 132, 1, 8],
  ];
  it.each(loraShapes)(
    'R=%i rows=%i C=%i S=%i r=%i: bit-identical to du·A as one more partial, and float64',
    async (R, perRun, C, S, r) => {
      const gpu = await testGpu();
      const rows = R * perRun;
      const size = rows * C;
      const seed = rows + C + S + r;
      const partial = randn((S + 1) * size, seed); // slot S: where the separate product writes du·A
      const { x, gamma, beta } = inputs(rows, C, seed + 1);
      const saved = layerNormForwardReference(x, gamma, beta, rows, C, eps);
      const mean = Float32Array.from(saved.mean);
      const rstd = Float32Array.from(saved.rstd);
      const du = randn(rows * r, seed + 2);
      // Run t's A [r, C] at offA + t·strideA, NaN between (a read outside shows).
      const [offA, strideA] = [4, r * C + 8];
      const loraA = new Float32Array(offA + R * strideA).fill(NaN);
      const values = randn(R * r * C, seed + 3, 0.5);
      for (let t = 0; t < R; t++) loraA.set(values.subarray(t * r * C, (t + 1) * r * C), offA + t * strideA);
      const prior = randn(size, seed + 4);
      const k = layerNormConstants(C);
      const b = (data: Float32Array, label: string) => gpu.buffer(data, label);
      const bufs = {
        partial: b(partial, 'partial'),
        x: b(x, 'x'),
        gamma: b(gamma, 'gamma'),
        mean: b(mean, 'mean'),
        rstd: b(rstd, 'rstd'),
        du: b(du, 'du'),
        loraA: b(loraA, 'loraA'),
      };
      const dxFolded = b(prior, 'dx folded');
      const dxPair = b(prior, 'dx pair');
      const lora = { du: bufs.du, loraA: bufs.loraA, r, offA, strideA, rowsPerRun: perRun };
      const folded = layerNormBackwardSumLora(bufs.partial, lora);
      const common = { rows, C, accumulate: 1, alpha: 1 };
      const none = layerNormBackwardSumLora(bufs.partial);
      await gpu.run('ln lora', [
        gpu.prepare(
          layerNormBackwardSum,
          { ...bufs, dx: dxFolded, ...folded.buffers },
          { ...common, S, ...folded.params },
          { ...k, ...folded.constants },
        ),
        // The pair it replaces: du·A (matmulWideVec4 NN, K = r, beta 0) into slot S, then S + 1 partials.
        gpu.prepare(
          matmulWideVec4,
          matmulBindings(gpu, { a: bufs.du, b: bufs.loraA, c: bufs.partial }),
          matmulParams({
            M: perRun,
            N: C,
            K: r,
            batch: R,
            strideA: perRun * r,
            offB: offA,
            strideB: strideA,
            offC: S * size,
            strideC: perRun * C,
          }),
          { WG_M: 8, WG_N: 8, TILE_K: 4, TRANS_A: 0, TRANS_B: 0 },
        ),
        gpu.prepare(
          layerNormBackwardSum,
          { ...bufs, dx: dxPair, ...none.buffers },
          { ...common, S: S + 1, ...none.params },
          { ...k, ...none.constants },
        ),
      ]);
      const got = await gpu.readF32(dxFolded, size);
      const pair = await gpu.readF32(dxPair, size);
      for (const buf of [...Object.values(bufs), dxFolded, dxPair]) buf.destroy();
      expect(bits(got), 'folded against the pair').toEqual(bits(pair));
      // float64: dy = Σ_s partial[s] + du·A_run.
      const dy = Float64Array.from({ length: size }, (_, i) => {
        const [row, c] = [Math.floor(i / C), i % C];
        let acc = 0;
        for (let s = 0; s < S; s++) acc += partial[s * size + i];
        const a = offA + Math.floor(row / perRun) * strideA + c;
        for (let j = 0; j < r; j++) acc += du[row * r + j] * loraA[a + j * C];
        return acc;
      });
      const want = layerNormBackwardReference(dy, x, gamma, rows, C, eps, prior);
      const kappa = conditioning(x, saved.rstd, C);
      const scale = kappa.map((kk, row) => {
        let g = 0;
        for (let c = 0; c < C; c++) g = Math.max(g, Math.abs(dy[row * C + c] * gamma[c]));
        return kk * saved.rstd[row] * g;
      });
      const scaled = (v: ArrayLike<number>) => perRowScaled(v, scale, C);
      expectAllClose(scaled(got), scaled(want), { rtol: 1e-5, atol: 2e-6 }, 'dx / (κ·rstd·max|g|)');
    },
  );
});

describe('layerNormConstants', () => {
  it('covers each row with 4 to 256 threads of at most 32 elements; 8 rows per workgroup at 256 and 768', () => {
    for (let C = 1; C <= 8192; C += C < 100 ? 1 : 37) {
      const { TPR, EPT } = layerNormConstants(C);
      expect(TPR * EPT).toBeGreaterThanOrEqual(C);
      expect(EPT).toBeLessThanOrEqual(32);
      expect([4, 8, 16, 32, 64, 128, 256]).toContain(TPR);
    }
    expect(layerNormConstants(256)).toEqual({ WG: 256, TPR: 32, EPT: 8 });
    expect(layerNormConstants(768)).toEqual({ WG: 256, TPR: 32, EPT: 24 });
    expect(layerNormConstants(8192)).toEqual({ WG: 256, TPR: 256, EPT: 32 });
    expect(() => layerNormConstants(8193)).toThrow(/C ≤ 8192/);
  });

  it('layerNormSumConstants: below 512 workgroups up to 128 threads of at least 2 elements, never fewer threads than layerNormConstants', () => {
    for (let C = 1; C <= 8192; C += C < 100 ? 1 : 37) {
      const k = layerNormSumConstants(C, 1);
      expect(k.TPR * k.EPT).toBeGreaterThanOrEqual(C);
      expect(k.EPT).toBeLessThanOrEqual(32);
      expect(k.TPR).toBeGreaterThanOrEqual(layerNormConstants(C).TPR);
      expect([4, 8, 16, 32, 64, 128, 256]).toContain(k.TPR);
    }
    // lab-gpt at R = 1 (1,024 rows: 128 workgroups of 8 rows) and R = 8 (8,192 rows: 1,024 workgroups).
    expect(layerNormSumConstants(256, 1024)).toEqual({ WG: 256, TPR: 128, EPT: 2 });
    expect(layerNormSumConstants(256, 8192)).toEqual(layerNormConstants(256));
    expect(layerNormSumConstants(768, 2048)).toEqual({ WG: 256, TPR: 128, EPT: 6 });
  });

  it('refuses constants that do not cover the row', () => {
    const p = { rows: 4, C: 100, eps };
    expect(() => layerNormForward.workgroups(p, { WG: 256, TPR: 4, EPT: 24 })).toThrow(/do not cover/);
    expect(() => layerNormForward.workgroups(p, { WG: 256, TPR: 48, EPT: 4 })).toThrow(/no workgroup/);
    expect(() => layerNormForward.workgroups(p, { WG: 64, TPR: 128, EPT: 1 })).toThrow(/no workgroup/);
    expect(layerNormForward.workgroups(p, { WG: 256, TPR: 4, EPT: 25 })).toEqual([1, 1, 1]);
    expect(layerNormForward.workgroups({ rows: 8 * 65536, C: 256, eps }, layerNormConstants(256))).toEqual([
      65535, 2, 1,
    ]);
  });
});
