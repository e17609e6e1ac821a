// The skinny LoRA products (lora-skinny.ts) at a training step's shapes: each is checked on the device
// against the float64 reference before it is timed, and timed beside the matmul path it replaces (the
// 4×4 matmul, and for the weight gradients its split-K partial products plus the sum). A failing check
// is logged and its timing skipped: a wrong kernel's time means nothing.
import type { Dispatch, Gpu } from '../src/gpu/context';
import {
  loraReduce,
  loraReduceConstants,
  loraReduceReference,
  loraRows,
  loraRowsConstants,
  loraRowsReference,
} from '../src/kernels/lora-skinny';
import { gemmTolerance, prepareMatmul } from '../src/kernels/matmul';
import { splitCount, sumSplits } from '../src/kernels/splitk';
import { randn } from '../src/util/random';

export type LoraProduct = 'u' | 'du' | 'dA' | 'dB';

/**
 * One skinny product of an adapter [in → out] at rank r: `rows` kernel (out [rows, r], reducing over
 * `wide`) or `reduce` kernel (out [r, wide] or [wide, r], reducing over the rows).
 */
export interface LoraProductShape {
  product: LoraProduct;
  what: string;
  kind: 'rows' | 'reduce';
  /** K of loraRows, C of loraReduce. */
  wide: number;
  /** TRANS_W of loraRows, TRANS_OUT of loraReduce. */
  trans: 0 | 1;
}

/** The four skinny products of an adapted module in → out (c_attn: in C, out 3C). */
export function loraProductShapes(inDim: number, outDim: number): LoraProductShape[] {
  return [
    { product: 'u', what: 'u = x Aᵀ', kind: 'rows', wide: inDim, trans: 0 },
    { product: 'du', what: 'du = s dy B', kind: 'rows', wide: outDim, trans: 1 },
    { product: 'dA', what: 'dA = duᵀ x', kind: 'reduce', wide: inDim, trans: 0 },
    { product: 'dB', what: 'dB = s dyᵀ u', kind: 'reduce', wide: outDim, trans: 1 },
  ];
}

/** The constants the product's kernel takes at R runs of `rows` rows, for the log (e.g. "R1: COLS 2 R4 1"). */
export function loraProductSplit(s: LoraProductShape, R: number, rows: number, r: number): string {
  const k =
    s.kind === 'rows'
      ? loraRowsConstants(r, s.trans)
      : loraReduceConstants({ R, rows, C: s.wide, r }, s.trans);
  const shown = Object.entries(k).filter(([name]) => !name.startsWith('TRANS'));
  return `R${R}: ${shown.map(([name, v]) => `${name} ${v}`).join(' ')}`;
}

/** Runs and rows per run of the check: not multiples of any tile, a reference cheap on the host. */
const CHECK_R = 3;
const CHECK_ROWS = 130;

/**
 * Runs the product's kernel at CHECK_R runs of CHECK_ROWS rows (the step's `wide` and r, and for
 * loraReduce the override constants its picker gives the timed R runs of `rows` rows: the same code path)
 * against the float64 reference with the unit tests' GEMM tolerance. Returns the worst error in units
 * of the tolerance (≤ 1 passes).
 */
export async function checkLoraProduct(
  gpu: Gpu,
  s: LoraProductShape,
  r: number,
  timed: { R: number; rows: number },
): Promise<number> {
  const [R, rows, wide] = [CHECK_R, CHECK_ROWS, s.wide];
  const x = randn(R * rows * wide, 21);
  let got: Float32Array;
  let want: Float64Array;
  let K: number;
  if (s.kind === 'rows') {
    const p = { R, rows, K: wide, r, offW: 0, strideW: r * wide, alpha: 0.5 };
    const w = randn(R * r * wide, 22, 0.5);
    const bufs = {
      x: gpu.buffer(x, 'check.x'),
      w: gpu.buffer(w, 'check.w'),
      out: gpu.buffer(R * rows * r * 4, 'check.out'),
    };
    await gpu.run('lora skinny check', [gpu.prepare(loraRows, bufs, p, loraRowsConstants(r, s.trans))]);
    got = await gpu.readF32(bufs.out, R * rows * r);
    for (const b of Object.values(bufs)) b.destroy();
    want = loraRowsReference(x, w, p, s.trans);
    K = wide;
  } else {
    const p = { R, rows, C: wide, r, offOut: 0, strideOut: r * wide, alpha: 0.5 };
    const pIn = randn(R * rows * r, 23);
    const bufs = {
      p: gpu.buffer(pIn, 'check.p'),
      x: gpu.buffer(x, 'check.x'),
      out: gpu.buffer(R * r * wide * 4, 'check.out'),
    };
    const k = loraReduceConstants({ ...timed, C: wide, r }, s.trans);
    await gpu.run('lora skinny check', [gpu.prepare(loraReduce, bufs, p, k)]);
    got = await gpu.readF32(bufs.out, R * r * wide);
    for (const b of Object.values(bufs)) b.destroy();
    want = loraReduceReference(pIn, x, new Float32Array(R * r * wide), p, s.trans);
    K = rows;
  }
  const { rtol, atol } = gemmTolerance(want, K);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i]));
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

