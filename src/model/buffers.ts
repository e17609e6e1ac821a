// Buffers of lab-gpt on the GPU for R runs in lockstep: frozen weights (one copy shared by the runs, plus the
// four projections transposed for the backward), LoRA state [R, ...], and the activations a step saves for its
// backward (named after what they hold, as llm.c).
import type { Gpu } from '../gpu/context';
import type { AttentionVariant } from '../kernels/attention-variant';
import type { LabGptConfig, Weights } from './config';
import type { LoraLayout } from './lora-layout';

export interface StepShape {
  R: number;
  Bt: number;
  T: number;
}

export interface LayerWeights {
  ln1g: GPUBuffer;
  ln1b: GPUBuffer;
  attnW: GPUBuffer; // [C, 3C]
  attnB: GPUBuffer;
  projW: GPUBuffer; // [C, C]
  projB: GPUBuffer;
  ln2g: GPUBuffer;
  ln2b: GPUBuffer;
  fcW: GPUBuffer; // [C, 4C]
  fcB: GPUBuffer;
  mprojW: GPUBuffer; // [4C, C]
  mprojB: GPUBuffer;
  /**
   * The four projection weights transposed ([out, in]; `setTransposedWeights`), or null: the backward's
   * dx = dy·Wᵀ then reads Wᵀ along its rows (an NN product) instead of W across them (NT), whose staging
   * transposes each vec4 into four workgroup-memory stores (issue 16). The weights are frozen, so the copies
   * are made once, at upload.
   */
  transposed: { attnW: GPUBuffer; projW: GPUBuffer; fcW: GPUBuffer; mprojW: GPUBuffer } | null;
}

/** Vocabulary rows first .. first + rows − 1 of wte [V, C], in a buffer of their own: [rows, C]. */
export interface WtePiece {
  buffer: GPUBuffer;
  first: number;
  rows: number;
}

export interface BaseWeights {
  /** wte [V, C] in pieces of whole rows, each within the device's binding limits (one piece: all of it). */
  wte: WtePiece[];
  wpe: GPUBuffer; // [P, C]
  layers: LayerWeights[];
  lnfg: GPUBuffer;
  lnfb: GPUBuffer;
}

export interface LayerActs {
  ln1Out: GPUBuffer; // [rows, C]
  ln1Mean: GPUBuffer; // [rows]
  ln1Rstd: GPUBuffer;
  qkv: GPUBuffer; // [rows, 3C]
  attnOut: GPUBuffer; // [rows, C] heads merged, before c_proj
  resMid: GPUBuffer; // [rows, C] residual after attention
  ln2Out: GPUBuffer;
  ln2Mean: GPUBuffer;
  ln2Rstd: GPUBuffer;
  fcSlope: GPUBuffer; // [rows, 4C] gelu' at c_fc's output (the forward's epilogue keeps it for the backward)
  fcOut: GPUBuffer; // [rows, 4C] after gelu
  /** LoRA u = x·Aᵀ of each adapter of this layer, by target: [R, Bt·T, r]. */
  loraU: Map<string, GPUBuffer>;
}

export interface Activations {
  residual: GPUBuffer[]; // L+1 buffers [rows, C]: input of each layer, then the output of the last
  layers: LayerActs[];
  lnfOut: GPUBuffer;
  lnfMean: GPUBuffer;
  lnfRstd: GPUBuffer;
  logits: GPUBuffer; // [chunk rows, V] one chunk of the LM head (lmHeadChunkRows); dlogits in place after the loss
  rowLoss: GPUBuffer; // [R, Bt·T]
  // Backward
  dRes: GPUBuffer; // [rows, C] gradient of the residual stream
  dLn: GPUBuffer; // [rows, C] gradient at a LayerNorm output
  // [rows, 4C] gradient at the gelu input: the product giving the gelu output's gradient multiplies by
  // gelu' in its epilogue, so that gradient is never stored.
  dFcPre: GPUBuffer;
  dAttnOut: GPUBuffer; // [rows, C]
  dQkv: GPUBuffer; // [rows, 3C]
  dU: GPUBuffer; // [R, Bt·T, r]
  dU2: GPUBuffer; // [R, Bt·T, r]: du of every other adapted module in backward order (gpu-model.ts duOf)
  /**
   * [Bt·T, 3C] layer 0's base c_attn product, the same for every run (the runs share their batch and the
   * frozen weights): computed once and tiled into qkv of each run. Null at R = 1.
   */
  qkvShared: GPUBuffer | null;
  /** What the attention saves for its backward, and its backward scratch: by variant. */
  attention: AttentionActs;
}

