import { describe, expect, it } from 'vitest';
import {
  ATTENTION_PASSES_BUDGET,
  ATTENTION_PASSES_MAX_T,
  attentionPassesBytes,
  attentionProbsBuffers,
  attentionProbsSlot,
  attentionVariant,
  resolveAttention,
} from './attention-variant';

const GiB = 1024 ** 3;
// WebGPU's defaults (128 MiB binding, 256 MiB buffer) and the H200 through Dawn (binding = buffer = 4 GiB − 4).
const WEBGPU_DEFAULT = { maxStorageBufferBindingSize: 128 * 1024 ** 2, maxBufferSize: 256 * 1024 ** 2 };
const H200 = { maxStorageBufferBindingSize: 4 * GiB - 4, maxBufferSize: 4 * GiB - 4 };
// lab-gpt: 4 layers, 4 heads of 64, batch 8 × 128; GPT-2 small: 12 layers, 12 heads of 64.
const labGpt = (R: number, T = 128) => ({ N: 8 * R, T, H: 4, D: 64, layers: 4 });
const gpt2 = (R: number, T: number) => ({ N: 8 * R, T, H: 12, D: 64, layers: 12 });

describe('attentionVariant', () => {
  it('gives lab-gpt’s sweeps (T = 128, R = 1…64) the passes on the H200', () => {
    for (const R of [1, 8, 16, 64]) expect(attentionVariant({ ...labGpt(R), limits: H200 })).toBe('passes');
    // R = 64: 128 MiB per buffer, 5 buffers = 640 MiB, inside the 1 GiB budget.
    expect(attentionPassesBytes(labGpt(64), 4)).toEqual({
      buffer: 128 * 1024 ** 2,
      total: 640 * 1024 ** 2,
      recomputeTotal: 256 * 1024 ** 2,
    });
  });

  it('takes the fused kernels past T = 256, whatever the memory', () => {
    expect(ATTENTION_PASSES_MAX_T).toBe(256);
    expect(attentionVariant({ ...labGpt(1, 256), limits: H200 })).toBe('passes');
    expect(attentionVariant({ ...labGpt(1, 257), limits: H200 })).toBe('fused');
    expect(attentionVariant({ N: 1, T: 512, H: 1, D: 64, limits: H200 })).toBe('fused');
    expect(attentionVariant({ ...gpt2(8, 1024), limits: H200 })).toBe('fused');
  });

  it('takes the fused kernels when one T×T buffer is past the binding or buffer limit', () => {
    // lab-gpt R = 64 under WebGPU's default limits: 128 MiB per buffer = the binding limit (fits) …
    expect(attentionVariant({ ...labGpt(64), limits: WEBGPU_DEFAULT })).toBe('passes');
    // … one more sequence does not; a small maxBufferSize binds as well.
    expect(attentionVariant({ ...labGpt(64), N: 513, limits: WEBGPU_DEFAULT })).toBe('fused');
    const smallBuffer = { maxStorageBufferBindingSize: 4 * GiB - 4, maxBufferSize: 64 * 1024 ** 2 };
    expect(attentionVariant({ ...labGpt(64), limits: smallBuffer })).toBe('fused');
    expect(attentionVariant({ ...labGpt(16), limits: smallBuffer })).toBe('passes');
  });

  it('takes the recompute when a buffer per layer exceeds the budget but two fit, else fused', () => {
    expect(ATTENTION_PASSES_BUDGET).toBe(GiB);
    // GPT-2 small, T = 256, R = 8 (N = 64): 192 MiB per buffer, 13 buffers = 2.4 GiB; the recompute's 2: 384 MiB.
    expect(attentionPassesBytes(gpt2(8, 256), 12)).toEqual({
      buffer: 192 * 1024 ** 2,
      total: 13 * 192 * 1024 ** 2,
      recomputeTotal: 384 * 1024 ** 2,
    });
    expect(attentionVariant({ ...gpt2(8, 256), limits: H200 })).toBe('passes-recompute');
    expect(attentionVariant({ ...gpt2(1, 256), limits: H200 })).toBe('passes');
    // lab-gpt R = 128: 1.25 GiB in all, 512 MiB for two.
    expect(attentionVariant({ ...labGpt(128), limits: H200 })).toBe('passes-recompute');
    // lab-gpt R = 16: 32 MiB per buffer, 160 MiB in all, 64 MiB for two.
    expect(attentionVariant({ ...labGpt(16), limits: H200, budgetBytes: 100 * 1024 ** 2 })).toBe(
      'passes-recompute',
    );
    expect(attentionVariant({ ...labGpt(16), limits: H200, budgetBytes: 64 * 1024 ** 2 })).toBe(
      'passes-recompute',
    );
    // Even two over the budget: fused. GPT-2 small at R = 24 (N = 192): 576 MiB per buffer, 1.125 GiB for two.
    expect(attentionVariant({ ...gpt2(24, 256), limits: H200 })).toBe('fused');
    expect(attentionVariant({ ...labGpt(16), limits: H200, budgetBytes: 64 * 1024 ** 2 - 4 })).toBe('fused');
    // Without `layers`, one buffer and the scratch are counted (the same two as the recompute's).
    expect(attentionPassesBytes({ N: 1, T: 4, H: 1, D: 1 })).toEqual({
      buffer: 64,
      total: 128,
      recomputeTotal: 128,
    });
  });

  it('takes the recompute for GPT-2 small at T = 256, N = 64, and keeps lab-gpt on the passes', () => {
    const gpt2Small = { N: 64, T: 256, H: 12, D: 64, layers: 12 };
    expect(attentionVariant({ ...gpt2Small, limits: H200 })).toBe('passes-recompute');
    expect(attentionVariant({ N: 64, T: 128, H: 4, D: 64, layers: 4, limits: H200 })).toBe('passes');
    // Past T = 256 neither of the passes, however small.
    expect(attentionVariant({ ...gpt2Small, N: 1, T: 257, limits: H200 })).toBe('fused');
    expect(attentionVariant({ ...gpt2Small, T: 512, limits: H200 })).toBe('fused');
    // The recompute's buffer must bind too: GPT-2 small N = 64 at 128 MiB (192 MiB per buffer) → fused.
    expect(attentionVariant({ ...gpt2Small, limits: WEBGPU_DEFAULT })).toBe('fused');
  });

  it('keeps as many probability buffers as the budget holds beside the scratch, recomputing the rest', () => {
    const q = { ...gpt2(8, 256), limits: H200 };
    // GPT-2 small R = 8: 192 MiB each; 5 in 1 GiB (960 MiB): the scratch and 4 probability buffers.
    expect(attentionProbsBuffers('passes-recompute', q)).toBe(4);
    expect(attentionProbsBuffers('passes-recompute', { ...q, budgetBytes: 5 * 192 * 1024 ** 2 - 1 })).toBe(3);
    // At least one (two buffers over the budget, when the variant is forced), at most layers − 1.
    expect(attentionProbsBuffers('passes-recompute', { ...q, budgetBytes: 1 })).toBe(1);
    expect(attentionProbsBuffers('passes-recompute', { ...labGpt(8), limits: H200 })).toBe(3);
    expect(attentionProbsBuffers('passes-recompute', { N: 1, T: 4, H: 1, D: 1, limits: H200 })).toBe(1);
    expect(attentionProbsBuffers('passes', q)).toBe(12);
    expect(attentionProbsBuffers('fused', q)).toBe(0);
  });

  it('gives the top layers their own buffers and recomputes only below the last sharer of the first', () => {
    const slots = (layers: number, buffers: number) =>
      Array.from({ length: layers }, (_, l) => attentionProbsSlot(l, layers, buffers));
    // GPT-2 small R = 8: layers 0–8 share buffer 0 (layer 8 wrote it last), 9–11 have 1–3: 8 recomputes.
    const g = slots(12, 4);
    expect(g.map((x) => x.slot)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
    expect(g.filter((x) => x.recompute)).toHaveLength(8);
    expect(g.findIndex((x) => !x.recompute)).toBe(8);
    // One buffer: every layer but the last recomputes (the last's forward wrote it last).
    expect(slots(4, 1)).toEqual([
      { slot: 0, recompute: true },
      { slot: 0, recompute: true },
      { slot: 0, recompute: true },
      { slot: 0, recompute: false },
    ]);
    // A buffer per layer: none does.
    expect(slots(3, 3).map((x) => x.recompute)).toEqual([false, false, false]);
    expect(slots(3, 3).map((x) => x.slot)).toEqual([0, 1, 2]);
  });

  it('a forced variant is kept; auto picks', () => {
    const q = { ...gpt2(8, 1024), limits: H200 };
    expect(resolveAttention('passes', q)).toBe('passes');
    expect(resolveAttention('passes-recompute', { ...labGpt(8), limits: H200 })).toBe('passes-recompute');
    expect(resolveAttention('auto', { ...gpt2(8, 256), limits: H200 })).toBe('passes-recompute');
    expect(resolveAttention('fused', { ...labGpt(8), limits: H200 })).toBe('fused');
    expect(resolveAttention('auto', q)).toBe('fused');
    expect(resolveAttention(undefined, { ...labGpt(8), limits: H200 })).toBe('passes');
  });
});
