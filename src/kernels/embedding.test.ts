import { describe, it } from 'vitest';
import { embedding, embeddingReference } from './embedding';
import { mulberry32, randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

const V = 256;

describe('embedding', () => {
  // [R, Bt, T, C, P (positions in wpe, ≥ T), WG]; the last case has 70 200 groups of 1: folded into y.
  it.each([
    [1, 1, 1, 1, 1, 256],
    [2, 3, 5, 7, 8, 256],
    [3, 2, 17, 33, 20, 64],
    [1, 2, 9, 64, 9, 256],
    [2, 3, 13, 900, 13, 1],
  ])('R=%i Bt=%i T=%i C=%i P=%i WG=%i', async (R, Bt, T, C, P, WG) => {
    const rand = mulberry32(R + Bt + T + C);
    const tokens = Uint32Array.from({ length: Bt * T }, () => Math.floor(rand() * V));
    tokens[0] = V - 1; // the last row of wte is reachable
    const wte = randn(V * C, C, 0.1);
    const wpe = randn(P * C, C + 1, 0.02);
    const got = await runOnce(embedding, { tokens, wte, wpe, out: R * Bt * T * C }, { R, Bt, T, C }, { WG });
    // One float32 addition, correctly rounded: at most half an ulp (2⁻²⁴ relative).
    expectAllClose(
      got.out,
      embeddingReference(tokens, wte, wpe, R, Bt, T, C),
      { rtol: 6e-8, atol: 0 },
      'out',
    );
  });
});
