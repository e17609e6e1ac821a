// LayerNorm forward (saving mean and rstd per row) and its input gradient (gamma, beta are frozen).
import source from '../../shaders/layernorm.wgsl?raw';
import { defineKernel, foldedGrid } from '../gpu/kernel';

const perRow = ({ rows }: { rows: number }) => foldedGrid(rows);

/** y = (x − mean)·rstd·gamma + beta per row of C; mean and rstd [rows] are saved for the backward. */
export const layerNormForward = defineKernel({
  label: 'layerNormForward',
  source,
  entryPoint: 'forward',
  bindings: { x: 'read', gamma: 'read', beta: 'read', y: 'write', mean: 'write', rstd: 'write' },
  params: { rows: 'u32', C: 'u32', eps: 'f32' },
  constants: { WG: 128 },
  workgroups: perRow,
});

/** dx = ∂L/∂x of LayerNorm (written, or added to dx when accumulate = 1). */
export const layerNormBackward = defineKernel({
  label: 'layerNormBackward',
  source,
  entryPoint: 'backward',
  bindings: { dy: 'read', x: 'read', gamma: 'read', mean: 'read', rstd: 'read', dx: 'write' },
  params: { rows: 'u32', C: 'u32', accumulate: 'u32' },
  constants: { WG: 128 },
  workgroups: perRow,
});

/** Float64 reference of the forward, used only by tests. */
export function layerNormForwardReference(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  rows: number,
  C: number,
  eps: number,
): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(rows * C);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[r * C + c];
    const m = s / C;
    let q = 0;
    for (let c = 0; c < C; c++) q += (x[r * C + c] - m) ** 2;
    const rs = 1 / Math.sqrt(q / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c] - m) * rs * gamma[c] + beta[c];
    mean[r] = m;
    rstd[r] = rs;
  }
  return { y, mean, rstd };
}

/**
 * Float64 reference of the input gradient, used only by tests. Recomputes mean and rstd from x; adds
 * to `dxIn` when given (accumulate = 1).
 */
export function layerNormBackwardReference(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  rows: number,
  C: number,
  eps: number,
  dxIn?: ArrayLike<number>,
): Float64Array {
  const { mean, rstd } = layerNormForwardReference(x, gamma, new Float64Array(C), rows, C, eps);
  const dx = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let mg = 0;
    let mgx = 0;
    for (let c = 0; c < C; c++) {
      const g = dy[r * C + c] * gamma[c];
      mg += g;
      mgx += g * (x[r * C + c] - mean[r]) * rstd[r];
    }
    mg /= C;
    mgx /= C;
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      const xhat = (x[i] - mean[r]) * rstd[r];
      dx[i] = rstd[r] * (dy[i] * gamma[c] - mg - xhat * mgx) + (dxIn ? dxIn[i] : 0);
    }
  }
  return dx;
}