/** Only the buffers of the variant the model runs are allocated (attention-variant.ts). */
export type AttentionActs =
  | {
      variant: 'fused';
      attnLse: GPUBuffer[]; // per layer [R·Bt, H, T]: logsumexp of each row (the backward recomputes P)
      dAttnDelta: GPUBuffer; // [R·Bt, H, T] backward scratch: rowsum(dO ⊙ O)
    }
  | {
      variant: 'passes';
      attnProbs: GPUBuffer[]; // per layer [R·Bt, H, T, T]
      attnStats: GPUBuffer[]; // per layer [R·Bt, H, T] × 2: each row's softmax (max, Σ exp)
      dScores: GPUBuffer; // [R·Bt, H, T, T] backward scratch
    }
  | {
      variant: 'passes-recompute';
      // [R·Bt, H, T, T], fewer than the layers (attentionProbsBuffers): the top layers' own, the lower layers
      // sharing the first, whose backwards recompute theirs where a later layer overwrote it (attentionProbsSlot)
      attnProbs: GPUBuffer[];
      attnStats: GPUBuffer[]; // [R·Bt, H, T] × 2, one beside each of attnProbs
      dScores: GPUBuffer; // [R·Bt, H, T, T] backward scratch
    };

export interface BatchInputs {
  tokens: GPUBuffer; // u32 [Bt, T]
  targets: GPUBuffer; // u32 [Bt, T]
  mask: GPUBuffer; // f32 [Bt, T]
}

export interface LoraState {
  A: GPUBuffer; // [R, SA]
  B: GPUBuffer; // [R, SB]
  dA: GPUBuffer;
  dB: GPUBuffer;
}

let transposedWeightsOn = true;
/**
 * Whether uploadWeights also keeps the projection weights transposed, for the backward's products (on by
 * default; the bench's `--weights-t off` measures without). Read at upload.
 */
export function setTransposedWeights(on: boolean): void {
  transposedWeightsOn = on;
}

/**
 * `w` [rows, cols] transposed to [cols, rows] (exact: a copy). A planning stand-in (not a Float32Array, only
 * its size matters: memory.ts) stands in for its transpose too.
 */
export function transposeWeight(w: Float32Array, rows: number, cols: number): Float32Array {
  if (!(w instanceof Float32Array)) return w;
  if (w.length !== rows * cols)
    throw new Error(`transposeWeight: ${w.length} floats are not ${rows} × ${cols}`);
  const t = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let j = 0; j < cols; j++) t[j * rows + i] = w[row + j];
  }
  return t;
}

/** `wtePieceBytes` (tests) bounds wte's pieces below the device's limits: wtePieceRows. */
export function uploadWeights(gpu: Gpu, cfg: LabGptConfig, w: Weights, wtePieceBytes?: number): BaseWeights {
  const data = (name: string): Float32Array => {
    const d = w.get(name);
    if (!d) throw new Error(`model weights: missing ${name}`);
    return d;
  };
  const get = (name: string): GPUBuffer => gpu.buffer(data(name), name);
  const C = cfg.n_embd;
  const getT = (name: string, rows: number, cols: number): GPUBuffer =>
    gpu.buffer(transposeWeight(data(name), rows, cols), `${name} transposed`);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.n_layer; i++) {
    const p = `transformer.h.${i}`;
    layers.push({
      ln1g: get(`${p}.ln_1.weight`),
      ln1b: get(`${p}.ln_1.bias`),
      attnW: get(`${p}.attn.c_attn.weight`),
      attnB: get(`${p}.attn.c_attn.bias`),
      projW: get(`${p}.attn.c_proj.weight`),
      projB: get(`${p}.attn.c_proj.bias`),
      ln2g: get(`${p}.ln_2.weight`),
      ln2b: get(`${p}.ln_2.bias`),
      fcW: get(`${p}.mlp.c_fc.weight`),
      fcB: get(`${p}.mlp.c_fc.bias`),
      mprojW: get(`${p}.mlp.c_proj.weight`),
      mprojB: get(`${p}.mlp.c_proj.bias`),
      transposed: transposedWeightsOn
        ? {
            attnW: getT(`${p}.attn.c_attn.weight`, C, 3 * C),
            projW: getT(`${p}.attn.c_proj.weight`, C, C),
            fcW: getT(`${p}.mlp.c_fc.weight`, C, 4 * C),
            mprojW: getT(`${p}.mlp.c_proj.weight`, 4 * C, C),
          }
        : null,
    });
  }
  const { vocab_size: V } = cfg;
  const wte = 'transformer.wte.weight';
  const pieces = wtePieces(V, wtePieceRows(V, C, gpu.device.limits, wtePieceBytes));
  return {
    wte: pieces.map(({ first, rows }) => ({
      buffer:
        pieces.length === 1
          ? get(wte)
          : gpu.buffer(data(wte).subarray(first * C, (first + rows) * C), `${wte}[${first}:${first + rows}]`),
      first,
      rows,
    })),
    wpe: get('transformer.wpe.weight'),
    layers,
    lnfg: get('transformer.ln_f.weight'),
    lnfb: get('transformer.ln_f.bias'),
  };
}

