import { describe, expect, it } from 'vitest';
import {
  loraBackwardSteps,
  loraForwardSteps,
  loraReference,
  prepareLoraSteps,
  type LoraBufferName,
  type LoraShape,
  type LoraStep,
} from './lora';
import { gemmTolerance } from './matmul';
import { randn } from '../util/random';
import { testGpu } from '../test/gpu';
import { expectAllClose } from '../test/close';

type Arrays = Record<LoraBufferName, Float32Array>;

/**
 * `n` random values per run at off + t·stride, NaN around them and in a tail: stands for the other
 * adapters of a concatenated buffer, so a read outside this adapter (a diverged run's NaN) shows.
 */
function adapterBuffer(R: number, off: number, stride: number, n: number, seed: number, scale: number) {
  const values = randn(off + R * stride + 8, seed, scale);
  const out = new Float32Array(values.length).fill(NaN);
  for (let t = 0; t < R; t++)
    out.set(values.subarray(off + t * stride, off + t * stride + n), off + t * stride);
  return out;
}

/** Random inputs for a shape; loraA / loraB / gradA / gradB sized for the shape's offsets and strides. */
function inputs(shape: LoraShape, seed: number, gradFill = 0): Arrays {
  const { R, rows, inDim, outDim, r } = shape;
  const [offA, strideA] = [shape.offA ?? 0, shape.strideA ?? r * inDim];
  const [offB, strideB] = [shape.offB ?? 0, shape.strideB ?? outDim * r];
  const loraA = adapterBuffer(R, offA, strideA, r * inDim, seed + 2, 1 / Math.sqrt(inDim));
  const loraB = adapterBuffer(R, offB, strideB, outDim * r, seed + 3, 1 / Math.sqrt(r));
  return {
    x: randn(R * rows * inDim, seed),
    y: randn(R * rows * outDim, seed + 1),
    u: new Float32Array(R * rows * r).fill(NaN),
    loraA,
    loraB,
    dy: randn(R * rows * outDim, seed + 4),
    du: new Float32Array(R * rows * r).fill(NaN),
    dx: randn(R * rows * inDim, seed + 5),
    gradA: new Float32Array(loraA.length).fill(gradFill),
    gradB: new Float32Array(loraB.length).fill(gradFill),
  };
}

/** Run the steps in one submission over fresh buffers holding `data`; read every buffer back. */
async function run(steps: LoraStep[], data: Arrays): Promise<Arrays> {
  const gpu = await testGpu();
  const names = Object.keys(data) as LoraBufferName[];
  const buffers = {} as Record<LoraBufferName, GPUBuffer>;
  for (const n of names) buffers[n] = gpu.buffer(data[n], n);
  await gpu.run('lora', prepareLoraSteps(gpu, steps, buffers));
  const out = {} as Arrays;
  for (const n of names) {
    out[n] = await gpu.readF32(buffers[n], data[n].length);
    buffers[n].destroy();
  }
  return out;
}

/** The packed [R, n] slices of a concatenated [R, stride] buffer, starting at `off`. */
function slices(buf: Float32Array, R: number, off: number, stride: number, n: number): Float32Array {
  const out = new Float32Array(R * n);
  for (let t = 0; t < R; t++) out.set(buf.subarray(off + t * stride, off + t * stride + n), t * n);
  return out;
}

/**
 * Each output is checked with the GEMM tolerance (matmul.ts: 1e-5·√K relative to the output's scale),
 * K being the longest chain of float32 sums behind it: u sums `in` terms; y adds r more on top of u;
 * dB sums rows on top of u; du sums out; dA sums rows on top of du; dx sums r on top of du.
 */
function expectMatchesReference(
  shape: LoraShape,
  data: Arrays,
  got: Arrays,
  what: string,
  backward: boolean,
): void {
  const { R, rows, inDim, outDim, r } = shape;
  const ref = loraReference(shape, data.x, data.loraA, data.loraB, data.dy, data.y, data.dx);
  expectAllClose(got.u, ref.u, gemmTolerance(ref.u, inDim), `${what} u`);
  expectAllClose(got.y, ref.y, gemmTolerance(ref.y, inDim + r), `${what} y`);
  if (!backward) return;
  const offA = shape.offA ?? 0;
  const offB = shape.offB ?? 0;
  const gA = slices(got.gradA, R, offA, shape.strideA ?? r * inDim, r * inDim);
  const gB = slices(got.gradB, R, offB, shape.strideB ?? outDim * r, outDim * r);
  expectAllClose(gB, ref.gradB, gemmTolerance(ref.gradB, rows + inDim), `${what} dB`);
  expectAllClose(got.du, ref.du, gemmTolerance(ref.du, outDim), `${what} du`);
  expectAllClose(gA, ref.gradA, gemmTolerance(ref.gradA, rows + outDim), `${what} dA`);
  expectAllClose(got.dx, ref.dx, gemmTolerance(ref.dx, outDim + r), `${what} dx`);
}

