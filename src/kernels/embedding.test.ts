import { describe, it } from 'vitest';
import { embedding, embeddingReference } from './embedding';
import { mulberry32, randn } from '../util/random';
import { runOnce, testGpu } from '../test/gpu';
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
    const params = { R, Bt, T, C, first: 0, count: V };
    const got = await runOnce(embedding, { tokens, wte, wpe, out: R * Bt * T * C }, params, { WG });
    // One float32 addition, correctly rounded: at most half an ulp (2⁻²⁴ relative).
    expectAllClose(
      got.out,
      embeddingReference(tokens, wte, wpe, R, Bt, T, C),
      { rtol: 6e-8, atol: 0 },
      'out',
    );
  });

  it('wte in pieces of whole rows (100 = 40 + 40 + 20): one dispatch per piece writes its tokens’ rows', async () => {
    const [R, Bt, T, C] = [2, 3, 7, 9];
    const V = 100;
    const rand = mulberry32(17);
    const tokens = Uint32Array.from({ length: Bt * T }, () => Math.floor(rand() * V));
    tokens.set([0, 39, 40, 79, 80, V - 1]); // the first and last row of every piece
    const wte = randn(V * C, 5, 0.1);
    const wpe = randn(T * C, 6, 0.02);
    const gpu = await testGpu();
    const out = gpu.buffer(R * Bt * T * C * 4, 'out');
    const bound = [gpu.buffer(tokens, 'tokens'), gpu.buffer(wpe, 'wpe')];
    for (const [first, count] of [
      [0, 40],
      [40, 40],
      [80, 20],
    ]) {
      const piece = gpu.buffer(wte.subarray(first * C, (first + count) * C), `wte${first}`);
      const d = gpu.prepare(
        embedding,
        { tokens: bound[0], wte: piece, wpe: bound[1], out },
        { R, Bt, T, C, first, count },
      );
      gpu.submit('embedding', [d]);
      bound.push(piece);
    }
    const got = await gpu.readF32(out, R * Bt * T * C);
    expectAllClose(got, embeddingReference(tokens, wte, wpe, R, Bt, T, C), { rtol: 6e-8, atol: 0 }, 'out');
    for (const b of [out, ...bound]) b.destroy();
  });
});
