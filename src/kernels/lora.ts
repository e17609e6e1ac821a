// LoRA of one adapted matrix for every run of a sweep, as kernel steps a model prepares once and encodes
// every step. Layouts (src/kernels/README.md): x [R, rows, in], y [R, rows, out], u [R, rows, r];
// A [r, in] of run t at offA + t·strideA inside loraA, B [out, r] at offB + t·strideB inside loraB;
// gradients gradA / gradB share those layouts. s = alpha / r.
//   forward:  u = x Aᵀ;  y += s · u Bᵀ
//   backward: dB = s · dyᵀ u;  du = s · dy B;  dA = duᵀ x;  dx += du A
import source from '../../shaders/lora.wgsl?raw';
import { defineKernel } from '../gpu/kernel';
import type { Dispatch, Gpu } from '../gpu/context';
import { matmul, matmulParams, type MatmulConstants, type MatmulParams } from './matmul';

/** Largest rank the fused forward holds in workgroup memory (the project's LoRA ranks are 1..64). */
export const LORA_FUSED_MAX_RANK = 64;
/** TR of shaders/lora.wgsl (a const there: it sizes per-thread register arrays). */
const FUSED_ROWS_PER_WORKGROUP = 32;

export const loraForward = defineKernel({
  label: 'loraForward',
  source,
  bindings: { x: 'read', A: 'read', B: 'read', y: 'write', u: 'write' },
  params: {
    R: 'u32',
    rows: 'u32',
    inDim: 'u32',
    outDim: 'u32',
    r: 'u32',
    scale: 'f32',
    offA: 'u32',
    strideA: 'u32',
    offB: 'u32',
    strideB: 'u32',
  },
  workgroups: ({ R, rows }) => [Math.ceil(rows / FUSED_ROWS_PER_WORKGROUP), 1, Math.min(R, 65535)],
});

export type LoraForwardParams = Record<(typeof loraForward.paramNames)[number], number>;

export interface LoraShape {
  /** Runs of the sweep. */
  R: number;
  /** Rows of x per run (Bt·T). */
  rows: number;
  inDim: number;
  outDim: number;
  r: number;
  /** s = alpha / r. */
  scale: number;
  /** Offset of run 0's A in loraA (and gradA); default 0. */
  offA?: number;
  /** Elements between runs in loraA (SA); default r·in (one adapter alone). */
  strideA?: number;
  offB?: number;
  /** Elements between runs in loraB (SB); default out·r. */
  strideB?: number;
  /** dA += / dB += instead of =, for gradient accumulation over micro-batches. */
  accumulateGrads?: boolean;
}

/** The logical buffers the steps read and write; the caller maps each to a GPUBuffer. */
export type LoraBufferName =
  | 'x' // [R, rows, in]
  | 'y' // [R, rows, out]
  | 'u' // [R, rows, r]  forward's x Aᵀ, kept for the backward
  | 'loraA'
  | 'loraB'
  | 'dy' // [R, rows, out]
  | 'du' // [R, rows, r]  scratch of the backward
  | 'dx' // [R, rows, in]
  | 'gradA'
  | 'gradB';

export interface MatmulStep {
  kind: 'matmul';
  label: string;
  buffers: Record<(typeof matmul.bindingNames)[number], LoraBufferName>;
  params: MatmulParams;
  constants: MatmulConstants;
}

export interface FusedForwardStep {
  kind: 'loraForward';
  label: string;
  buffers: Record<(typeof loraForward.bindingNames)[number], LoraBufferName>;
  params: LoraForwardParams;
}

export type LoraStep = MatmulStep | FusedForwardStep;

function resolved(s: LoraShape): Required<LoraShape> {
  for (const k of ['R', 'rows', 'inDim', 'outDim', 'r'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1)
      throw new Error(`LoRA shape: ${k}=${s[k]} must be a positive integer`);
  }
  return {
    offA: 0,
    strideA: s.r * s.inDim,
    offB: 0,
    strideB: s.outDim * s.r,
    accumulateGrads: false,
    ...s,
  };
}

