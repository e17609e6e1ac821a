// FLOPs and compulsory bytes of a prepared dispatch, from what it was prepared with (see gpu.ts).
// Bytes are the DRAM traffic if every operand were read once and every output written once (an
// in-place output counts twice): a lower bound on what the kernel moves, useful for a roofline.
import type { Dispatch } from '../src/gpu/context';
import type { BenchGpu, DispatchMeta } from './gpu';

export interface Cost {
  flops: number;
  bytes: number;
}

/** Outputs the kernel also reads (read-modify-write). */
const IN_PLACE: Record<string, (p: Record<string, number>) => string[]> = {
  crossEntropy: () => ['logits'],
  choleskySolve: () => ['rhs'],
  gramCholeskySolve: () => ['rhs'],
  adamwUpdate: () => ['p', 'm', 'v'],
  sgdUpdate: () => ['p'],
  layerNormBackward: (p) => (p.accumulate ? ['dx'] : []),
  sweepGuard: () => ['state', 'hyperA', 'hyperB'],
  countFallbacks: () => ['counts'],
};

function matmulCost(p: Record<string, number>): Cost {
  const { M, N, K, batch } = p;
  const a = M * K * (p.strideA ? batch : 1);
  const b = K * N * (p.strideB ? batch : 1);
  const c = M * N * batch * (p.beta !== 0 ? 2 : 1);
  // A split-K product's last chunk may be shorter (kLast).
  const Ks = K * batch - (p.kLast ? K - p.kLast : 0);
  return { flops: 2 * M * N * Ks, bytes: 4 * (a + b + c + (p.hasBias ? N : 0)) };
}

/** Causal attention: query i sees keys 0..i, so T(T+1)/2 (query, key) pairs per head. */
function attentionFlops(kernel: string, p: Record<string, number>): number {
  const pairs = (p.N * p.H * p.T * (p.T + 1)) / 2;
  const perPair: Record<string, number> = {
    attentionForward: 4 * p.D + 5, // q·k, v-weighted sum; scale, max, exp, sum
    // Each backward kernel recomputes s = q·k and dP = dO·v (4D + 4), then dq (2D), or dk and dv (4D).
    attentionBackwardQuery: 6 * p.D + 4,
    attentionBackwardKeyValue: 8 * p.D + 4,
  };
  return pairs * (perPair[kernel] ?? 0);
}

function bufferBytes(m: DispatchMeta): number {
  const seen = new Set<GPUBuffer>();
  let bytes = 0;
  const inPlace = new Set((IN_PLACE[m.kernel] ?? (() => []))(m.params));
  for (const [name, kind] of Object.entries(m.bindings)) {
    const buf = m.buffers[name];
    if (!buf || (kind === 'read' && seen.has(buf))) continue;
    seen.add(buf);
    bytes += buf.size * (kind === 'write' && inPlace.has(name) ? 2 : 1);
  }
  return bytes;
}

const ELEMENTWISE_FLOPS: Record<string, number> = {
  geluForward: 8,
  geluBackward: 12,
  layerNormForward: 8,
  layerNormBackward: 12,
  crossEntropy: 5,
  adamwUpdate: 12,
  sgdUpdate: 4,
};

/** Σ n over the jobs {offset, n, strideI, strideK} of a gram / choleskySolve dispatch (or `binding`). */
function jobVectors(gpu: BenchGpu, m: DispatchMeta, binding = 'jobs'): number {
  const jobs = gpu.initialU32(m.buffers[binding]);
  if (!jobs) return 0;
  let n = 0;
  for (let j = 0; j < m.params.count; j++) n += jobs[4 * j + 1];
  return n;
}

/** The skinny LoRA products: x [R, rows, K or C] in, a factor [R, r, ·] or p [R, rows, r] beside it. */
function loraSkinnyCost(kernel: string, p: Record<string, number>): Cost {
  const wide = kernel === 'loraRows' ? p.K : p.C;
  const elements = p.R * (p.rows * wide + p.rows * p.r + p.r * wide);
  return { flops: 2 * p.R * p.rows * wide * p.r, bytes: 4 * elements };
}

/**
 * A split product's sum: S partials an element, LoRA's up-projection (2r) where it adds it, and for
 * matmulSplitKSumDown each row's u (2Kr, formed again by each of its column blocks of 256).
 */
function splitSumCost(m: DispatchMeta): Cost {
  const { M, N, S } = m.params;
  const r = m.constants.LORA_R ?? 0;
  const copies = m.params.copies ?? 1;
  const down = m.kernel === 'matmulSplitKSumDown' ? 2 * M * m.params.K * r * Math.ceil(N / 256) : 0;
  const flops = M * N * S + copies * M * N * 2 * r + down;
  const bytes = 4 * (M * N * S + copies * M * N + (down ? M * m.params.K + M * r : 0));
  return { flops, bytes };
}

