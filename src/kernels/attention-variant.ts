// Which attention a model runs: the fused kernels (attention.ts: no T×T buffer), the separate passes
// (attention-passes.ts: a [N, H, T, T] probabilities buffer per layer plus one backward scratch), or the
// passes with the probabilities recomputed in the backward ('passes-recompute': one probabilities buffer
// shared by all layers plus the scratch, 2 T×T buffers whatever the layer count).
//
// On the H200 at lab-gpt's T = 128 the passes take 1.42 ms for 4 layers at R = 8 against 2.35 ms fused
// (bench/RESULTS.md, "Fused attention"): the fused backward recomputes Q·Kᵀ and dO·Vᵀ twice. What the
// fused kernels buy is memory: at GPT-2's T = 1024 one T×T buffer is 3.2 GB at R = 8, past any binding.
//
// 'passes-recompute' is for the middle: at T = 256 one layer's attention, forward and backward, takes 1.087 ms
// in passes against 1.886 ms fused (N = 64, H = 4; bench/RESULTS.md, "both attention variants"), but GPT-2
// small (12 layers, 12 heads, N = 64) would need 2.4 GiB for a probabilities buffer per layer, past the budget. The
// lower layers share one buffer, the top ones keep their own as far as the budget goes (attentionProbsBuffers);
// the backward of a layer whose buffer a later layer overwrote dispatches attentionScores again on its qkv (same
// kernel, same tiles: bit-identical probabilities) before the two backward passes; that extra scores pass is the
// price (bench/RESULTS.md: faster than fused in whole steps).
import type { AttentionShape } from './attention';
import { attentionProbsSize } from './attention-passes';

export type AttentionVariant = 'fused' | 'passes' | 'passes-recompute';
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
 * activations); GPT-2 small at T = 256, R = 8 (2.4 GiB) does not, and gets 'passes-recompute' (384 MiB).
 */
export const ATTENTION_PASSES_BUDGET = 1024 * 1024 * 1024;

export interface AttentionVariantQuery extends AttentionShape {
  limits: Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>;
  /** Layers of the model: the passes allocate layers + 1 T×T buffers, the recompute 2 (default 1). */
  layers?: number;
  /** Bound on those buffers' bytes together (default ATTENTION_PASSES_BUDGET). */
  budgetBytes?: number;
}

/**
 * Bytes of one T×T buffer of the passes, of all of them for `layers` layers (`total`: a probabilities
 * buffer per layer and the scratch) and of the recompute's two (`recomputeTotal`: one shared probabilities
 * buffer and the scratch).
 */
export function attentionPassesBytes(
  shape: AttentionShape,
  layers = 1,
): { buffer: number; total: number; recomputeTotal: number } {
  const buffer = 4 * attentionProbsSize(shape);
  return { buffer, total: buffer * (layers + 1), recomputeTotal: buffer * 2 };
}

/**
 * For T ≤ ATTENTION_PASSES_MAX_T whose T×T buffers bind: the passes when a buffer per layer fits the
 * budget, else the recompute when its two do (the faster kernels at one extra scores pass per layer rather
 * than fused's recomputed products); otherwise, and always past that T, fused.
 */
export function attentionVariant(q: AttentionVariantQuery): AttentionVariant {
  const { buffer, total, recomputeTotal } = attentionPassesBytes(q, q.layers ?? 1);
  const binding = Math.min(q.limits.maxStorageBufferBindingSize, q.limits.maxBufferSize);
  const budget = q.budgetBytes ?? ATTENTION_PASSES_BUDGET;
  if (q.T > ATTENTION_PASSES_MAX_T || buffer > binding) return 'fused';
  if (total <= budget) return 'passes';
  return recomputeTotal <= budget ? 'passes-recompute' : 'fused';
}

/**
 * Probability buffers a variant allocates for `q.layers` layers: none (fused), one per layer (passes), or for
 * the recompute as many as the budget holds beside the backward scratch, at least 1 and at most layers − 1
 * (attentionProbsSlot: the last layers get their own and skip the recompute; all below share the first).
 * GPT-2 small at R = 8: 4 buffers of 192 MiB and the scratch within 1 GiB, 8 of 12 layers recomputed, not 11.
 */
export function attentionProbsBuffers(variant: AttentionVariant, q: AttentionVariantQuery): number {
  const layers = q.layers ?? 1;
  if (variant === 'fused') return 0;
  if (variant === 'passes') return layers;
  const { buffer } = attentionPassesBytes(q, layers);
  const fit = Math.floor((q.budgetBytes ?? ATTENTION_PASSES_BUDGET) / buffer) - 1;
  return Math.max(1, Math.min(layers - 1, fit));
}

/**
 * Which of `buffers` probability buffers (attentionProbsBuffers) layer l of `layers` writes in its forward and
 * reads in its backward, and whether that backward recomputes them first: layers − buffers + 1 .. layers − 1
 * have one each; the layers below share buffer 0, where only the highest of them finds its own still there
 * (its forward wrote it last, its backward comes first).
 */
export function attentionProbsSlot(
  l: number,
  layers: number,
  buffers: number,
): { slot: number; recompute: boolean } {
  const shared = layers - buffers;
  return { slot: Math.max(0, l - shared), recompute: l < shared };
}

/** A forced variant as given; 'auto' (or nothing) → attentionVariant(q). */
export function resolveAttention(
  choice: AttentionChoice | undefined,
  q: AttentionVariantQuery,
): AttentionVariant {
  return !choice || choice === 'auto' ? attentionVariant(q) : choice;
}
