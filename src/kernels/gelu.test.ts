import { describe, expect, it } from 'vitest';
import { geluBackward, geluDerivativeReference, geluForward, geluReference } from './gelu';
import { randn, randu } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

// A grid over [-20, 20] (both tails and the bend), and values whose cube overflows float32.
const grid = Float32Array.from({ length: 4001 }, (_, i) => -20 + i / 100);
const huge = new Float32Array([1e13, -1e13, 1e30, -1e30, 3.4e38, -3.4e38, 0, -0, 1e-30, -1e-30]);

function cases(): [string, number, Float32Array][] {
  return [
    ['one value', 256, new Float32Array([0.7])],
    ['grid [-20, 20] and huge', 256, Float32Array.from([...grid, ...huge])],
    ['random, n not a multiple of WG', 64, randn(1000, 17, 3)],
    // 70 000 groups of one thread: the dispatch must fold into y.
    ['random, folded dispatch', 1, randu(70000, 5, -8, 8)],
  ];
}

describe('gelu', () => {
  // float32 rounding plus WGSL's exp accuracy: a few 1e-7 relative; absolute floor for y ≈ 0.
  it.each(cases())('forward: %s (WG=%i)', async (_, WG, x) => {
    const got = await runOnce(geluForward, { x, y: x.length }, { n: x.length }, { WG });
    const want = Array.from(x, geluReference);
    expectAllClose(got.y, want, { rtol: 1e-5, atol: 1e-6 }, 'y');
  });

  it.each(cases())('backward: %s (WG=%i)', async (_, WG, x) => {
    const dy = randn(x.length, x.length, 2);
    const got = await runOnce(geluBackward, { x, dy, dx: x.length }, { n: x.length }, { WG });
    const want = Array.from(x, (v, i) => dy[i] * geluDerivativeReference(v));
    expectAllClose(got.dx, want, { rtol: 1e-5, atol: 1e-6 }, 'dx');
  });

  it('derivative reference matches finite differences of the forward', () => {
    for (const x of [-6, -3, -1.2, -0.3, 0, 0.4, 1, 2.5, 7]) {
      const h = 1e-6;
      const fd = (geluReference(x + h) - geluReference(x - h)) / (2 * h);
      expect(Math.abs(fd - geluDerivativeReference(x))).toBeLessThan(1e-8);
    }
  });
});
