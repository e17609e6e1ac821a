// LoRA of one adapted matrix for every run of a sweep, as the model runs it: dispatches prepared once and
// encoded every step. Layouts (src/kernels/README.md): x [R, rows, in], y [R, rows, out], u [R, rows, r];
// A [r, in] of run t at offA + t·strideA inside loraA, B [out, r] at offB + t·strideB inside loraB;
// gradients gradA / gradB share those layouts. s = alpha / r.
//   forward:  u = x Aᵀ;  y += s · u Bᵀ (or folded into the base product's store: loraFold)
//   backward: dB = s · dyᵀ u;  du = s · dy B;  dA = duᵀ x;  dx += du A
// The product that completes y (forward) or dx (backward) may end in a matmul epilogue (`LoraEpilogue`:
// gelu, residual add, gelu gradient), applied to the whole sum base + LoRA, as the unfused kernel was.
// The skinny products (u, du: an output [rows, r]; dA, dB: a sum over all rows of a run) take the
// dedicated kernels of lora-skinny.ts when r ≤ LORA_SKINNY_MAX_R (`loraSkinny`). Otherwise they are general
// matmuls, dB and dA as `splits` partial products over equal row chunks (a batched matmul with R·splits
// items, enough workgroups to fill the GPU), then summed (split-K).
import type { Dispatch, Gpu } from '../gpu/context';
import {
  LORA_SKINNY_MAX_R,
  loraBackwardPair,
  loraBackwardPairConstants,
  loraBackwardPairParams,
  loraBackwardTriple,
  loraBackwardTripleConstants,
  loraBackwardTripleParams,
  loraReduce,
  loraReduceConstants,
  loraRows,
  loraRowsConstants,
  type LoraReduceParams,
} from './lora-skinny';
import { prepareMatmul, type MatmulEpilogue, type MatmulLora } from './matmul';
import { sumSplits } from './splitk';

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
  /** Offset of run 0's A in loraA (and gradA). */
  offA: number;
  /** Elements between runs in loraA (SA). */
  strideA: number;
  offB: number;
  /** Elements between runs in loraB (SB). */
  strideB: number;
  /** Row chunks of the split-K weight gradients (splitCount(rows)); must divide rows. Unused when skinny. */
  splits: number;
  /** Whether the skinny products take lora-skinny.ts's kernels; default: when r ≤ LORA_SKINNY_MAX_R. */
  skinny?: boolean;
}

/** Whether this shape's skinny products take the dedicated kernels (else matmul and split-K). */
export const loraSkinny = (s: LoraShape): boolean => s.skinny ?? s.r <= LORA_SKINNY_MAX_R;

export interface LoraForwardBuffers {
  x: GPUBuffer;
  loraA: GPUBuffer;
  loraB: GPUBuffer;
  /** [R, rows, r]: x Aᵀ, kept for the backward. */
  u: GPUBuffer;
  /** [R, rows, out]: the base layer's output, to which s · u Bᵀ is added. */
  y: GPUBuffer;
}

export interface LoraBackwardBuffers {
  x: GPUBuffer;
  loraA: GPUBuffer;
  loraB: GPUBuffer;
  u: GPUBuffer;
  dy: GPUBuffer;
  /** [R, rows, r] scratch. */
  du: GPUBuffer;
  /**
   * [R, rows, in]: the base layer's input gradient, to which du A is added; or, with `dxOffset`, a buffer
   * into which du A is written (beta 0) from float dxOffset on: a partial product a consumer sums with the
   * base product's own (the LayerNorm backward below, gpu-model.ts linearLnBackward).
   */
  dx: GPUBuffer;
  dxOffset?: number;
  gradA: GPUBuffer;
  gradB: GPUBuffer;
  /** [R·splits, max(out, in)·r] partial products of the split-K sums (unused when skinny). */
  splitScratch: GPUBuffer;
}

/** A matmul epilogue and its aux buffer (laid out as y, or dx), fused into the module's last product. */
export interface LoraEpilogue {
  epilogue: MatmulEpilogue;
  aux: GPUBuffer;
}

