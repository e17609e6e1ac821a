// LayerNorm forward (saving mean and rstd per row) and its input gradient (gamma, beta are frozen); each
// also as a variant that first completes its input (x, dy) from a split-K product's partial products.
import source from '../../shaders/layernorm.wgsl?raw';
import { defineKernel, foldedGrid } from '../gpu/kernel';

/** Threads per workgroup (WG in layernorm.wgsl, its default): WG / TPR rows of TPR threads each. */
const LN_THREADS = 256;
/** Elements of a row each thread holds in registers at most (MAX_EPT). */
const LN_MAX_EPT = 32;

/**
 * Override constants of the LayerNorm kernels for rows of C: workgroups of WG = 256 threads, TPR threads
 * per row, each holding EPT elements (TPR · EPT ≥ C). Rows up to 256 take up to 32 threads of 8
 * elements (C = 256: 8 rows per workgroup); rows up to 1,024 keep 32 threads with more registers each
 * (C = 768: 24), so a workgroup still takes 8 rows; wider, more threads per row, up to 256 (C ≤ 8,192).
 */
export function layerNormConstants(C: number): { WG: number; TPR: number; EPT: number } {
  if (!Number.isInteger(C) || C < 1 || C > LN_THREADS * LN_MAX_EPT) {
    throw new Error(`LayerNorm takes rows of 1 ≤ C ≤ ${LN_THREADS * LN_MAX_EPT}, not ${C}`);
  }
  const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(n));
  const TPR = C <= 32 * LN_MAX_EPT ? Math.min(32, Math.max(4, pow2(Math.ceil(C / 8)))) : pow2(C / LN_MAX_EPT);
  return { WG: LN_THREADS, TPR, EPT: Math.ceil(C / TPR) };
}

/**
 * Override constants of the Sum variants (layerNormForwardSum, layerNormBackwardSum) for `rows` rows of C:
 * each element first sums S partial products, so where layerNormConstants gives fewer than 512 workgroups
 * they take more threads per row, up to 128 with 2 or more elements each (C = 256: 128 threads of 2). On the
 * H200 (bench/RESULTS.md, 2026-11-30 22:00 UTC, call 5; GPU pass of lab-gpt's step): at 1,024 rows 1.621 ms
 * against 1.714 with layerNormConstants' 32 threads; at 8,192 rows the 32 threads were faster, 4.740 against
 * 4.870.
 */
export function layerNormSumConstants(C: number, rows: number): { WG: number; TPR: number; EPT: number } {
  const base = layerNormConstants(C);
  if (sumTprOverride !== null) {
    const TPR = Math.max(base.TPR, Math.min(LN_THREADS, sumTprOverride));
    return { WG: LN_THREADS, TPR, EPT: Math.ceil(C / TPR) };
  }
  if (Math.ceil(rows / (LN_THREADS / base.TPR)) >= 512) return base;
  const TPR = Math.max(base.TPR, Math.min(128, 2 ** Math.ceil(Math.log2(Math.ceil(C / 2)))));
  return { WG: LN_THREADS, TPR, EPT: Math.ceil(C / TPR) };
}

/**
 * Whether the model folds a split product's sum into the LayerNorm after it (the Sum variants): on unless
 * the bench's `--ln-fold off` turned it off for the whole process (to time whole steps both ways).
 */
let sumFold = true;

/**
 * Threads per row of the Sum variants for every shape (a power of two, at least layerNormConstants'), or null
 * for layerNormSumConstants' rule: the bench's `--ln-sum-tpr N`, to time whole steps each way.
 */
let sumTprOverride: number | null = null;
export function setLayerNormSumTpr(tpr: number | null): void {
  if (tpr !== null && (!Number.isInteger(Math.log2(tpr)) || tpr < 4 || tpr > LN_THREADS))
    throw new Error(`LayerNorm threads per row: a power of two from 4 to ${LN_THREADS}, not ${tpr}`);
  sumTprOverride = tpr;
}
export function setLayerNormSumFold(on: boolean): void {
  sumFold = on;
}
export const layerNormSumFold = (): boolean => sumFold;

