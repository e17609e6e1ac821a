// gelu_new (GPT-2's tanh approximation), elementwise, and its input gradient.
import geluSource from '../../shaders/gelu.wgsl?raw';
import geluMath from '../../shaders/gelu-math.wgsl?raw';
import { defineKernel, grid1d } from '../gpu/kernel';

/** The elementwise kernels after the gelu functions they share with the matmul epilogues. */
const source = `${geluMath}\n${geluSource}`;

const elementwise = ({ n }: { n: number }, constants: Record<string, number>) => grid1d(n, constants.WG);

/** y = gelu_new(x) elementwise over n values. */
export const geluForward = defineKernel({
  label: 'geluForward',
  source,
  entryPoint: 'forward',
  bindings: { x: 'read', y: 'write' },
  params: { n: 'u32' },
  constants: { WG: 256 },
  workgroups: elementwise,
});

/** dx = dy · gelu_new'(x) elementwise over n values. */
export const geluBackward = defineKernel({
  label: 'geluBackward',
  source,
  entryPoint: 'backward',
  bindings: { x: 'read', dy: 'read', dx: 'write' },
  params: { n: 'u32' },
  constants: { WG: 256 },
  workgroups: elementwise,
});

const K = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** Float64 gelu_new in its textbook tanh form (as PyTorch's NewGELUActivation), used only by tests. */
export function geluReference(x: number): number {
  return 0.5 * x * (1 + Math.tanh(K * (x + A * x ** 3)));
}

/** Float64 derivative of gelu_new, used only by tests. */
export function geluDerivativeReference(x: number): number {
  const t = Math.tanh(K * (x + A * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * A * x * x);
}