/** Elements of `splitScratch` a shape needs (none on the skinny kernels). */
export const loraSplitScratch = (s: LoraShape): number =>
  loraSkinny(s) ? 0 : s.R * s.splits * Math.max(s.inDim, s.outDim) * s.r;

/**
 * u = x Aᵀ (loraRows, or the 4×4 matmul when not skinny), then y += s · u Bᵀ, then the epilogue `end` on
 * the sum, when given.
 */
export function prepareLoraForward(
  gpu: Gpu,
  b: LoraForwardBuffers,
  s: LoraShape,
  end?: LoraEpilogue,
): Dispatch[] {
  return [
    prepareLoraDown(gpu, b, s),
    prepareMatmul(
      gpu,
      { a: b.u, b: b.loraB, c: b.y, aux: end?.aux },
      loraUpParams(s),
      { TRANS_B: 1 },
      end?.epilogue,
    ),
  ];
}

/** y += s · u Bᵀ_run as one batched product over the runs (TRANS_B): prepareLoraForward's second dispatch. */
export function loraUpParams(
  s: Pick<LoraShape, 'R' | 'rows' | 'outDim' | 'r' | 'offB' | 'strideB' | 'scale'>,
) {
  const { R, rows: n, outDim, r } = s;
  return {
    M: n,
    N: outDim,
    K: r,
    batch: R,
    strideA: n * r,
    offB: s.offB,
    strideB: s.strideB,
    strideC: n * outDim,
    alpha: s.scale,
    beta: 1,
  };
}

/**
 * Whether the model folds LoRA's products into others where it can: the up-projection into the base
 * product's store (`loraFold`), du·A into the LayerNorm backward below (layerNormBackwardSum's LORA_R). On
 * unless the bench's `--lora-fold off` turned it off for the whole process (to time whole steps both ways).
 */
let forwardFold = true;
export function setLoraFold(on: boolean): void {
  forwardFold = on;
}
export const loraFoldOn = (): boolean => forwardFold;

/**
 * Whether the skinny backward runs dB and du as one dispatch (loraBackwardPair) where one can hold both and the
 * rows of all runs are at most LORA_PAIR_MAX_ROWS: on unless the bench's `--lora-pair off` turned it off for the
 * whole process.
 */
let pair = true;
/**
 * On the H200 (bench/RESULTS.md, 2026-12-01 04:45 UTC, call 5) the pair made lab-gpt's step at R = 1 (1,024
 * rows) 1.5 % faster, and at R = 8, 16, 64 (8,192 rows and more) 0.1–0.5 % slower: one dispatch fewer pays while
 * the two products are too small to fill the GPU apart.
 */
export const LORA_PAIR_MAX_ROWS = 4096;
export function setLoraPair(on: boolean): void {
  pair = on;
}

/**
 * Whether a module's dA = duᵀ x rides in the next adapted module's pair (loraBackwardTriple) rather than taking
 * a loraReduce dispatch of its own, where a `LoraChain` is given: on unless the bench's `--lora-chain off`
 * turned it off for the whole process (issue 16: the dispatches of a step at R = 1).
 */
let chainA = true;
export function setLoraChain(on: boolean): void {
  chainA = on;
}

/** A module's dA = duᵀ x (loraReduce, TRANS_OUT 0) not yet dispatched: p = du, x, out = gradA. */
export interface LoraPendingA {
  du: GPUBuffer;
  x: GPUBuffer;
  gradA: GPUBuffer;
  params: LoraReduceParams;
}

/**
 * The backward's modules in order, for prepareLoraBackward: `pending` is the dA the last one left for the next
 * pair (null: none). Whoever holds the chain dispatches what is left at its end (prepareLoraReduceA).
 */
export interface LoraChain {
  pending: LoraPendingA | null;
}

/** A pending dA as its own loraReduce dispatch. */
export function prepareLoraReduceA(gpu: Gpu, a: LoraPendingA): Dispatch {
  return gpu.prepare(
    loraReduce,
    { p: a.du, x: a.x, out: a.gradA },
    a.params,
    loraReduceConstants(a.params, 0),
  );
}

