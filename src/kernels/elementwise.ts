// Residual adds, differences and copies over flat buffers; `tile` repeats a block (out[i] = a[i mod m]).
import source from '../../shaders/elementwise.wgsl?raw';
import { defineKernel, grid1d } from '../gpu/kernel';

export type ElementwiseOp = 'add' | 'sub' | 'copy' | 'tile';
export const ELEMENTWISE_OP: Record<ElementwiseOp, number> = { add: 0, sub: 1, copy: 2, tile: 3 };

const WG = 256;

export const elementwise = defineKernel({
  label: 'elementwise',
  source,
  bindings: { a: 'read', b: 'read', out: 'write' },
  // m: the block length of `tile` (unused by the other ops).
  params: { n: 'u32', m: 'u32' },
  constants: { OP: 0 },
  workgroups: ({ n }) => grid1d(n, WG),
});

/** Float64 reference, used only by tests. */
export function elementwiseReference(
  op: ElementwiseOp,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  n = a.length,
  m = a.length,
): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = op === 'add' ? a[i] + b[i] : op === 'sub' ? a[i] - b[i] : op === 'tile' ? a[i % m] : a[i];
  return out;
}