/**
 * Bytes one chunk of logits may take, below the device's binding limits: GPT-2's whole [R·Bt·T, 50257]
 * (3.3 GB at R = 8, Bt = 8, T = 256) is past any binding, so the LM head and the loss run chunk by chunk.
 * lab-gpt's byte vocabulary keeps one chunk up to R·Bt·T = 262,144 rows.
 */
export const LOGITS_CHUNK_BYTES = 256 * 1024 * 1024;

/** Rows of a full matmul tile: an automatic chunk is a multiple of it (when it is split at all). */
const CHUNK_ALIGN = 128;

/**
 * Rows per chunk of the LM head (logits = lnfOut · wteᵀ, the loss, dLn = dlogits · wte) for `rows` rows of a
 * vocabulary of V: all of them when [rows, V] floats fit LOGITS_CHUNK_BYTES and the device's
 * maxStorageBufferBindingSize / maxBufferSize, else the most that fit, in whole matmul tiles. `maxRows`
 * (tests) bounds it further, to any value: a chunk that does not divide the rows leaves a shorter last one.
 */
export function lmHeadChunkRows(
  rows: number,
  V: number,
  limits: Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>,
  maxRows?: number,
): number {
  const budget = Math.min(LOGITS_CHUNK_BYTES, limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  let n = Math.floor(budget / (4 * V));
  if (n < rows && n >= CHUNK_ALIGN) n -= n % CHUNK_ALIGN;
  if (maxRows !== undefined) n = Math.min(n, Math.floor(maxRows));
  return Math.max(1, Math.min(rows, n));
}

/** The chunks of rows the LM head runs: [first row, rows] each, in order. */
export function lmHeadChunks(rows: number, chunkRows: number): { start: number; rows: number }[] {
  const out: { start: number; rows: number }[] = [];
  for (let start = 0; start < rows; start += chunkRows)
    out.push({ start, rows: Math.min(chunkRows, rows - start) });
  return out;
}

/**
 * Vocabulary rows per piece of wte [V, C]: all V when they fit one binding (maxStorageBufferBindingSize and
 * maxBufferSize), else the most that fit, in whole matmul tiles. GPT-2's 154 MB wte is over WebGPU's default
 * binding limit of 128 MiB: 2 pieces there. `maxBytes` (tests) bounds a piece further.
 */
export function wtePieceRows(
  V: number,
  C: number,
  limits: Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>,
  maxBytes?: number,
): number {
  const budget = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, maxBytes ?? Infinity);
  let n = Math.floor(budget / (4 * C));
  if (n < V && n >= CHUNK_ALIGN) n -= n % CHUNK_ALIGN;
  return Math.max(1, Math.min(V, n));
}

/** The pieces of wte: [first vocabulary row, rows] each, in order. */
export function wtePieces(V: number, pieceRows: number): { first: number; rows: number }[] {
  return lmHeadChunks(V, pieceRows).map(({ start, rows }) => ({ first: start, rows }));
}

/**
 * `headRows`: rows of one chunk of the LM head's logits (lmHeadChunkRows); `probsBuffers`: the attention's
 * probability buffers for 'passes-recompute' (attentionProbsBuffers).
 */
