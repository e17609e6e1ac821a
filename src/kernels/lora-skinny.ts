// The skinny LoRA products, batched over runs (issue 16): the products whose output has r ≤ 64 rows or
// columns, which the general matmul runs on 64-wide tiles mostly wasted (see the shaders' headers).
//   loraRows:   out [R, rows, r] = alpha · x W_tᵀ   (u = x Aᵀ; du = s · dy B)
//   loraReduce: G_t [r, C] or [C, r] = alpha · p_tᵀ x_t, summed over all rows   (dA = duᵀ x; dB = s · dyᵀ u)
import reduceSource from '../../shaders/lora-reduce.wgsl?raw';
import rowsSource from '../../shaders/lora-rows.wgsl?raw';
import { defineKernel, foldedGrid } from '../gpu/kernel';

/** The largest r the skinny kernels take (their per-thread accumulators: 16 vec4). */
export const LORA_SKINNY_MAX_R = 64;

/** Rows of one run per workgroup of `loraRows` (ROWS in lora-rows.wgsl). */
const ROWS_PER_GROUP = 8;
/** Columns per workgroup of `loraReduce` (COLS in lora-reduce.wgsl). */
const COLS_PER_GROUP = 32;

export const loraRows = defineKernel({
  label: 'loraRows',
  source: rowsSource,
  bindings: { x: 'read', w: 'read', out: 'write' },
  params: { R: 'u32', rows: 'u32', K: 'u32', r: 'u32', offW: 'u32', strideW: 'u32', alpha: 'f32' },
  constants: { TRANS_W: 0, R4: 1, KSTEP: 1 },
  // x (and y past 65535) over row blocks, z over the runs.
  workgroups: ({ R, rows }) => {
    const [x, y] = foldedGrid(Math.ceil(rows / ROWS_PER_GROUP));
    return [x, y, R];
  },
});

export const loraReduce = defineKernel({
  label: 'loraReduce',
  source: reduceSource,
  bindings: { p: 'read', x: 'read', out: 'write' },
  params: { R: 'u32', rows: 'u32', C: 'u32', r: 'u32', offOut: 'u32', strideOut: 'u32', alpha: 'f32' },
  constants: { TRANS_OUT: 0, R4: 1 },
  workgroups: ({ R, C }) => {
    const [x, y] = foldedGrid(Math.ceil(C / COLS_PER_GROUP));
    return [x, y, R];
  },
});

function checkR(r: number): number {
  if (!Number.isInteger(r) || r < 1 || r > LORA_SKINNY_MAX_R) {
    throw new Error(`skinny LoRA kernels take 1 ≤ r ≤ ${LORA_SKINNY_MAX_R}, not ${r}`);
  }
  return Math.ceil(r / 4);
}

/**
 * Override constants of `loraRows` for rank r: R4 accumulators, and as many k per lane per staged tile
 * as keep the tile of W at 16 vec4 per lane (8 KiB), at most 8.
 */
export function loraRowsConstants(r: number, transW: 0 | 1): Record<string, number> {
  const R4 = checkR(r);
  return { TRANS_W: transW, R4, KSTEP: Math.max(1, Math.min(8, Math.floor(16 / R4))) };
}

export function loraReduceConstants(r: number, transOut: 0 | 1): Record<string, number> {
  return { TRANS_OUT: transOut, R4: checkR(r) };
}

export interface LoraRowsParams {
  R: number;
  rows: number;
  K: number;
  r: number;
  offW: number;
  strideW: number;
  alpha: number;
}

export interface LoraReduceParams {
  R: number;
  rows: number;
  C: number;
  r: number;
  offOut: number;
  strideOut: number;
  alpha: number;
}

/** Float64 reference of `loraRows`, used only by tests: out [R, rows, r]. */
export function loraRowsReference(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  p: LoraRowsParams,
  transW: 0 | 1,
): Float64Array {
  const { R, rows, K, r } = p;
  const out = new Float64Array(R * rows * r);
  const alpha = Math.fround(p.alpha);
  for (let t = 0; t < R; t++) {
    const base = p.offW + t * p.strideW;
    for (let n = 0; n < rows; n++) {
      for (let j = 0; j < r; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          acc += x[(t * rows + n) * K + k] * w[transW ? base + k * r + j : base + j * K + k];
        }
        out[(t * rows + n) * r + j] = alpha * acc;
      }
    }
  }
  return out;
}

/**
 * Float64 reference of `loraReduce`, used only by tests: a copy of `out` with each run's gradient
 * written at offOut + t·strideOut ([r, C] or, transOut, [C, r]); the rest kept.
 */
export function loraReduceReference(
  pIn: ArrayLike<number>,
  x: ArrayLike<number>,
  out: ArrayLike<number>,
  p: LoraReduceParams,
  transOut: 0 | 1,
): Float64Array {
  const { R, rows, C, r } = p;
  const res = Float64Array.from(out);
  const alpha = Math.fround(p.alpha);
  for (let t = 0; t < R; t++) {
    const base = p.offOut + t * p.strideOut;
    for (let j = 0; j < r; j++) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let n = 0; n < rows; n++) acc += pIn[(t * rows + n) * r + j] * x[(t * rows + n) * C + c];
        res[transOut ? base + c * r + j : base + j * C + c] = alpha * acc;
      }
    }
  }
  return res;
}
