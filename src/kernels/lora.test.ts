import { describe, expect, it } from 'vitest';
import {
  loraReference,
  loraSplitScratch,
  prepareLoraBackward,
  prepareLoraForward,
  type LoraShape,
} from './lora';
import { gemmTolerance } from './matmul';
import { randn } from '../util/random';
import { testGpu } from '../test/gpu';
import { expectAllClose } from '../test/close';

type LoraBufferName = 'x' | 'y' | 'u' | 'loraA' | 'loraB' | 'dy' | 'du' | 'dx' | 'gradA' | 'gradB';
type Arrays = Record<LoraBufferName, Float32Array>;

/** A single adapter (offsets 0, strides of one adapter) unless given. */
function loraShape(
  s: Pick<LoraShape, 'R' | 'rows' | 'inDim' | 'outDim' | 'r' | 'scale'> & Partial<LoraShape>,
): LoraShape {
  return { offA: 0, strideA: s.r * s.inDim, offB: 0, strideB: s.outDim * s.r, splits: 1, ...s };
}

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
  const { offA, strideA, offB, strideB } = shape;
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

/** Forward and backward in one submission over fresh buffers holding `data`; read every buffer back. */
async function run(shape: LoraShape, data: Arrays): Promise<Arrays> {
  const gpu = await testGpu();
  const names = Object.keys(data) as LoraBufferName[];
  const buffers = {} as Record<LoraBufferName, GPUBuffer>;
  for (const n of names) buffers[n] = gpu.buffer(data[n], n);
  const splitScratch = gpu.buffer(loraSplitScratch(shape) * 4, 'splitScratch');
  const b = { ...buffers, splitScratch };
  await gpu.run('lora', [...prepareLoraForward(gpu, b, shape), ...prepareLoraBackward(gpu, b, shape)]);
  splitScratch.destroy();
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
function expectMatchesReference(shape: LoraShape, data: Arrays, got: Arrays, what: string): void {
  const { R, rows, inDim, outDim, r } = shape;
  const ref = loraReference(shape, data.x, data.loraA, data.loraB, data.dy, data.y, data.dx);
  expectAllClose(got.u, ref.u, gemmTolerance(ref.u, inDim), `${what} u`);
  expectAllClose(got.y, ref.y, gemmTolerance(ref.y, inDim + r), `${what} y`);
  const gA = slices(got.gradA, R, shape.offA, shape.strideA, r * inDim);
  const gB = slices(got.gradB, R, shape.offB, shape.strideB, outDim * r);
  expectAllClose(gB, ref.gradB, gemmTolerance(ref.gradB, rows + inDim), `${what} dB`);
  expectAllClose(got.du, ref.du, gemmTolerance(ref.du, outDim), `${what} du`);
  expectAllClose(gA, ref.gradA, gemmTolerance(ref.gradA, rows + outDim), `${what} dA`);
  expectAllClose(got.dx, ref.dx, gemmTolerance(ref.dx, outDim + r), `${what} dx`);
}

describe('lora', () => {
  // [R, rows, in, out, r, splits]: every R, rows, in, out and r of the brief, none a multiple of the
  // tiles; split-K over 1, 5 and 8 row chunks.
  const shapes: [number, number, number, number, number, number][] = [
    [1, 5, 8, 33, 1, 1],
    [3, 37, 33, 8, 4, 1],
    [3, 5, 96, 96, 64, 5],
    [1, 37, 96, 33, 64, 1],
    [3, 40, 8, 96, 1, 8],
    [1, 40, 33, 8, 4, 5],
  ];

  // Each on the skinny kernels (lora-skinny.ts) and on the general matmul with split-K.
  const both = shapes.flatMap((sh) => [[...sh, true] as const, [...sh, false] as const]);

  it.each(both)(
    'R=%i rows=%i in=%i out=%i r=%i splits=%i skinny=%s: forward and backward match float64',
    async (R, rows, inDim, outDim, r, splits, skinny) => {
      const shape = loraShape({ R, rows, inDim, outDim, r, scale: 16 / r, splits, skinny });
      const data = inputs(shape, R * 1000 + rows * 10 + r);
      expectMatchesReference(shape, data, await run(shape, data), 'lora');
    },
  );

  it.each([true, false])(
    'adapters at an offset inside concatenated loraA/loraB; gradients write only their own slice (skinny=%s)',
    async (skinny) => {
      // One run's slice holds other adapters before and after this one: SA > r·in, SB > out·r.
      const [R, rows, inDim, outDim, r] = [3, 36, 33, 20, 4];
      const shape = loraShape({
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
        splits: 4,
        skinny,
      });
      // NaN everywhere in gradA/gradB: what lies outside this adapter must stay NaN, the rest be written.
      const data = inputs(shape, 42, NaN);
      const got = await run(shape, data);
      expectMatchesReference(shape, data, got, 'offset');
      const isInside = (i: number, off: number, stride: number, n: number) =>
        i >= off && (i - off) % stride < n && i < off + R * stride;
      got.gradA.forEach((v, i) => {
        expect(Number.isNaN(v), `gradA[${i}]`).toBe(!isInside(i, 29, shape.strideA, r * inDim));
      });
      got.gradB.forEach((v, i) => {
        expect(Number.isNaN(v), `gradB[${i}]`).toBe(!isInside(i, 13, shape.strideB, outDim * r));
      });
    },
  );

  it.each([true, false])(
    'with dxOffset, du·A is written (beta 0) from that float on, and the floats before it stay (skinny=%s)',
    async (skinny) => {
      const [R, rows, inDim, outDim, r, off] = [2, 37, 33, 20, 4, 50];
      const shape = loraShape({ R, rows, inDim, outDim, r, scale: 0.5, splits: 1, skinny });
      const data = inputs(shape, 9);
      const gpu = await testGpu();
      const names = Object.keys(data) as LoraBufferName[];
      const buffers = {} as Record<LoraBufferName, GPUBuffer>;
      for (const n of names) if (n !== 'dx') buffers[n] = gpu.buffer(data[n], n);
      // The slot holds NaN (beta 0 must not read it); before it, values that must stay.
      const dxData = new Float32Array(off + R * rows * inDim).fill(NaN);
      dxData.fill(7, 0, off);
      buffers.dx = gpu.buffer(dxData, 'dx');
      const splitScratch = gpu.buffer(Math.max(1, loraSplitScratch(shape)) * 4, 'splitScratch');
      const b = { ...buffers, splitScratch, dxOffset: off };
      await gpu.run('lora', [...prepareLoraForward(gpu, b, shape), ...prepareLoraBackward(gpu, b, shape)]);
      const got = await gpu.readF32(buffers.dx, dxData.length);
      for (const buf of [...Object.values(buffers), splitScratch]) buf.destroy();
      // The reference adds du·A to the dx it is given: zeros give du·A alone.
      const zeros = new Float32Array(R * rows * inDim);
      const ref = loraReference(shape, data.x, data.loraA, data.loraB, data.dy, data.y, zeros);
      expect(Array.from(got.subarray(0, off))).toEqual(new Array(off).fill(7));
      expectAllClose(got.subarray(off), ref.dx, gemmTolerance(ref.dx, outDim + r), 'du·A at the offset');
    },
  );

  it('refuses an epilogue with dxOffset', async () => {
    const gpu = await testGpu();
    const shape = loraShape({ R: 1, rows: 4, inDim: 4, outDim: 4, r: 2, scale: 1 });
    const b = gpu.buffer(64, 'any');
    const bufs = { x: b, loraA: b, loraB: b, u: b, dy: b, du: b, dx: b, gradA: b, gradB: b, splitScratch: b };
    expect(() =>
      prepareLoraBackward(gpu, { ...bufs, dxOffset: 4 }, shape, { epilogue: 'geluGrad', aux: b }),
    ).toThrow(/an epilogue needs dx itself/);
    b.destroy();
  });

  it('on the matmul path, refuses splits that do not divide the rows', async () => {
    const gpu = await testGpu();
    const shape = loraShape({
      R: 1,
      rows: 10,
      inDim: 4,
      outDim: 4,
      r: 2,
      scale: 1,
      splits: 3,
      skinny: false,
    });
    const b = gpu.buffer(4, 'any');
    const bufs = { x: b, loraA: b, loraB: b, u: b, dy: b, du: b, dx: b, gradA: b, gradB: b, splitScratch: b };
    expect(() => prepareLoraBackward(gpu, bufs, shape)).toThrow(/3 splits do not divide 10 rows/);
    expect(() => prepareLoraBackward(gpu, bufs, { ...shape, skinny: true })).not.toThrow();
    b.destroy();
  });

  it('reference gradients match finite differences of L = Σ dy ⊙ y', () => {
    const shape = loraShape({ R: 2, rows: 3, inDim: 4, outDim: 5, r: 2, scale: 1.5 });
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
