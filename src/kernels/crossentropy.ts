// Cross-entropy of the LM head with its gradient, in place, for every run.
import source from '../../shaders/crossentropy.wgsl?raw';
import { defineKernel, foldedGrid } from '../gpu/kernel';

/**
 * With the override PARTS > 1 the logits are read from `partial`, PARTS split-K partial products [PARTS, jobs,
 * V], as their sum (what matmulSplitKSum would store), and dlogits written to `logits`.
 *
 * rowLoss [R, rows] = mask · (logsumexp − logit[target]); logits [R, rows, V] are replaced by
 * dlogits = (softmax − onehot(target)) · mask · invCount, invCount = 1 / Σ mask. One dispatch covers the
 * jobs (run·rows + row) first .. first + jobs − 1, whose logits are the buffer's rows 0 .. jobs − 1: the
 * model's LM head runs in chunks of rows (the whole R·rows at once when the logits fit).
 */
export const crossEntropy = defineKernel({
  label: 'crossEntropy',
  source,
  // `partial`: the LM head's partial products where PARTS > 1 (see the shader); else never read, and any
  // read-only buffer of the dispatch may stand in (gpu-model.ts binds `mask`).
  bindings: { logits: 'write', targets: 'read', mask: 'read', rowLoss: 'write', partial: 'read' },
  params: { rows: 'u32', V: 'u32', first: 'u32', jobs: 'u32', invCount: 'f32' },
  constants: { WG: 256 },
  workgroups: ({ jobs }) => foldedGrid(jobs),
});

/** Float64 reference, used only by tests: rowLoss [R, rows] and dlogits [R, rows, V]. */
export function crossEntropyReference(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  mask: ArrayLike<number>,
  R: number,
  rows: number,
  V: number,
  invCount: number,
): { rowLoss: Float64Array; dlogits: Float64Array } {
  const rowLoss = new Float64Array(R * rows);
  const dlogits = new Float64Array(R * rows * V);
  for (let job = 0; job < R * rows; job++) {
    const row = job % rows;
    const base = job * V;
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, logits[base + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[base + j] - m);
    const lse = m + Math.log(s);
    rowLoss[job] = mask[row] * (lse - logits[base + targets[row]]);
    for (let j = 0; j < V; j++) {
      const p = Math.exp(logits[base + j] - lse);
      dlogits[base + j] = (p - (j === targets[row] ? 1 : 0)) * mask[row] * invCount;
    }
  }
  return { rowLoss, dlogits };
}
