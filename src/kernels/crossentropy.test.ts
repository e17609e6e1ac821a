import { describe, expect, it } from 'vitest';
import { crossEntropy, crossEntropyReference } from './crossentropy';
import { mulberry32, randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose, expectSameBits } from '../test/close';

interface Case {
  R: number;
  rows: number;
  V: number;
  logits: Float32Array;
  WG?: number;
}

async function check({ R, rows, V, logits, WG = 256 }: Case, seed: number) {
  const rand = mulberry32(seed);
  const targets = Uint32Array.from({ length: rows }, () => Math.floor(rand() * V));
  targets[rows - 1] = V - 1;
  // Mostly 1, some 0 (padding), one fractional weight: the loss and gradient scale by mask.
  const mask = Float32Array.from({ length: rows }, (_, i) => (i % 3 === 1 ? 0 : 1));
  if (rows > 2) mask[2] = 0.5;
  const invCount =
    1 /
    Math.max(
      1,
      mask.reduce((a, b) => a + b, 0),
    );
  const got = await runOnce(
    crossEntropy,
    { logits, targets, mask, rowLoss: R * rows, partial: new Float32Array(1) },
    { rows, V, first: 0, jobs: R * rows, invCount },
    { WG },
  );
  const want = crossEntropyReference(logits, targets, mask, R, rows, V, Math.fround(invCount));
  // Losses O(1..10): float32 exp/log and sums of V terms, a few ulps. dlogits ≤ invCount in size.
  expectAllClose(got.rowLoss, want.rowLoss, { rtol: 1e-5, atol: 1e-5 }, 'rowLoss');
  expectAllClose(got.logits, want.dlogits, { rtol: 1e-5, atol: 1e-7 }, 'dlogits');
  return got;
}

describe('crossEntropy', () => {
  // [R, rows, V, WG]: V = 1, V below WG, V = 256 (the model), V > WG (strided), many jobs (folded).
  it.each([
    [1, 1, 1, 256],
    [2, 5, 7, 256],
    [3, 4, 256, 256],
    [2, 3, 300, 256],
    [1, 6, 300, 64],
    [2, 33000, 3, 1],
  ])('R=%i rows=%i V=%i WG=%i', async (R, rows, V, WG) => {
    await check({ R, rows, V, WG, logits: randn(R * rows * V, R + rows + V, 3) }, V + rows);
  });

  it('a chunk of jobs (first, jobs) reads its own logits and writes only its rowLoss entries', async () => {
    const [R, rows, V, first, jobs] = [3, 5, 40, 4, 7]; // jobs 4..10: across the run boundary at 5 and 10
    const all = randn(R * rows * V, 12, 3);
    const targets = Uint32Array.from({ length: rows }, (_, i) => (i * 13) % V);
    const mask = Float32Array.from({ length: rows }, (_, i) => (i === 3 ? 0 : 1));
    const rowLoss = new Float32Array(R * rows).fill(-1);
    const got = await runOnce(
      crossEntropy,
      {
        logits: all.slice(first * V, (first + jobs) * V),
        targets,
        mask,
        rowLoss,
        partial: new Float32Array(1),
      },
      { rows, V, first, jobs, invCount: 0.25 },
    );
    const want = crossEntropyReference(all, targets, mask, R, rows, V, 0.25);
    const expected = Float64Array.from(rowLoss);
    expected.set(want.rowLoss.subarray(first, first + jobs), first);
    expectAllClose(got.rowLoss, expected, { rtol: 1e-5, atol: 1e-5 }, 'rowLoss');
    expectAllClose(
      got.logits,
      want.dlogits.subarray(first * V, (first + jobs) * V),
      { rtol: 1e-5, atol: 1e-7 },
      'dlogits',
    );
  });

  // The split LM head's partial products read as their sum (gpu-model.ts): bit for bit the loss on the logits
  // matmulSplitKSum would store (Σ from zero in part order), the dlogits into `logits` (which held garbage).
  it.each([
    [2, 1, 5, 256, 128],
    [3, 2, 7, 300, 256],
    [4, 1, 3, 7, 64],
  ])('%i parts, R=%i rows=%i V=%i WG=%i: the sum of the parts, bit for bit', async (S, R, rows, V, WG) => {
    const n = R * rows * V;
    const parts = randn(S * n, 40 + S, 3);
    const summed = new Float32Array(n);
    for (let s = 0; s < S; s++)
      for (let i = 0; i < n; i++) summed[i] = Math.fround(summed[i] + parts[s * n + i]);
    const targets = Uint32Array.from({ length: rows }, (_, i) => (i * 5 + 1) % V);
    const mask = Float32Array.from({ length: rows }, (_, i) => (i === 1 ? 0 : 1));
    const params = { rows, V, first: 0, jobs: R * rows, invCount: 0.125 };
    const got = await runOnce(
      crossEntropy,
      { logits: new Float32Array(n).fill(NaN), targets, mask, rowLoss: R * rows, partial: parts },
      params,
      { WG, PARTS: S },
    );
    const whole = await runOnce(
      crossEntropy,
      { logits: summed, targets, mask, rowLoss: R * rows, partial: new Float32Array(1) },
      params,
      { WG },
    );
    expectSameBits(got.rowLoss, whole.rowLoss, 'rowLoss');
    expectSameBits(got.logits, whole.logits, 'dlogits');
    const want = crossEntropyReference(summed, targets, mask, R, rows, V, 0.125);
    expectAllClose(got.rowLoss, want.rowLoss, { rtol: 1e-5, atol: 1e-5 }, 'rowLoss');
    expectAllClose(got.logits, want.dlogits, { rtol: 1e-5, atol: 1e-7 }, 'dlogits');
  });

  // exp(100) overflows float32: only a max-subtracted logsumexp stays finite. Offsets of 5000 check
  // that the loss is formed from differences, not from lse rounded at the scale of 5000.
  it.each([100, 5000, -5000])('large logits (offset %i) stay finite and accurate', async (offset) => {
    const R = 2;
    const rows = 4;
    const V = 256;
    const logits = randn(R * rows * V, 8, 4).map((v) => v + offset);
    const got = await check({ R, rows, V, logits }, 3);
    expect(got.rowLoss.every(Number.isFinite)).toBe(true);
  });
});