/** C[t] = alpha · op(a) op(b) + beta · C, batched over runs; bias is unused (bound to `a`, read-only). */
function mm(
  label: string,
  a: LoraBufferName,
  b: LoraBufferName,
  c: LoraBufferName,
  constants: MatmulConstants,
  p: Pick<MatmulParams, 'M' | 'N' | 'K' | 'batch'> & Partial<MatmulParams>,
): MatmulStep {
  return { kind: 'matmul', label, buffers: { a, b, bias: a, c }, params: matmulParams(p), constants };
}

const NT: MatmulConstants = { TRANS_A: 0, TRANS_B: 1 };
const NN: MatmulConstants = { TRANS_A: 0, TRANS_B: 0 };
const TN: MatmulConstants = { TRANS_A: 1, TRANS_B: 0 };

/**
 * Forward steps: u = x Aᵀ, then y += s · u Bᵀ. With `fused` (r ≤ 64), both in one loraForward dispatch.
 */
export function loraForwardSteps(shape: LoraShape, opts: { fused?: boolean } = {}): LoraStep[] {
  const s = resolved(shape);
  const { R, rows, inDim, outDim, r } = s;
  if (opts.fused) {
    if (r > LORA_FUSED_MAX_RANK) throw new Error(`fused LoRA forward supports r <= 64 (got ${r})`);
    return [
      {
        kind: 'loraForward',
        label: 'lora.forward',
        buffers: { x: 'x', A: 'loraA', B: 'loraB', y: 'y', u: 'u' },
        params: {
          R,
          rows,
          inDim,
          outDim,
          r,
          scale: s.scale,
          offA: s.offA,
          strideA: s.strideA,
          offB: s.offB,
          strideB: s.strideB,
        },
      },
    ];
  }
  return [
    mm('lora.u', 'x', 'loraA', 'u', NT, {
      M: rows,
      N: r,
      K: inDim,
      batch: R,
      offB: s.offA,
      strideB: s.strideA,
    }),
    mm('lora.y', 'u', 'loraB', 'y', NT, {
      M: rows,
      N: outDim,
      K: r,
      batch: R,
      offB: s.offB,
      strideB: s.strideB,
      alpha: s.scale,
      beta: 1,
    }),
  ];
}

/** Backward steps given dy and the forward's u: gradB, du (scratch), gradA, then dx += du A. */
export function loraBackwardSteps(shape: LoraShape): LoraStep[] {
  const s = resolved(shape);
  const { R, rows, inDim, outDim, r } = s;
  const gradBeta = s.accumulateGrads ? 1 : 0;
  return [
    // dB [out, r] = s · dyᵀ [out, rows] · u [rows, r]
    mm('lora.dB', 'dy', 'u', 'gradB', TN, {
      M: outDim,
      N: r,
      K: rows,
      batch: R,
      offC: s.offB,
      strideC: s.strideB,
      alpha: s.scale,
      beta: gradBeta,
    }),
    // du [rows, r] = s · dy [rows, out] · B [out, r]
    mm('lora.du', 'dy', 'loraB', 'du', NN, {
      M: rows,
      N: r,
      K: outDim,
      batch: R,
      offB: s.offB,
      strideB: s.strideB,
      alpha: s.scale,
    }),
    // dA [r, in] = duᵀ [r, rows] · x [rows, in]
    mm('lora.dA', 'du', 'x', 'gradA', TN, {
      M: r,
      N: inDim,
      K: rows,
      batch: R,
      offC: s.offA,
      strideC: s.strideA,
      beta: gradBeta,
    }),
    // dx [rows, in] += du [rows, r] · A [r, in]
    mm('lora.dx', 'du', 'loraA', 'dx', NN, {
      M: rows,
      N: inDim,
      K: r,
      batch: R,
      offB: s.offA,
      strideB: s.strideA,
      beta: 1,
    }),
  ];
}