export function costOf(gpu: BenchGpu, m: DispatchMeta): Cost {
  if (m.kernel === 'matmulSplitKSum' || m.kernel === 'matmulSplitKSumDown') return splitSumCost(m);
  if (m.kernel.startsWith('matmul')) return matmulCost(m.params);
  if (m.kernel === 'loraRows' || m.kernel === 'loraReduce') return loraSkinnyCost(m.kernel, m.params);
  const bytes = bufferBytes(m);
  if (m.kernel.startsWith('attention')) return { flops: attentionFlops(m.kernel, m.params), bytes };
  if (m.kernel === 'gram' || m.kernel === 'choleskySolve') {
    // Per job: an r×r Gram of n vectors (2r²n), or a factorisation (r³/3) and two solves of n vectors.
    const { r, count } = m.params;
    const n = jobVectors(gpu, m);
    // The job's factor / rhs is all it touches of the (shared, larger) LoRA buffer.
    const touched = 4 * r * n * (m.kernel === 'gram' ? 1 : 2) + 4 * count * r * r;
    const flops = m.kernel === 'gram' ? 2 * r * r * n : (count * r * r * r) / 3 + 2 * r * r * n;
    return { flops, bytes: touched };
  }
  if (m.kernel === 'gramCholeskySolve') {
    // Both of the above: the Gram reads each factor once, the solves read and write each rhs.
    const { r, count } = m.params;
    const nGram = jobVectors(gpu, m, 'gramJobs');
    const nSolve = jobVectors(gpu, m, 'solveJobs');
    const flops = 2 * r * r * nGram + (count * r * r * r) / 3 + 2 * r * r * nSolve;
    return { flops, bytes: 4 * r * (nGram + 2 * nSolve) + 4 * count * r * r };
  }
  const perElement = ELEMENTWISE_FLOPS[m.kernel] ?? 1;
  return { flops: (perElement * bytes) / 8, bytes };
}

export interface ListSummary {
  dispatches: number;
  /** Dispatches that launch work (a zero-size grid is skipped by the encoder). */
  launched: number;
  flops: number;
  bytes: number;
  byKernel: Record<string, number>;
}

export function summarize(gpu: BenchGpu, list: readonly Dispatch[]): ListSummary {
  const s: ListSummary = { dispatches: list.length, launched: 0, flops: 0, bytes: 0, byKernel: {} };
  for (const d of list) {
    if (d.workgroups.every((w) => w > 0)) s.launched++;
    const m = gpu.metaOf(d);
    s.byKernel[d.label] = (s.byKernel[d.label] ?? 0) + 1;
    if (!m) continue;
    const c = costOf(gpu, m);
    s.flops += c.flops;
    s.bytes += c.bytes;
  }
  return s;
}

/** A readable shape of a dispatch for tables: "matmul NT 8192×768×256" etc. */
export function describe(gpu: BenchGpu, d: Dispatch): string {
  const m = gpu.metaOf(d);
  if (!m) return d.label;
  const p = m.params;
  // The sum of a split product's S partials (it has no K): "matmulSplitKSum 1024×768 S4".
  if (m.kernel === 'matmulSplitKSumDown')
    return `${m.kernel} ${p.M}×${p.N}×${p.K} S${p.S} r${m.constants.LORA_R}`;
  if (m.kernel === 'matmulSplitKSum')
    return `${m.kernel} ${p.M}×${p.N} S${p.S}${p.copies > 1 ? ` ×${p.copies} copies` : ''}`;
  if (m.kernel.startsWith('matmul')) {
    const t = `${m.constants.TRANS_A ? 'T' : 'N'}${m.constants.TRANS_B ? 'T' : 'N'}`;
    const b = p.batch > 1 ? `${p.batch}×` : '';
    return `${m.kernel} ${t} ${b}${p.M}×${p.N}×${p.K}${p.beta ? ' +=' : ''}`;
  }
  if (m.kernel.startsWith('attention')) return `${m.kernel} N${p.N} T${p.T} H${p.H} D${p.D}`;
  if (m.kernel === 'loraRows') return `${m.kernel} ${p.R}×${p.rows}×${p.K} r${p.r}`;
  if (m.kernel === 'loraReduce') return `${m.kernel} ${p.R}×${p.rows}×${p.C} r${p.r}`;
  if ('rows' in p && 'C' in p) return `${m.kernel} ${p.rows}×${p.C}`;
  if (m.kernel === 'crossEntropy') return `${m.kernel} ${p.jobs}×${p.V}`;
  if ('count' in p && 'r' in p) return `${m.kernel} ${p.count}× r${p.r}`;
  if ('n' in p) return `${m.kernel} n=${'R' in p ? `${p.R}×` : ''}${p.n}`;
  return m.kernel;
}
