// Batches of token windows for training and validation.
//
// A row is a window of T + 1 consecutive tokens: inputs = window[0..T), targets = window[1..T],
// mask[t] = dataset mask of the target token. The dataset's tokens (bytes, u16 or u32) are copied into
// u32 rows, the GPU's layout. The loss of a batch is Σ mask·nll / maskSum.
//
// Zero targets: a batch can have maskSum = 0 (e.g. prompt/completion data whose prompts are longer
// than T). The batcher never resamples (the sequential order is a fixed contract), so the caller must
// skip such a step entirely: no loss reported, no optimizer update. Dividing by max(maskSum, 1) would
// avoid the NaN but still take an AdamW step with a zero gradient (decaying moments and weights).
import { mulberry32 } from '../util/random';
import type { TokenizedDataset } from './dataset';
import { tokenUnit, type TokenUnit } from './tokenize';
import { DatasetError } from './errors';

export type BatchOrder = 'sequential' | 'shuffled';

export interface Batch {
  Bt: number;
  T: number;
  /** [Bt*T] input tokens, row-major by row. */
  tokens: Uint32Array;
  /** [Bt*T] next tokens (the prediction targets). */
  targets: Uint32Array;
  /** [Bt*T] 1 where the target counts in the loss, else 0. */
  mask: Float32Array;
  /** Σ mask; 0 means "skip this step" (see the file comment). */
  maskSum: number;
  /** [Bt] start of each row's window in the stream (-1 for a padding row). */
  starts: number[];
}

export interface BatchSchedule {
  Bt: number;
  T: number;
  order: BatchOrder;
  /** Seed of the shuffled order (ignored for sequential). */
  seed: number;
}

/**
 * Throws unless the training stream holds at least one window of T + 1 tokens with a start to draw
 * (N ≥ T + 2). A shorter stream is the dataset's fault (too few tokens), so it is a DatasetError naming
 * the file; bad batch or sequence sizes are settings, a plain Error. A stream shorter than Bt·T + 1 is
 * allowed: rows of one batch then overlap (the sequential order is a fixed contract, DESIGN.md §5).
 */
export function checkBatchable(ds: TokenizedDataset, Bt: number, T: number): void {
  if (!Number.isInteger(Bt) || Bt < 1) throw new Error(`batch size must be a positive integer (got ${Bt})`);
  if (!Number.isInteger(T) || T < 1) throw new Error(`sequence length must be a positive integer (got ${T})`);
  const N = ds.tokens.length;
  if (N < T + 2) {
    throw new DatasetError(
      ds.name,
      undefined,
      `${N} ${tokenUnit(ds)} of training data, but sequence length ${T} needs at least T + 2 = ${T + 2} tokens ` +
        '(one window of T + 1, and room to move it): lower the sequence length or add data',
    );
  }
}

/**
 * A warning when the training stream is shorter than one batch's worth of distinct tokens (Bt·T + 1): it
 * trains, but the rows of every batch overlap, which the user may not expect. Undefined otherwise.
 * `unit` is the dataset's (tokenUnit): bytes for the byte models.
 */
export function batchShortfall(
  name: string,
  N: number,
  Bt: number,
  T: number,
  unit: TokenUnit = 'bytes',
): string | undefined {
  const need = Bt * T + 1;
  if (N >= need) return undefined;
  return `${name}: ${N} ${unit} of training data are fewer than one batch needs without overlap (B·T + 1 = ${Bt}·${T} + 1 = ${need}); the rows of each batch overlap: lower the batch or sequence length, or add data`;
}

/** Windows start in [0, N − T − 1): the number of distinct starts. */
function startRange(N: number, T: number): number {
  return N - T - 1;
}

/**
 * The contract of `--order sequential` (DESIGN.md §5): row j of batch k starts at ((k·B + j)·T) mod (N − T − 1).
 * Exact for any k (BigInt: (k·B + j)·T can exceed 2^53 on a very long run).
 */
export function sequentialWindowStart(k: number, j: number, Bt: number, T: number, N: number): number {
  const M = BigInt(startRange(N, T));
  return Number(((BigInt(k) * BigInt(Bt) + BigInt(j)) * BigInt(T)) % M);
}

/**
 * Shuffled order: Bt starts drawn uniformly from [0, N − T − 1) (with replacement) by
 * mulberry32(batchSeed(seed, k)), so batch k depends only on (seed, k) and a run can resume at any batch.
 * Uniform exactly: 32-bit draws are rejected above the largest multiple of the range.
 */