/** Bind steps to buffers once (setup time); encode the returned dispatches every training step. */
export function prepareLoraSteps(
  gpu: Gpu,
  steps: readonly LoraStep[],
  buffers: Partial<Record<LoraBufferName, GPUBuffer>>,
): Dispatch[] {
  const get = (name: LoraBufferName, step: string): GPUBuffer => {
    const b = buffers[name];
    if (!b) throw new Error(`LoRA step ${step}: no buffer given for '${name}'`);
    return b;
  };
  return steps.map((step) => {
    if (step.kind === 'matmul') {
      const { a, b, bias, c } = step.buffers;
      const bound = {
        a: get(a, step.label),
        b: get(b, step.label),
        bias: get(bias, step.label),
        c: get(c, step.label),
      };
      return gpu.prepare(matmul, bound, step.params, { ...step.constants });
    }
    const { x, A, B, y, u } = step.buffers;
    const bound = {
      x: get(x, step.label),
      A: get(A, step.label),
      B: get(B, step.label),
      y: get(y, step.label),
      u: get(u, step.label),
    };
    return gpu.prepare(loraForward, bound, step.params);
  });
}

export interface LoraReference {
  u: Float64Array; // [R, rows, r]
  y: Float64Array; // [R, rows, out]: y0 + s · u Bᵀ
  gradA: Float64Array; // [R, r, in]
  gradB: Float64Array; // [R, out, r]
  du: Float64Array; // [R, rows, r]
  dx: Float64Array; // [R, rows, in]: dx0 + du A
}

/**
 * Float64 reference of the forward and the backward, used only by tests. A and B are read from the
 * concatenated loraA / loraB at the shape's offsets and strides; the gradients come back packed.
 */
export function loraReference(
  shape: LoraShape,
  x: ArrayLike<number>,
  loraA: ArrayLike<number>,
  loraB: ArrayLike<number>,
  dy: ArrayLike<number>,
  y0: ArrayLike<number>,
  dx0: ArrayLike<number>,
): LoraReference {
  const s = resolved(shape);
  const { R, rows, inDim: I, outDim: O, r } = s;
  const sc = Math.fround(s.scale);
  const ref: LoraReference = {
    u: new Float64Array(R * rows * r),
    y: Float64Array.from(y0),
    gradA: new Float64Array(R * r * I),
    gradB: new Float64Array(R * O * r),
    du: new Float64Array(R * rows * r),
    dx: Float64Array.from(dx0),
  };
  for (let t = 0; t < R; t++) {
    const A = (j: number, i: number) => loraA[s.offA + t * s.strideA + j * I + i];
    const B = (o: number, j: number) => loraB[s.offB + t * s.strideB + o * r + j];
    const X = (n: number, i: number) => x[(t * rows + n) * I + i];
    const DY = (n: number, o: number) => dy[(t * rows + n) * O + o];
    const U = (n: number, j: number) => ref.u[(t * rows + n) * r + j];
    const DU = (n: number, j: number) => ref.du[(t * rows + n) * r + j];
    for (let n = 0; n < rows; n++) {
      for (let j = 0; j < r; j++) {
        let acc = 0;
        for (let i = 0; i < I; i++) acc += X(n, i) * A(j, i);
        ref.u[(t * rows + n) * r + j] = acc;
        let d = 0;
        for (let o = 0; o < O; o++) d += DY(n, o) * B(o, j);
        ref.du[(t * rows + n) * r + j] = sc * d;
      }
      for (let o = 0; o < O; o++) {
        let acc = 0;
        for (let j = 0; j < r; j++) acc += U(n, j) * B(o, j);
        ref.y[(t * rows + n) * O + o] += sc * acc;
      }
      for (let i = 0; i < I; i++) {
        let acc = 0;
        for (let j = 0; j < r; j++) acc += DU(n, j) * A(j, i);
        ref.dx[(t * rows + n) * I + i] += acc;
      }
    }
    for (let j = 0; j < r; j++) {
      for (let o = 0; o < O; o++) {
        let acc = 0;
        for (let n = 0; n < rows; n++) acc += DY(n, o) * U(n, j);
        ref.gradB[(t * O + o) * r + j] = sc * acc;
      }
      for (let i = 0; i < I; i++) {
        let acc = 0;
        for (let n = 0; n < rows; n++) acc += DU(n, j) * X(n, i);
        ref.gradA[(t * r + j) * I + i] = acc;
      }
    }
  }
  return ref;
}
