import { describe, expect, it } from 'vitest';
import {
  ATTENTION_PASSES_BUDGET,
  ATTENTION_PASSES_MAX_T,
  attentionPassesBytes,
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
    expect(attentionPassesBytes(labGpt(64), 4)).toEqual({ buffer: 128 * 1024 ** 2, total: 640 * 1024 ** 2 });
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

  it('takes the fused kernels when all T×T buffers together exceed the budget', () => {
    expect(ATTENTION_PASSES_BUDGET).toBe(GiB);
    // GPT-2 small, T = 256, R = 8: 192 MiB per buffer, 13 buffers = 2.4 GiB.
    expect(attentionVariant({ ...gpt2(8, 256), limits: H200 })).toBe('fused');
    expect(attentionVariant({ ...gpt2(1, 256), limits: H200 })).toBe('passes');
    // lab-gpt R = 128: 1.25 GiB in all.
    expect(attentionVariant({ ...labGpt(128), limits: H200 })).toBe('fused');
    expect(attentionVariant({ ...labGpt(16), limits: H200, budgetBytes: 100 * 1024 ** 2 })).toBe('fused');
    // Without `layers`, one buffer and the scratch are counted.
    expect(attentionPassesBytes({ N: 1, T: 4, H: 1, D: 1 })).toEqual({ buffer: 64, total: 128 });
  });

  it('a forced variant is kept; auto picks', () => {
    const q = { ...gpt2(8, 1024), limits: H200 };
    expect(resolveAttention('passes', q)).toBe('passes');
    expect(resolveAttention('fused', { ...labGpt(8), limits: H200 })).toBe('fused');
    expect(resolveAttention('auto', q)).toBe('fused');
    expect(resolveAttention(undefined, { ...labGpt(8), limits: H200 })).toBe('passes');
  });
});
