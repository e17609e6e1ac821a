// Which attention a model runs: the fused kernels (attention.ts: no T×T buffer) or the separate passes
// (attention-passes.ts: a [N, H, T, T] probabilities buffer per layer plus one backward scratch).
//
// On the H200 at lab-gpt's T = 128 the passes take 1.42 ms for 4 layers at R = 8 against 2.35 ms fused
// (bench/RESULTS.md, "Fused attention"): the fused backward recomputes Q·Kᵀ and dO·Vᵀ twice. What the
// fused kernels buy is memory: at GPT-2's T = 1024 one T×T buffer is 3.2 GB at R = 8, past any binding.
import type { AttentionShape } from './attention';
import { attentionProbsSize } from './attention-passes';

export type AttentionVariant = 'fused' | 'passes';
/** What a model or an engine is asked for: a variant, or 'auto' (attentionVariant's pick). */
export type AttentionChoice = 'auto' | AttentionVariant;

/**
 * Longest sequence given the passes: the range where whole steps were measured on the H200
 * (bench/RESULTS.md, "both attention variants"): the passes are faster at T = 128 (4–14 % of the step,
 * R = 1–64) and T = 256 (16 % at R = 8). Attention alone they are also faster up to T = 1024 (1.4–1.9×), so
 * the bound is conservative; their T² memory, bounded by the budget below, is the real limit.
 */
export const ATTENTION_PASSES_MAX_T = 256;
/**
 * Bytes all the T×T buffers of a model may take together (a probabilities buffer per layer and the
 * backward scratch). lab-gpt's sweeps up to R = 64 fit (640 MiB there, about 13 % on top of its
 * activations); GPT-2 small at T = 256, R = 8 (2.4 GiB) does not.
 */
export const ATTENTION_PASSES_BUDGET = 1024 * 1024 * 1024;

export interface AttentionVariantQuery extends AttentionShape {
  limits: Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>;
  /** Layers of the model: the passes allocate layers + 1 T×T buffers (default 1). */
  layers?: number;
  /** Bound on those buffers' bytes together (default ATTENTION_PASSES_BUDGET). */
  budgetBytes?: number;
}

/** Bytes of one T×T buffer of the passes, and of all of them for `layers` layers. */
export function attentionPassesBytes(shape: AttentionShape, layers = 1): { buffer: number; total: number } {
  const buffer = 4 * attentionProbsSize(shape);
  return { buffer, total: buffer * (layers + 1) };
}

/** The passes for short sequences whose T×T buffers fit the device and the budget; else fused. */
export function attentionVariant(q: AttentionVariantQuery): AttentionVariant {
  const { buffer, total } = attentionPassesBytes(q, q.layers ?? 1);
  const binding = Math.min(q.limits.maxStorageBufferBindingSize, q.limits.maxBufferSize);
  const fits = buffer <= binding && total <= (q.budgetBytes ?? ATTENTION_PASSES_BUDGET);
  return q.T <= ATTENTION_PASSES_MAX_T && fits ? 'passes' : 'fused';
}

/** A forced variant as given; 'auto' (or nothing) → attentionVariant(q). */
export function resolveAttention(
  choice: AttentionChoice | undefined,
  q: AttentionVariantQuery,
): AttentionVariant {
  return !choice || choice === 'auto' ? attentionVariant(q) : choice;
}