/**
 * LoRA's up-projection y += s · u Bᵀ as the base product's store does it (`prepareMatmul`'s `lora`, where
 * `matmulLoraFoldable`): the same float32 as prepareLoraForward's second product, one dispatch fewer.
 */
export function loraFold(b: Pick<LoraForwardBuffers, 'u' | 'loraB'>, s: LoraShape): MatmulLora {
  return {
    u: b.u,
    B: b.loraB,
    r: s.r,
    scale: s.scale,
    offB: s.offB,
    strideB: s.strideB,
    rowsPerRun: s.rows,
  };
}

/** u = x Aᵀ [R, rows, r] (loraRows, or the 4×4 matmul when not skinny): the down-projection alone. */
export function prepareLoraDown(
  gpu: Gpu,
  b: Pick<LoraForwardBuffers, 'x' | 'loraA' | 'u'>,
  s: LoraShape,
): Dispatch {
  const { R, rows: n, inDim, r } = s;
  return loraSkinny(s)
    ? gpu.prepare(
        loraRows,
        { x: b.x, w: b.loraA, out: b.u },
        { R, rows: n, K: inDim, r, offW: s.offA, strideW: s.strideA, alpha: 1 },
        loraRowsConstants(r, 0),
      )
    : prepareMatmul(
        gpu,
        { a: b.x, b: b.loraA, c: b.u },
        {
          M: n,
          N: r,
          K: inDim,
          batch: R,
          strideA: n * inDim,
          offB: s.offA,
          strideB: s.strideA,
          strideC: n * r,
        },
        { TRANS_B: 1 },
      );
}

/**
 * Given dy and the forward's u: gradB, du, gradA (written, not accumulated), then dx += du A and the
 * epilogue `end` on that sum, when given. `withDx: false` leaves dx out (nothing upstream needs it: the
 * lowest adapted module of the model); `end` must then be absent.
 */
export function prepareLoraBackward(
  gpu: Gpu,
  b: LoraBackwardBuffers,
  s: LoraShape,
  end?: LoraEpilogue,
  withDx = true,
  chain?: LoraChain,
): Dispatch[] {
  const { R, rows: n, inDim, outDim, r } = s;
  if (!withDx && end) throw new Error('prepareLoraBackward: an epilogue needs dx');
  // The previous module's dA, where this module cannot take it into its pair: dispatched first, on its own.
  const carried = chainA ? (chain?.pending ?? null) : null;
  if (chain) chain.pending = null;
  if (b.dxOffset !== undefined && end) throw new Error('prepareLoraBackward: an epilogue needs dx itself');
  // dx += du A   [n, in] (or, with dxOffset, du A alone at that offset)
  const dxProduct = (): Dispatch =>
    prepareMatmul(
      gpu,
      { a: b.du, b: b.loraA, c: b.dx, aux: end?.aux },
      {
        M: n,
        N: inDim,
        K: r,
        batch: R,
        strideA: n * r,
        offB: s.offA,
        strideB: s.strideA,
        offC: b.dxOffset ?? 0,
        strideC: n * inDim,
        beta: b.dxOffset === undefined ? 1 : 0,
      },
      {},
      end?.epilogue,
    );
  const tail = withDx ? [dxProduct()] : [];
  const alone = carried ? [prepareLoraReduceA(gpu, carried)] : [];
  if (!loraSkinny(s)) return [...alone, ...skinnyAsMatmuls(gpu, b, s), ...tail];
  // The weight gradients' loraReduce parameters: the split of its constants depends on them.
  const pB = { R, rows: n, C: outDim, r, offOut: s.offB, strideOut: s.strideB, alpha: s.scale };
  const pA = { R, rows: n, C: inDim, r, offOut: s.offA, strideOut: s.strideA, alpha: 1 };
  const pU = { R, rows: n, K: outDim, r, offW: s.offB, strideW: s.strideB, alpha: s.scale };
  const storage = gpu.device.limits.maxComputeWorkgroupStorageSize;
  const both = pair && R * n <= LORA_PAIR_MAX_ROWS ? loraBackwardPairConstants(pB, pU, storage) : null;
  // With the previous module's dA as a third role, where its du is another buffer than this one's.
  const three =
    both && carried && carried.du !== b.du
      ? loraBackwardTripleConstants(pB, pU, carried.params, storage)
      : null;
  // dB = s · dyᵀ u   [out, r], and du = s · dy B   [n, r]: one dispatch where it holds both.
  const dBdu = three
    ? [
        gpu.prepare(
          loraBackwardTriple,
          {
            u: b.u,
            dy: b.dy,
            gradB: b.gradB,
            loraB: b.loraB,
            du: b.du,
            duA: carried!.du,
            xA: carried!.x,
            gradA: carried!.gradA,
          },
          loraBackwardTripleParams(pB, pU, carried!.params),
          three,
        ),
      ]
    : both
      ? [
          gpu.prepare(
            loraBackwardPair,
            { u: b.u, dy: b.dy, gradB: b.gradB, loraB: b.loraB, du: b.du },
            loraBackwardPairParams(pB, pU),
            both,
          ),
        ]
      : [
          gpu.prepare(loraReduce, { p: b.u, x: b.dy, out: b.gradB }, pB, loraReduceConstants(pB, 1)),
          gpu.prepare(loraRows, { x: b.dy, w: b.loraB, out: b.du }, pU, loraRowsConstants(r, 1)),
        ];
  // dA = duᵀ x   [r, in]: left for the next module's pair where a chain is given (the module's dispatches then
  // end with its pair and dx's product; without a pair the next module dispatches it first, and whoever holds the
  // chain dispatches the last one: the sweep with its loss guard, loraReduceGuard), else its own dispatch.
  const own: LoraPendingA = { du: b.du, x: b.x, gradA: b.gradA, params: pA };
  const deferred = chainA && chain !== undefined;
  if (deferred) chain.pending = own;
  return [...(three ? [] : alone), ...dBdu, ...(deferred ? [] : [prepareLoraReduceA(gpu, own)]), ...tail];
}