/**
 * The skinny dispatch and the matmul path it replaces (as lora.ts ran it before: the 4×4 matmul, and
 * split-K over splitCount(rows) chunks plus the sum for the weight gradients), for R runs of `rows` rows
 * on the given buffers (contents irrelevant; sized by `loraProductBufferSizes`); for loraReduce, also
 * its widest split (`wholeColumns`) when loraReduceConstants picked another.
 */
export function loraProductDispatches(
  gpu: Gpu,
  s: LoraProductShape,
  R: number,
  rows: number,
  r: number,
  buf: { x: GPUBuffer; small: GPUBuffer; out: GPUBuffer; scratch: GPUBuffer },
): { skinny: Dispatch[]; matmul: Dispatch[]; wholeColumns?: Dispatch[] } {
  const { wide } = s;
  if (s.kind === 'rows') {
    const p = { R, rows, K: wide, r, offW: 0, strideW: r * wide, alpha: 1 };
    const skinny = gpu.prepare(
      loraRows,
      { x: buf.x, w: buf.small, out: buf.out },
      p,
      loraRowsConstants(r, s.trans),
    );
    // u = x Aᵀ: A [r, K] (TRANS_B); du = dy B: B [K, r].
    const matmul = prepareMatmul(
      gpu,
      { a: buf.x, b: buf.small, c: buf.out },
      { M: rows, N: r, K: wide, batch: R, strideA: rows * wide, strideB: r * wide, strideC: rows * r },
      { TRANS_B: s.trans === 0 ? 1 : 0 },
    );
    return { skinny: [skinny], matmul: [matmul] };
  }
  const p = { R, rows, C: wide, r, offOut: 0, strideOut: r * wide, alpha: 1 };
  const skinny = gpu.prepare(
    loraReduce,
    { p: buf.small, x: buf.x, out: buf.out },
    p,
    loraReduceConstants(p, s.trans),
  );
  const S = splitCount(rows);
  const c = rows / S;
  // dA = duᵀ x: M = r, N = in (a = du, b = x); dB = dyᵀ u: M = out, N = r (a = dy, b = u).
  const partial =
    s.trans === 0
      ? prepareMatmul(
          gpu,
          { a: buf.small, b: buf.x, c: buf.scratch },
          { M: r, N: wide, K: c, batch: R * S, strideA: c * r, strideB: c * wide, strideC: r * wide },
          { TRANS_A: 1 },
        )
      : prepareMatmul(
          gpu,
          { a: buf.x, b: buf.small, c: buf.scratch },
          { M: wide, N: r, K: c, batch: R * S, strideA: c * wide, strideB: c * r, strideC: wide * r },
          { TRANS_A: 1 },
        );
  const sum = gpu.prepare(
    sumSplits,
    { partial: buf.scratch, out: buf.out },
    { R, S, n: wide * r, offOut: 0, strideOut: wide * r, alpha: 1 },
  );
  // loraReduce with its widest split (32 columns, all of r, 8 row lanes: the mapping before the picker),
  // for comparison when the picker narrowed it.
  const picked = loraReduceConstants(p, s.trans);
  const widest = { TRANS_OUT: s.trans, COLS: 32, R4: Math.ceil(r / 4) };
  const wholeColumns =
    picked.COLS === widest.COLS && picked.R4 === widest.R4
      ? undefined
      : [gpu.prepare(loraReduce, { p: buf.small, x: buf.x, out: buf.out }, p, widest)];
  return { skinny: [skinny], matmul: [partial, sum], wholeColumns };
}

/** Elements of the buffers `loraProductDispatches` binds. */
export function loraProductBufferSizes(
  s: LoraProductShape,
  R: number,
  rows: number,
  r: number,
): { x: number; small: number; out: number; scratch: number } {
  const { wide } = s;
  return {
    x: R * rows * wide,
    small: s.kind === 'rows' ? R * r * wide : R * rows * r,
    out: s.kind === 'rows' ? R * rows * r : R * r * wide,
    scratch: s.kind === 'rows' ? 1 : R * splitCount(rows) * r * wide,
  };
}