describe('lora', () => {
  // [R, rows, in, out, r]: every R, rows, in, out and r of the brief, none a multiple of the tiles.
  const shapes: [number, number, number, number, number][] = [
    [1, 5, 8, 33, 1],
    [3, 37, 33, 8, 4],
    [3, 5, 96, 96, 64],
    [1, 37, 96, 33, 64],
    [3, 37, 8, 96, 1],
    [1, 5, 33, 8, 4],
  ];

  it.each(shapes)(
    'R=%i rows=%i in=%i out=%i r=%i: plain, fused, reference',
    async (R, rows, inDim, outDim, r) => {
      const shape: LoraShape = { R, rows, inDim, outDim, r, scale: 16 / r };
      const data = inputs(shape, R * 1000 + rows * 10 + r);
      const plain = await run([...loraForwardSteps(shape), ...loraBackwardSteps(shape)], data);
      expectMatchesReference(shape, data, plain, 'plain', true);
      const fused = await run(loraForwardSteps(shape, { fused: true }), data);
      expectMatchesReference(shape, data, fused, 'fused', false);
      // Fused and plain agree with each other as closely as each agrees with float64.
      expectAllClose(fused.u, plain.u, gemmTolerance(plain.u, inDim), 'fused vs plain u');
      expectAllClose(fused.y, plain.y, gemmTolerance(plain.y, inDim + r), 'fused vs plain y');
    },
  );

  it.each([false, true])(
    'adapters at an offset inside concatenated loraA/loraB (fused forward: %s)',
    async (fused) => {
      // One run's slice holds other adapters before and after this one: SA > r·in, SB > out·r.
      const [R, rows, inDim, outDim, r] = [3, 37, 33, 20, 4];
      const shape: LoraShape = {
        R,
        rows,
        inDim,
        outDim,
        r,
        scale: 0.5,
        offA: 29,
        strideA: r * inDim + 61,
        offB: 13,
        strideB: outDim * r + 35,
      };
      // NaN everywhere in gradA/gradB: what lies outside this adapter must stay NaN, the rest be written.
      const data = inputs(shape, 42, NaN);
      const got = await run([...loraForwardSteps(shape, { fused }), ...loraBackwardSteps(shape)], data);
      expectMatchesReference(shape, data, got, 'offset', true);
      const isInside = (i: number, off: number, stride: number, n: number) =>
        i >= off && (i - off) % stride < n && i < off + R * stride;
      got.gradA.forEach((v, i) => {
        expect(Number.isNaN(v), `gradA[${i}]`).toBe(!isInside(i, 29, shape.strideA!, r * inDim));
      });
      got.gradB.forEach((v, i) => {
        expect(Number.isNaN(v), `gradB[${i}]`).toBe(!isInside(i, 13, shape.strideB!, outDim * r));
      });
    },
  );

  it('accumulateGrads adds to the gradients already there', async () => {
    const shape: LoraShape = { R: 3, rows: 13, inDim: 10, outDim: 7, r: 3, scale: 2, accumulateGrads: true };
    const data = inputs(shape, 9, 0.25);
    const got = await run([...loraForwardSteps(shape), ...loraBackwardSteps(shape)], data);
    const ref = loraReference(shape, data.x, data.loraA, data.loraB, data.dy, data.y, data.dx);
    const wantA = ref.gradA.map((v) => v + 0.25);
    const wantB = ref.gradB.map((v) => v + 0.25);
    const gA = got.gradA.subarray(0, wantA.length);
    const gB = got.gradB.subarray(0, wantB.length);
    expectAllClose(gA, wantA, gemmTolerance(wantA, 20), 'dA accumulated');
    expectAllClose(gB, wantB, gemmTolerance(wantB, 20), 'dB accumulated');
  });

  it('fused forward refuses r > 64', () => {
    expect(() =>
      loraForwardSteps({ R: 1, rows: 1, inDim: 1, outDim: 1, r: 65, scale: 1 }, { fused: true }),
    ).toThrow(/r <= 64/);
  });

  it('reference gradients match finite differences of L = Σ dy ⊙ y', () => {
    const shape: LoraShape = { R: 2, rows: 3, inDim: 4, outDim: 5, r: 2, scale: 1.5 };
    const d = inputs(shape, 5);
    const x = Float64Array.from(d.x);
    const A = Float64Array.from(d.loraA);
    const B = Float64Array.from(d.loraB);
    const zeros = (n: number) => new Float64Array(n);
    const loss = () => {
      const y = loraReference(shape, x, A, B, d.dy, zeros(d.y.length), zeros(d.dx.length)).y;
      return y.reduce((acc, v, i) => acc + v * d.dy[i], 0);
    };
    const ref = loraReference(shape, x, A, B, d.dy, zeros(d.y.length), zeros(d.dx.length));
    const h = 1e-6;
    const fd = (arr: Float64Array, i: number) => {
      const keep = arr[i];
      arr[i] = keep + h;
      const up = loss();
      arr[i] = keep - h;
      const down = loss();
      arr[i] = keep;
      return (up - down) / (2 * h);
    };
    const tol = { rtol: 1e-6, atol: 1e-7 };
    // Finite differences over this adapter's elements only (the NaN tail is not part of it).
    const fdAll = (arr: Float64Array, n: number) => Float64Array.from({ length: n }, (_, i) => fd(arr, i));
    expectAllClose(ref.gradA, fdAll(A, ref.gradA.length), tol, 'dA vs finite differences');
    expectAllClose(ref.gradB, fdAll(B, ref.gradB.length), tol, 'dB vs finite differences');
    expectAllClose(ref.dx, fdAll(x, x.length), tol, 'dx vs finite differences');
  });
});
