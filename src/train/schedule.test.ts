import { describe, expect, it } from 'vitest';
import { lrFactor } from './schedule';

describe('lrFactor', () => {
  it('warms up linearly, then holds', () => {
    const s = { steps: 10, warmup: 4, decay: 'constant' as const };
    expect([1, 2, 3, 4, 5, 10].map((t) => lrFactor(s, t))).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
  });
  it('cosine decays to 0 at the last step; linear too', () => {
    expect(lrFactor({ steps: 10, warmup: 0, decay: 'cosine' }, 10)).toBeCloseTo(0, 12);
    expect(lrFactor({ steps: 10, warmup: 0, decay: 'cosine' }, 5)).toBeCloseTo(0.5, 12);
    expect(lrFactor({ steps: 11, warmup: 1, decay: 'linear' }, 6)).toBeCloseTo(0.5, 12);
  });
});
