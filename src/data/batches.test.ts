import { describe, expect, it } from 'vitest';
import {
  batchSeed,
  batchesPerEpoch,
  sequentialWindowStart,
  shuffledWindowStarts,
  trainingBatch,
  validationBatches,
} from './batches';
import { tokenizeExamples, type TokenizedDataset } from './dataset';

/** A txt dataset of N bytes i % 251 with a mask that varies, so windows are recognisable. */
function stream(N: number): TokenizedDataset {
  const tokens = Uint8Array.from({ length: N }, (_, i) => i % 251);
  const mask = Uint8Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 0 : 1));
  return { name: 's', format: 'txt', tokens, mask, examples: 1, exampleOffsets: new Uint32Array([0, N]) };
}

describe('sequential order', () => {
  it.each([
    [1000, 2, 16],
    [257, 3, 7],
    [34, 5, 32],
  ])('N=%i Bt=%i T=%i follows ((k·B + j)·T) mod (N − T − 1)', (N, Bt, T) => {
    const ds = stream(N);
    for (const k of [0, 1, 2, 17, 1234]) {
      const b = trainingBatch(ds, k, { Bt, T, order: 'sequential', seed: 0 });
      expect(b.tokens.length).toBe(Bt * T);
      let maskSum = 0;
      for (let j = 0; j < Bt; j++) {
        const s = ((k * Bt + j) * T) % (N - T - 1);
        expect(b.starts[j]).toBe(s);
        for (let t = 0; t < T; t++) {
          expect(b.tokens[j * T + t]).toBe(ds.tokens[s + t]);
          expect(b.targets[j * T + t]).toBe(ds.tokens[s + t + 1]);
          expect(b.mask[j * T + t]).toBe(ds.mask[s + t + 1]);
          maskSum += ds.mask[s + t + 1];
        }
      }
      expect(b.maskSum).toBe(maskSum);
    }
  });
  it('is exact past 2^53', () => {
    // (k·B + j)·T ≡ ((k mod M)·B + j)·T (mod M), each factor small enough for doubles.
    const N = 1_000_003;
    const T = 64;
    const M = N - T - 1;
    for (const k of [2 ** 50 + 3, 2 ** 52 - 1, Number.MAX_SAFE_INTEGER]) {
      const want = ((((k % M) * 8 + 5) % M) * T) % M;
      expect(sequentialWindowStart(k, 5, 8, T, N)).toBe(want);
    }
  });
  it('needs N ≥ T + 2', () => {
    const s = { Bt: 2, T: 8, order: 'sequential' as const, seed: 0 };
    expect(() => trainingBatch(stream(9), 0, s)).toThrow(
      's: 9 bytes of training data, but sequence length 8 needs',
    );
    const b = trainingBatch(stream(10), 5, s); // one start only: 0
    expect(b.starts).toEqual([0, 0]);
    expect(batchesPerEpoch(1000, 2, 16)).toBe(Math.ceil(983 / 32));
  });
});

describe('shuffled order', () => {
  const N = 300;
  const T = 10;
  it('depends only on (seed, k), so a run can resume at any batch', () => {
    const s = { Bt: 4, T, order: 'shuffled' as const, seed: 42 };
    const ds = stream(N);
    const first = Array.from({ length: 6 }, (_, k) => trainingBatch(ds, k, s));
    expect(trainingBatch(ds, 5, s)).toEqual(first[5]);
    expect(trainingBatch(ds, 3, s).starts).toEqual(first[3].starts);
    expect(first[0].starts).not.toEqual(first[1].starts);
    expect(trainingBatch(ds, 0, { ...s, seed: 43 }).starts).not.toEqual(first[0].starts);
    for (const b of first)
      for (const st of b.starts) {
        expect(Number.isInteger(st) && st >= 0 && st < N - T - 1).toBe(true);
        expect(b.tokens[b.starts.indexOf(st) * T]).toBe(ds.tokens[st]);
      }
    expect(batchSeed(1, 2 ** 40)).not.toBe(batchSeed(1, 0));
    expect(batchSeed(-1, 0)).not.toBe(batchSeed(2 ** 32 - 1 + 2 ** 32, 0));
  });
  it('is uniform over the window starts', () => {
    const M = N - T - 1;
    const counts = new Array<number>(M).fill(0);
    const draws = 200 * M;
    for (let k = 0; k < draws / 50; k++) for (const st of shuffledWindowStarts(k, 50, T, N, 7)) counts[st]++;
    // Chi-square with M − 1 = 288 degrees of freedom: mean 288, sd 24; 450 is ≈ 6.7 sd.
    const e = draws / M;
    const chi2 = counts.reduce((a, c) => a + (c - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(450);
  });
});

describe('validation batches', () => {
  it.each([
    [100, 3, 7],
    [50, 2, 49],
    [23, 4, 5],
    [2, 1, 8],
  ])('N=%i Bt=%i T=%i cover every target exactly once', (N, Bt, T) => {
    const ds = stream(N);
    const seen = new Array<number>(N).fill(0);
    const batches = validationBatches(ds, Bt, T);
    let total = 0;
    for (const b of batches) {
      expect(b.tokens.length).toBe(Bt * T);
      b.starts.forEach((s, j) => {
        for (let t = 0; t < T; t++) {
          const o = j * T + t;
          if (s >= 0 && s + t + 1 < N) {
            seen[s + t + 1]++;
            expect(b.tokens[o]).toBe(ds.tokens[s + t]);
            expect(b.targets[o]).toBe(ds.tokens[s + t + 1]);
            expect(b.mask[o]).toBe(ds.mask[s + t + 1]);
          } else {
            expect(b.mask[o]).toBe(0);
          }
        }
      });
      total += b.maskSum;
    }
    expect(seen.slice(1)).toEqual(new Array<number>(N - 1).fill(1));
    expect(total).toBe(ds.mask.subarray(1).reduce((a, m) => a + m, 0));
  });
  it('caps the number of batches and is empty for a 1-byte stream', () => {
    expect(validationBatches(stream(1000), 2, 10, 3).length).toBe(3);
    expect(validationBatches(stream(1000), 2, 10, 3)[2].starts).toEqual([40, 50]);
    expect(validationBatches(stream(1), 2, 10)).toEqual([]);
  });
});

it('reports maskSum = 0 for a batch without targets', () => {
  const ds = tokenizeExamples('p', 'jsonl', [{ prompt: 'x'.repeat(40), completion: 'y' }]);
  const b = trainingBatch(ds, 0, { Bt: 1, T: 8, order: 'sequential', seed: 0 });
  expect(b.maskSum).toBe(0);
});