export function shuffledWindowStarts(k: number, Bt: number, T: number, N: number, seed: number): number[] {
  const M = startRange(N, T);
  const rand = mulberry32(batchSeed(seed, k));
  const limit = M * Math.floor(0x1_0000_0000 / M);
  const starts: number[] = [];
  for (let j = 0; j < Bt; j++) {
    let x: number;
    do x = rand() * 0x1_0000_0000;
    while (x >= limit);
    starts.push(x % M);
  }
  return starts;
}

/** A 32-bit seed from (seed, k): murmur3's finaliser over seed, then the low and high words of k. */
export function batchSeed(seed: number, k: number): number {
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(k) || k < 0) {
    throw new Error(`batch seed: expected integers (got seed ${seed}, batch ${k})`);
  }
  const hi = (x: number) => Math.floor(x / 0x1_0000_0000) >>> 0;
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  h = fmix32(h ^ hi(seed));
  h = fmix32(h ^ (k >>> 0));
  h = fmix32(h ^ hi(k));
  return h;
}

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Batch k of the training stream in the schedule's order. */
export function trainingBatch(ds: TokenizedDataset, k: number, s: BatchSchedule): Batch {
  checkBatchable(ds, s.Bt, s.T);
  if (!Number.isSafeInteger(k) || k < 0)
    throw new Error(`batch index must be a non-negative integer (got ${k})`);
  const N = ds.tokens.length;
  const starts =
    s.order === 'sequential'
      ? Array.from({ length: s.Bt }, (_, j) => sequentialWindowStart(k, j, s.Bt, s.T, N))
      : shuffledWindowStarts(k, s.Bt, s.T, N, s.seed);
  return fillBatch(ds, starts, s.Bt, s.T);
}

/** How many sequential batches make one pass over the window starts (for "epoch" displays). */
export function batchesPerEpoch(N: number, Bt: number, T: number): number {
  return Math.max(1, Math.ceil(startRange(N, T) / (Bt * T)));
}

/**
 * Fixed validation batches: non-overlapping windows at 0, T, 2T, ... whose targets cover tokens 1..N−1 of
 * the validation stream exactly once; the last window is cut short and padded (mask 0), as are the rows
 * past the last window, so every batch has the full [Bt, T] shape. At most `maxBatches` batches (the
 * head of the stream when capped). The mean validation loss is Σ_batches(loss·maskSum) / Σ maskSum,
 * skipping batches with maskSum = 0. An empty array when there is nothing to validate (N < 2).
 */
export function validationBatches(val: TokenizedDataset, Bt: number, T: number, maxBatches = 32): Batch[] {
  if (!Number.isInteger(Bt) || Bt < 1) throw new Error(`batch size must be a positive integer (got ${Bt})`);
  if (!Number.isInteger(T) || T < 1) throw new Error(`sequence length must be a positive integer (got ${T})`);
  const N = val.tokens.length;
  if (N < 2) return [];
  const windows = Math.ceil((N - 1) / T);
  const count = Math.min(maxBatches, Math.ceil(windows / Bt));
  const out: Batch[] = [];
  for (let b = 0; b < count; b++) {
    const starts = Array.from({ length: Bt }, (_, j) => {
      const w = b * Bt + j;
      return w < windows ? w * T : -1;
    });
    out.push(fillBatch(val, starts, Bt, T));
  }
  return out;
}

/** Rows from window starts; windows running past the stream's end (validation only) are padded with mask 0. */
function fillBatch(ds: TokenizedDataset, starts: number[], Bt: number, T: number): Batch {
  const N = ds.tokens.length;
  const tokens = new Uint32Array(Bt * T);
  const targets = new Uint32Array(Bt * T);
  const mask = new Float32Array(Bt * T);
  let maskSum = 0;
  starts.forEach((s, j) => {
    if (s < 0) return;
    const len = Math.min(T, N - 1 - s);
    for (let t = 0; t < len; t++) {
      const o = j * T + t;
      tokens[o] = ds.tokens[s + t];
      targets[o] = ds.tokens[s + t + 1];
      mask[o] = ds.mask[s + t + 1];
      maskSum += mask[o];
    }
  });
  return { Bt, T, tokens, targets, mask, maskSum, starts };
}