/** gradB, du and gradA through the general matmul, the weight gradients split-K over `splits` row chunks. */
function skinnyAsMatmuls(gpu: Gpu, b: LoraBackwardBuffers, s: LoraShape): Dispatch[] {
  const { R, rows: n, inDim, outDim, r, splits: S } = s;
  if (n % S !== 0) throw new Error(`LoRA backward: ${S} splits do not divide ${n} rows`);
  const c = n / S;
  const sum = (out: GPUBuffer, size: number, offOut: number, strideOut: number, alpha: number) =>
    gpu.prepare(sumSplits, { partial: b.splitScratch, out }, { R, S, n: size, offOut, strideOut, alpha });
  return [
    // dB = s · dyᵀ u   [out, r]: S partial products over row chunks, then their sum
    prepareMatmul(
      gpu,
      { a: b.dy, b: b.u, c: b.splitScratch },
      { M: outDim, N: r, K: c, batch: R * S, strideA: c * outDim, strideB: c * r, strideC: outDim * r },
      { TRANS_A: 1 },
    ),
    sum(b.gradB, outDim * r, s.offB, s.strideB, s.scale),
    // du = s · dy B   [n, r]
    prepareMatmul(
      gpu,
      { a: b.dy, b: b.loraB, c: b.du },
      {
        M: n,
        N: r,
        K: outDim,
        batch: R,
        strideA: n * outDim,
        offB: s.offB,
        strideB: s.strideB,
        strideC: n * r,
        alpha: s.scale,
      },
    ),
    // dA = duᵀ x   [r, in], split-K as dB
    prepareMatmul(
      gpu,
      { a: b.du, b: b.x, c: b.splitScratch },
      { M: r, N: inDim, K: c, batch: R * S, strideA: c * r, strideB: c * inDim, strideC: r * inDim },
      { TRANS_A: 1 },
    ),
    sum(b.gradA, r * inDim, s.offA, s.strideA, 1),
  ];
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
  const s = shape;
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
