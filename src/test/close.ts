import { expect } from 'vitest';

export interface Tolerance {
  rtol: number;
  atol: number;
}

/**
 * |got - want| <= atol + rtol * |want| elementwise, and no NaN/Inf in `got` unless `want` has it there.
 * On failure, reports the worst element with its index so a broken kernel is easy to locate.
 */
export function expectAllClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
  what = 'values',
): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    const ok = Number.isFinite(w)
      ? Number.isFinite(g) && Math.abs(g - w) <= tol.atol + tol.rtol * Math.abs(w)
      : Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w));
    if (!ok) {
      bad++;
      const excess = Number.isFinite(g) ? Math.abs(g - w) - (tol.atol + tol.rtol * Math.abs(w)) : Infinity;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad > 0) {
    expect.fail(
      `${what}: ${bad}/${want.length} elements outside atol=${tol.atol} rtol=${tol.rtol}; worst at [${worst}]: got ${got[worst]}, want ${want[worst]}`,
    );
  }
}

/** Largest |got - want| / (|want| + floor): for reporting how approximate a result is. */
export function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>, floor = 1e-6): number {
  let m = 0;
  for (let i = 0; i < want.length; i++)
    m = Math.max(m, Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + floor));
  return m;
}

/**
 * The same float32 bits elementwise (NaNs by their bits too). On failure, reports how many differ and the
 * first, without printing whole arrays.
 */
export function expectSameBits(got: Float32Array, want: Float32Array, what = 'values'): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  let first = -1;
  let bad = 0;
  for (let i = 0; i < w.length; i++) {
    if (g[i] === w[i]) continue;
    bad++;
    if (first < 0) first = i;
  }
  if (bad > 0)
    expect.fail(
      `${what}: ${bad}/${w.length} elements differ in their bits; first at [${first}]: got ${got[first]}, want ${want[first]}`,
    );
}