/** Workgroups for `rows` rows of C, checking that the constants fit C. */
function rowGroups({ rows, C }: { rows: number; C: number }, { WG, TPR, EPT }: Record<string, number>) {
  const pow2 = (n: number) => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
  if (!pow2(WG) || WG > LN_THREADS || !pow2(TPR) || TPR < 4 || TPR > WG) {
    throw new Error(`LayerNorm: no workgroup of WG=${WG} threads in rows of TPR=${TPR}`);
  }
  if (!Number.isInteger(EPT) || EPT < 1 || EPT > LN_MAX_EPT || TPR * EPT < C) {
    throw new Error(`LayerNorm: TPR=${TPR} EPT=${EPT} do not cover rows of ${C} (layerNormConstants)`);
  }
  return foldedGrid(Math.ceil(rows / (WG / TPR)));
}

/**
 * y = (x − mean)·rstd·gamma + beta per row of C; mean and rstd [rows] are saved for the backward.
 * Takes the constants `layerNormConstants(C)`.
 */
export const layerNormForward = defineKernel({
  label: 'layerNormForward',
  source,
  entryPoint: 'forward',
  bindings: { x: 'read', gamma: 'read', beta: 'read', y: 'write', mean: 'write', rstd: 'write' },
  params: { rows: 'u32', C: 'u32', eps: 'f32' },
  constants: { WG: LN_THREADS, TPR: 32, EPT: 8 },
  workgroups: rowGroups,
});

/**
 * layerNormForward of x = wte[token] + wpe[position] (the embedding's float32 add), x written too: the
 * embedding and the first LayerNorm in one dispatch, the same bits as the two (issue 16). rows = R · perRun,
 * the runs reading the same tokens; wte whole (one piece). Nine storage buffers: layerNormSumFits. Takes the
 * constants `layerNormConstants(C)`.
 */
export const layerNormForwardEmbed = defineKernel({
  label: 'layerNormForwardEmbed',
  source,
  entryPoint: 'forwardEmbed',
  bindings: {
    tokens: 'read',
    wte: 'read',
    wpe: 'read',
    gamma: 'read',
    beta: 'read',
    x: 'write',
    y: 'write',
    mean: 'write',
    rstd: 'write',
  },
  params: { rows: 'u32', C: 'u32', eps: 'f32', perRun: 'u32', T: 'u32' },
  constants: { WG: LN_THREADS, TPR: 32, EPT: 8 },
  workgroups: rowGroups,
});

/**
 * Whether the model runs the embedding and the first LayerNorm as one dispatch (layerNormForwardEmbed) where
 * the device binds its storage buffers and wte is one piece: on unless the bench's `--ln-embed off` turned it
 * off for the whole process.
 */
let embedFold = true;
export function setLayerNormEmbed(on: boolean): void {
  embedFold = on;
}
export const layerNormEmbedOn = (): boolean => embedFold;

/**
 * layerNormForward of x = aux + (alpha · Σ_s partial[s] + bias), the residual add of a split-K product
 * whose sum it takes over from matmulSplitKSum (prepareMatmulSplitKPartials wrote partial [S, rows, C]):
 * x, the same float32 values as that sum with the residual epilogue would store, is written too (aux ≠ x).
 * Nine storage buffers: see layerNormSumFits. Takes the constants `layerNormConstants(C)`.
 */
export const layerNormForwardSum = defineKernel({
  label: 'layerNormForwardSum',
  source,
  entryPoint: 'forwardSum',
  bindings: {
    partial: 'read',
    bias: 'read',
    aux: 'read',
    gamma: 'read',
    beta: 'read',
    x: 'write',
    y: 'write',
    mean: 'write',
    rstd: 'write',
  },
  params: { rows: 'u32', C: 'u32', eps: 'f32', S: 'u32', hasBias: 'u32', alpha: 'f32' },
  constants: { WG: LN_THREADS, TPR: 32, EPT: 8 },
  paramConstants: { S: 'PARTS' },
  workgroups: rowGroups,
});

/**
 * Whether the device binds layerNormForwardSum's nine storage buffers to one shader: WebGPU guarantees
 * only eight (the device asks for the adapter's maximum, src/gpu/device.ts); where it cannot, the model
 * keeps matmulSplitKSum and layerNormForward.
 */
export const layerNormSumFits = (limits: GPUSupportedLimits): boolean =>
  limits.maxStorageBuffersPerShaderStage >= Object.keys(layerNormForwardSum.bindings).length;

/**
 * dx = ∂L/∂x of LayerNorm (written, or added to dx when accumulate = 1). Takes the constants
 * `layerNormConstants(C)`.
 */