export function allocateActivations(
  gpu: Gpu,
  cfg: LabGptConfig,
  layout: LoraLayout,
  s: StepShape,
  attention: AttentionVariant,
  headRows: number,
  probsBuffers = 1,
): Activations {
  const C = cfg.n_embd;
  const rows = s.R * s.Bt * s.T;
  const f = (n: number, label: string) => gpu.buffer(n * 4, label);
  const residual = Array.from({ length: cfg.n_layer + 1 }, (_, i) => f(rows * C, `residual${i}`));
  const layers: LayerActs[] = [];
  for (let l = 0; l < cfg.n_layer; l++) {
    const loraU = new Map<string, GPUBuffer>();
    for (const a of layout.adapters.filter((a) => a.layer === l))
      loraU.set(a.target, f(rows * layout.r, `loraU${l}.${a.target}`));
    layers.push({
      ln1Out: f(rows * C, `ln1Out${l}`),
      ln1Mean: f(rows, `ln1Mean${l}`),
      ln1Rstd: f(rows, `ln1Rstd${l}`),
      qkv: f(rows * 3 * C, `qkv${l}`),
      attnOut: f(rows * C, `attnOut${l}`),
      resMid: f(rows * C, `resMid${l}`),
      ln2Out: f(rows * C, `ln2Out${l}`),
      ln2Mean: f(rows, `ln2Mean${l}`),
      ln2Rstd: f(rows, `ln2Rstd${l}`),
      fcSlope: f(rows * 4 * C, `fcSlope${l}`),
      fcOut: f(rows * 4 * C, `fcOut${l}`),
      loraU,
    });
  }
  return {
    residual,
    layers,
    lnfOut: f(rows * C, 'lnfOut'),
    lnfMean: f(rows, 'lnfMean'),
    lnfRstd: f(rows, 'lnfRstd'),
    logits: f(headRows * cfg.vocab_size, 'logits'),
    rowLoss: f(rows, 'rowLoss'),
    dRes: f(rows * C, 'dRes'),
    dLn: f(rows * C, 'dLn'),
    dFcPre: f(rows * 4 * C, 'dFcPre'),
    dAttnOut: f(rows * C, 'dAttnOut'),
    dQkv: f(rows * 3 * C, 'dQkv'),
    dU: f(rows * layout.r, 'dU'),
    dU2: f(rows * layout.r, 'dU2'),
    qkvShared: s.R > 1 ? f(s.Bt * s.T * 3 * C, 'qkvShared') : null,
    attention: allocateAttention(cfg, s, attention, probsBuffers, f),
  };
}

function allocateAttention(
  cfg: LabGptConfig,
  s: StepShape,
  variant: AttentionVariant,
  probsBuffers: number,
  f: (n: number, label: string) => GPUBuffer,
): AttentionActs {
  const rowStats = s.R * s.Bt * cfg.n_head * s.T;
  const layers = Array.from({ length: cfg.n_layer }, (_, l) => l);
  if (variant === 'fused')
    return {
      variant,
      attnLse: layers.map((l) => f(rowStats, `attnLse${l}`)),
      dAttnDelta: f(rowStats, 'dAttnDelta'),
    };
  if (variant === 'passes-recompute') {
    const slots = Array.from({ length: probsBuffers }, (_, i) => i);
    return {
      variant,
      attnProbs: slots.map((i) => f(rowStats * s.T, `attnProbs${i}`)),
      attnStats: slots.map((i) => f(2 * rowStats, `attnStats${i}`)),
      dScores: f(rowStats * s.T, 'dScores'),
    };
  }
  return {
    variant,
    attnProbs: layers.map((l) => f(rowStats * s.T, `attnProbs${l}`)),
    attnStats: layers.map((l) => f(2 * rowStats, `attnStats${l}`)),
    dScores: f(rowStats * s.T, 'dScores'),
  };
}

export function destroyAll(x: unknown): void {
  if (x && typeof x === 'object') {
    if ('destroy' in x && typeof (x as GPUBuffer).destroy === 'function' && 'size' in x)
      (x as GPUBuffer).destroy();
    else for (const v of x instanceof Map ? x.values() : Object.values(x)) destroyAll(v);
  }
}
