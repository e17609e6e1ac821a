// The memory plan of GPT-2 small (a user's own checkpoint): arithmetic on limits, no GPU and no weights.
import { describe, expect, it } from 'vitest';
import type { LabGptConfig } from '../model/config';
import { LOGITS_CHUNK_BYTES, wtePieceRows, wtePieces } from '../model/buffers';
import { attentionVariant } from '../kernels/attention-variant';
import { planSweepForLimits } from './memory';
import { DEFAULT_SWEEP, type RunSpec, type SweepConfig } from './config';

const GPT2_SMALL: LabGptConfig = {
  n_layer: 12,
  n_head: 12,
  n_embd: 768,
  n_positions: 1024,
  vocab_size: 50257,
  layer_norm_epsilon: 1e-5,
};
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** A GPU that binds whatever it allocates: the plan shows the engine's own sizes. */
const roomy = {
  maxStorageBufferBindingSize: 4 * GiB - 4,
  maxBufferSize: 4 * GiB,
  maxComputeWorkgroupsPerDimension: 65535,
};
/** WebGPU's guaranteed defaults. */
const defaults = {
  maxStorageBufferBindingSize: 128 * MiB,
  maxBufferSize: 256 * MiB,
  maxComputeWorkgroupsPerDimension: 65535,
};

function sweep(R: number, batch: number, seq: number): SweepConfig {
  const runs: RunSpec[] = Array.from({ length: R }, (_, i) => ({
    id: `r${i}`,
    optimizer: 'adamw',
    lr: 1e-4 * (i + 1),
  }));
  return { ...DEFAULT_SWEEP, lora: { r: 4, alpha: 8, targets: ['c_attn'] }, batch, seq, runs };
}

const bytesOf = (allocs: { label: string; bytes: number }[], label: string) =>
  allocs.filter((a) => a.label === label).map((a) => a.bytes);

