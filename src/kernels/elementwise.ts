// Residual adds, differences and copies over flat buffers.
import source from '../../shaders/elementwise.wgsl?raw';
import { defineKernel, grid1d } from '../gpu/kernel';

export type ElementwiseOp = 'add' | 'sub' | 'copy';
export const ELEMENTWISE_OP: Record<ElementwiseOp, number> = { add: 0, sub: 1, copy: 2 };

const WG = 256;

export const elementwise = defineKernel({
  label: 'elementwise',
  source,
  bindings: { a: 'read', b: 'read', out: 'write' },
  params: { n: 'u32' },
  constants: { OP: 0 },
  workgroups: ({ n }) => grid1d(n, WG),
});

/** Float64 reference, used only by tests. */
export function elementwiseReference(
  op: ElementwiseOp,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = op === 'add' ? a[i] + b[i] : op === 'sub' ? a[i] - b[i] : a[i];
  return out;
}
