import { describe, it } from 'vitest';
import { ELEMENTWISE_OP, elementwise, elementwiseReference, type ElementwiseOp } from './elementwise';
import { randn } from '../util/random';
import { runOnce } from '../test/gpu';
import { expectAllClose } from '../test/close';

describe('elementwise', () => {
  const ops: ElementwiseOp[] = ['add', 'sub', 'copy'];
  it.each(ops.flatMap((op) => [1, 255, 1000, 70_000].map((n) => [op, n] as const)))(
    '%s n=%i',
    async (op, n) => {
      const a = randn(n, n);
      const b = randn(n, n + 1);
      const got = await runOnce(elementwise, { a, b, out: n }, { n, m: n }, { OP: ELEMENTWISE_OP[op] });
      // Exact: one float32 add/sub of float32 inputs is the correctly rounded float64 result.
      const want = Float32Array.from(elementwiseReference(op, a, b));
      expectAllClose(got.out, want, { rtol: 0, atol: 0 }, op);
    },
  );

  it.each([
    [1, 1],
    [255, 85],
    [1000, 7],
    [70_000, 3 * 1024],
    [70_001, 70_001],
  ])('tile n=%i m=%i: out[i] = a[i mod m]', async (n, m) => {
    const a = randn(m, m);
    const got = await runOnce(elementwise, { a, b: 1, out: n }, { n, m }, { OP: ELEMENTWISE_OP.tile });
    const want = Float32Array.from(elementwiseReference('tile', a, [], n, m));
    expectAllClose(got.out, want, { rtol: 0, atol: 0 }, 'tile');
  });
});