describe('planSweepForLimits: GPT-2 small (vocabulary 50257, 12 layers of 768)', () => {
  it('R = 8, Bt = 8, T = 256: the logits come in chunks under the cap, no buffer over 2 GiB', () => {
    const plan = planSweepForLimits(roomy, GPT2_SMALL, sweep(8, 8, 256));
    const rows = 8 * 8 * 256;
    // Whole, the logits would be rows·V·4 = 3.3 GB.
    expect(rows * 50257 * 4).toBeGreaterThan(3 * GiB);
    const [logits] = bytesOf(plan.allocations, 'logits');
    expect(logits).toBeLessThanOrEqual(LOGITS_CHUNK_BYTES);
    expect(logits).toBe(plan.lmHead.chunkRows * 50257 * 4);
    expect(plan.lmHead.chunkRows % 128).toBe(0);
    expect(plan.lmHead.chunks).toBe(Math.ceil(rows / plan.lmHead.chunkRows));
    expect(plan.lmHead.chunks).toBeGreaterThan(1);
    expect(plan.largest!.bytes).toBeLessThanOrEqual(2 * GiB);
    expect(plan.problems).toEqual([]);
    // wte [50257, 768] is the largest weight: 154 MB.
    expect(bytesOf(plan.allocations, 'transformer.wte.weight')).toEqual([50257 * 768 * 4]);
    expect(plan.wtePieces).toBe(1);
    // The backward's transposed copies of the projection weights are planned at their weights' sizes.
    expect(bytesOf(plan.allocations, 'transformer.h.11.mlp.c_fc.weight transposed')).toEqual([
      768 * 3072 * 4,
    ]);
    expect(bytesOf(plan.allocations, 'transformer.h.0.attn.c_attn.weight transposed')).toEqual([
      768 * 2304 * 4,
    ]);
    // A probabilities buffer per layer would be 2.4 GiB, over the budget: 4 (one shared by layers 0–8, the
    // top 3 layers' own) and the backward scratch (attention-variant.ts 'passes-recompute'), 192 MiB each.
    expect(attentionVariant({ N: 8 * 8, T: 256, H: 12, D: 64, limits: roomy, layers: 12 })).toBe(
      'passes-recompute',
    );
    const tt = 8 * 8 * 12 * 256 * 256 * 4;
    expect(plan.allocations.filter((a) => /^(attnProbs|dScores)/.test(a.label))).toEqual([
      { label: 'attnProbs0', bytes: tt },
      { label: 'attnProbs1', bytes: tt },
      { label: 'attnProbs2', bytes: tt },
      { label: 'attnProbs3', bytes: tt },
      { label: 'dScores', bytes: tt },
    ]);
    expect(plan.allocations.some((a) => a.label.startsWith('attnLse'))).toBe(false);
  });

  it('plans the engine it is given: a forced attention variant allocates its own buffers', () => {
    const auto = planSweepForLimits(roomy, GPT2_SMALL, sweep(8, 8, 256));
    const passes = planSweepForLimits(roomy, GPT2_SMALL, sweep(8, 8, 256), undefined, {
      attention: 'passes',
    });
    const fused = planSweepForLimits(roomy, GPT2_SMALL, sweep(8, 8, 256), undefined, { attention: 'fused' });
    const tt = 8 * 8 * 12 * 256 * 256 * 4;
    expect(passes.allocations.filter((a) => a.label.startsWith('attnProbs'))).toHaveLength(12);
    // 8 probability buffers and 8 row-statistics buffers ([N, H, T] pairs) more; the recompute's 8 extra
    // scores dispatches have their own 16-byte uniforms.
    const stats = 8 * 8 * 12 * 256 * 2 * 4;
    expect(passes.bytes - auto.bytes).toBe(8 * tt + 8 * stats - 8 * 16);
    expect(fused.allocations.some((a) => a.label.startsWith('attnProbs'))).toBe(false);
    expect(fused.bytes).toBeLessThan(auto.bytes);
  });

  it('T = 1024 (n_positions): fused attention, no T×T buffer, no buffer over 2 GiB', () => {
    const shape = { N: 8 * 2, T: 1024, H: 12, D: 64 };
    expect(attentionVariant({ ...shape, limits: roomy, layers: 12 })).toBe('fused');
    const plan = planSweepForLimits(roomy, GPT2_SMALL, sweep(8, 2, 1024));
    expect(plan.allocations.some((a) => a.label.startsWith('attnProbs'))).toBe(false);
    expect(plan.largest!.bytes).toBeLessThanOrEqual(2 * GiB);
    expect(plan.problems).toEqual([]);
  });

  it('on WebGPU’s default limits: the logits chunk fits, wte (154 MB) comes in 2 pieces, nothing is over', () => {
    const plan = planSweepForLimits(defaults, GPT2_SMALL, sweep(1, 1, 64));
    expect(bytesOf(plan.allocations, 'logits')[0]).toBeLessThanOrEqual(128 * MiB);
    expect(plan.wtePieces).toBe(2);
    const pieces = plan.allocations.filter((a) => a.label.startsWith('transformer.wte.weight'));
    // 43,648 rows (341 tiles of 128, 127.9 MiB) and the other 6,609.
    expect(pieces).toEqual([
      { label: 'transformer.wte.weight[0:43648]', bytes: 43648 * 768 * 4 },
      { label: 'transformer.wte.weight[43648:50257]', bytes: 6609 * 768 * 4 },
    ]);
    expect(plan.modelProblems).toEqual([]);
    expect(plan.problems).toEqual([]);
  });

  it('the pieces are whole rows under the binding limit, and one piece when wte fits', () => {
    const C = 768;
    expect(wtePieceRows(50257, C, roomy)).toBe(50257);
    expect(wtePieceRows(50257, C, defaults) * C * 4).toBeLessThanOrEqual(128 * MiB);
    // maxBufferSize below the binding limit bounds the pieces too.
    expect(wtePieceRows(50257, C, { ...roomy, maxBufferSize: 64 * MiB }) * C * 4).toBeLessThanOrEqual(
      64 * MiB,
    );
    expect(wtePieces(1000, 256).map((p) => [p.first, p.rows])).toEqual([
      [0, 256],
      [256, 256],
      [512, 256],
      [768, 232],
    ]);
  });

  it('lab-gpt’s byte vocabulary keeps one chunk (no added dispatches)', () => {
    const labGpt = { ...GPT2_SMALL, n_layer: 4, n_head: 4, n_embd: 256, n_positions: 128, vocab_size: 256 };
    expect(planSweepForLimits(roomy, labGpt, sweep(64, 8, 128)).lmHead.chunks).toBe(1);
  });
});
