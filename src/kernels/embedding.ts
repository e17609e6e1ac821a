// Token + position embedding into the activations of every run.
import source from '../../shaders/embedding.wgsl?raw';
import { defineKernel, grid1d } from '../gpu/kernel';

/**
 * out[ρ, b, t, :] = wte[tokens[b, t], :] + wpe[t, :] for every run ρ; tokens u32 [Bt, T]. The bound wte holds
 * vocabulary rows first .. first + count − 1 (all of them, or one piece of a split wte: one dispatch per
 * piece), and only the tokens among them are written.
 */
export const embedding = defineKernel({
  label: 'embedding',
  source,
  bindings: { tokens: 'read', wte: 'read', wpe: 'read', out: 'write' },
  params: { R: 'u32', Bt: 'u32', T: 'u32', C: 'u32', first: 'u32', count: 'u32' },
  constants: { WG: 256 },
  workgroups: ({ R, Bt, T, C }, constants) => grid1d(R * Bt * T * C, constants.WG),
});

/** Float64 reference: out [R, Bt, T, C]. */
export function embeddingReference(
  tokens: ArrayLike<number>,
  wte: ArrayLike<number>,
  wpe: ArrayLike<number>,
  R: number,
  Bt: number,
  T: number,
  C: number,
): Float64Array {
  const out = new Float64Array(R * Bt * T * C);
  for (let run = 0; run < R; run++) {
    for (let bt = 0; bt < Bt * T; bt++) {
      const tok = tokens[bt];
      const t = bt % T;
      for (let c = 0; c < C; c++) out[(run * Bt * T + bt) * C + c] = wte[tok * C + c] + wpe[t * C + c];
    }
  }
  return out;
}
