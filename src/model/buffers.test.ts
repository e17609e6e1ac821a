import { describe, expect, it } from 'vitest';
import { transposeWeight } from './buffers';

describe('transposeWeight', () => {
  it('moves element (i, j) of a rows × cols matrix to (j, i), exactly', () => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 5],
      [7, 4],
    ]) {
      const w = Float32Array.from({ length: rows * cols }, (_, k) => Math.fround(Math.sin(k + 1) * 1e3));
      const t = transposeWeight(w, rows, cols);
      expect(t).toHaveLength(rows * cols);
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++) expect(t[j * rows + i]).toBe(w[i * cols + j]);
      // Twice is the identity.
      expect(transposeWeight(t, cols, rows)).toEqual(w);
    }
  });

  it('refuses a shape that is not the weight’s size', () => {
    expect(() => transposeWeight(new Float32Array(12), 5, 3)).toThrow(/12 floats are not 5 × 3/);
  });
});
