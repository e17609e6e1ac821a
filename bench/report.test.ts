import { describe, expect, it } from 'vitest';
import { compareBatchedLines, type BenchReport, type PeerReport } from './report';
import type { StepResult } from './step';

// Only the fields compareBatchedLines reads; the rest of a report is the bench's own business.
function ours(rows: { R: number; wallMs: number; passMs: number }[], losses: Record<string, number[]>) {
  const sweep = rows.map(
    ({ R, wallMs, passMs }) =>
      ({
        R,
        wallMs,
        tokensPerStep: R * 1024,
        tokensPerSec: (R * 1024) / (wallMs / 1000),
        phases: { step: passMs },
      }) as unknown as StepResult,
  );
  return {
    meta: { adapter: 'test GPU', model: { name: 'lab-gpt', n_layer: 4, n_embd: 256 }, batch: 8, seq: 128 },
    sweep,
    losses: { steps: 2, lr: 0.005, byRun: losses },
  } as unknown as BenchReport;
}

function peer(rows: { R: number; msPerStep: number }[], losses: Record<string, number[]>): PeerReport {
  return {
    device: 'test GPU',
    torch: '2.11',
    batch: 8,
    seq: 128,
    attention: 'sdpa',
    model: 'lab-gpt',
    perOptimizer: [],
    sweep: [],
    losses: { steps: 2, lr: 0.005, byRun: losses },
    peerKind: 'batched',
    modes: {
      graph: rows.map(({ R, msPerStep }) => ({
        R,
        msPerStep,
        tokensPerSec: (R * 1024) / (msPerStep / 1000),
      })),
    },
  };
}

describe('compareBatchedLines', () => {
  it('gives ours by wall clock and by GPU pass, the ratio by wall clock, and the loss parity', () => {
    const lines = compareBatchedLines(
      ours(
        [
          { R: 1, wallMs: 2, passMs: 1.6 },
          { R: 8, wallMs: 5, passMs: 4 },
        ],
        { a: [1.5, 1.25] },
      ),
      peer(
        [
          { R: 1, msPerStep: 1 },
          { R: 8, msPerStep: 4 },
        ],
        { a: [1.5, 1.250001] },
      ),
    );
    const row = (R: number) =>
      lines
        .find((l) => l.startsWith(`| ${R} |`))!
        .split('|')
        .map((c) => c.trim());
    // | R | ours ms | ours tokens/s | ours by GPU pass | graph tokens/s | ours ÷ it | peak |
    expect(row(1).slice(1, 7)).toEqual(['1', '2.000', '512000', '640000', '1024000', '0.50×']);
    expect(row(8).slice(1, 7)).toEqual(['8', '5.000', '1638400', '2048000', '2048000', '0.80×']);
    expect(lines.some((l) => /max \|diff\| = 1\.00e-6 \(target ≤ 2e-6: MET\)/.test(l))).toBe(true);
  });
});