export const layerNormBackward = defineKernel({
  label: 'layerNormBackward',
  source,
  entryPoint: 'backward',
  bindings: { dy: 'read', x: 'read', gamma: 'read', mean: 'read', rstd: 'read', dx: 'write' },
  params: { rows: 'u32', C: 'u32', accumulate: 'u32' },
  constants: { WG: LN_THREADS, TPR: 32, EPT: 8 },
  workgroups: rowGroups,
});

/**
 * layerNormBackward of dy = alpha · Σ_s partial[s], a split-K product without bias or epilogue whose sum it
 * takes over from matmulSplitKSum (prepareMatmulSplitKPartials wrote partial [S, rows, C]), the same float32
 * values as that sum would store; dy itself is not stored. S = 1 takes a whole product. With LORA_R > 0, dy
 * also has LoRA's du·A (`layerNormBackwardSumLora`). Takes the constants `layerNormConstants(C)`.
 */
export const layerNormBackwardSum = defineKernel({
  label: 'layerNormBackwardSum',
  source,
  entryPoint: 'backwardSum',
  bindings: {
    partial: 'read',
    x: 'read',
    gamma: 'read',
    mean: 'read',
    rstd: 'read',
    dx: 'write',
    // LORA_R > 0 (`LayerNormLora`); partial where unused.
    du: 'read',
    loraA: 'read',
  },
  params: {
    rows: 'u32',
    C: 'u32',
    accumulate: 'u32',
    S: 'u32',
    alpha: 'f32',
    loraOffA: 'u32',
    loraStrideA: 'u32',
    loraRows: 'u32',
  },
  constants: { WG: LN_THREADS, TPR: 32, EPT: 8, LORA_R: 0 },
  paramConstants: { S: 'PARTS' },
  workgroups: rowGroups,
});

/**
 * LoRA's du·A of an adapted module taken into layerNormBackwardSum's dy as a last term (LORA_R = r): du
 * [rows, r], run t's A [r, C] at offA + t·strideA of loraA, `rowsPerRun` rows a run. The same float32 as
 * the product du·A written into one more partial (prepareLoraBackward's dx product with dxOffset).
 */
export interface LayerNormLora {
  du: GPUBuffer;
  loraA: GPUBuffer;
  r: number;
  offA: number;
  strideA: number;
  rowsPerRun: number;
}

/** layerNormBackwardSum's bindings, params and constants for its LoRA term (none: unused, partial bound). */
export function layerNormBackwardSumLora(
  partial: GPUBuffer,
  lora?: LayerNormLora,
): {
  buffers: { du: GPUBuffer; loraA: GPUBuffer };
  params: { loraOffA: number; loraStrideA: number; loraRows: number };
  constants: { LORA_R: number };
} {
  return {
    buffers: { du: lora?.du ?? partial, loraA: lora?.loraA ?? partial },
    params: {
      loraOffA: lora?.offA ?? 0,
      loraStrideA: lora?.strideA ?? 0,
      loraRows: lora?.rowsPerRun ?? 1,
    },
    constants: { LORA_R: lora?.r ?? 0 },
  };
}

/** Float64 reference of the forward, used only by tests. */
export function layerNormForwardReference(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  rows: number,
  C: number,
  eps: number,
): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(rows * C);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[r * C + c];
    const m = s / C;
    let q = 0;
    for (let c = 0; c < C; c++) q += (x[r * C + c] - m) ** 2;
    const rs = 1 / Math.sqrt(q / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c] - m) * rs * gamma[c] + beta[c];
    mean[r] = m;
    rstd[r] = rs;
  }
  return { y, mean, rstd };
}

/**
 * Float64 reference of the input gradient, used only by tests. Recomputes mean and rstd from x; adds
 * to `dxIn` when given (accumulate = 1).
 */
export function layerNormBackwardReference(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  rows: number,
  C: number,
  eps: number,
  dxIn?: ArrayLike<number>,
): Float64Array {
  const { mean, rstd } = layerNormForwardReference(x, gamma, new Float64Array(C), rows, C, eps);
  const dx = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let mg = 0;
    let mgx = 0;
    for (let c = 0; c < C; c++) {
      const g = dy[r * C + c] * gamma[c];
      mg += g;
      mgx += g * (x[r * C + c] - mean[r]) * rstd[r];
    }
    mg /= C;
    mgx /= C;
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      const xhat = (x[i] - mean[r]) * rstd[r];
      dx[i] = rstd[r] * (dy[i] * gamma[c] - mg - xhat * mgx) + (dxIn ? dxIn[i] : 0);
    }
  }
  return dx;
}
