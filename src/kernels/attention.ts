// Fused causal multi-head self-attention of HF GPT-2 (eager path: scores / sqrt(D), causal mask, float32
// softmax, no dropout), flash-attention style, forward and backward, batched over N = R·Bt sequences ×
// H heads. No T×T matrix in global memory: the forward saves one logsumexp per row and the backward
// recomputes the probabilities from q, k and it.
//   forward  [attentionForward]                          buffers { qkv, out, lse }
//   backward [attentionBackwardQuery, attentionBackwardKeyValue]
//                                                        buffers { qkv, out, lse, dout, dqkv, delta }
// `lse` is [N·H, T] per layer (a forward activation); `delta` is backward scratch of the same size that
// all layers can share. The backward is two kernels because WGSL has no float atomics (see the shader).
import source from '../../shaders/attention.wgsl?raw';
import { defineKernel, type Kernel } from '../gpu/kernel';
import type { Dispatch, Gpu } from '../gpu/context';

export interface AttentionShape {
  /** Sequences (R·Bt). */
  N: number;
  /** Positions. */
  T: number;
  /** Heads. */
  H: number;
  /** Head size; C = H·D. */
  D: number;
}

export type AttentionParam = keyof AttentionShape;
export type AttentionForwardBinding = 'qkv' | 'out' | 'lse';
export type AttentionBackwardBinding = 'qkv' | 'out' | 'lse' | 'dout' | 'dqkv' | 'delta';
export type AttentionForwardKernel = Kernel<AttentionForwardBinding, AttentionParam>;
export type AttentionBackwardKernel = Kernel<AttentionBackwardBinding, AttentionParam>;

/**
 * Tile constants (WGSL overrides): WX × WY threads; a score tile is BM = WY·TM rows by BN = WX·TN
 * columns, each thread owning TM × TN scores and TM rows × ceil(D / WX) channels of the accumulators;
 * KC = channels per staged chunk. HD (the head size) is set from the shape.
 */
export interface AttentionTiles {
  WX: number;
  WY: number;
  TM: number;
  TN: number;
  KC: number;
}

const MAXT = 4;
const MAXC = 8;
const MAX_THREADS = 256;

/**
 * Candidates, fastest first (H200 measurements in bench/RESULTS.md). `pickAttentionTiles` takes the
 * first that fits the device's workgroup memory and the register tile; the smaller ones fit WebGPU's
 * guaranteed 16 KiB for D ≤ 128.
 */
export const ATTENTION_TILE_CANDIDATES: AttentionTiles[] = [
  { WX: 16, WY: 16, TM: 2, TN: 2, KC: 16 },
  { WX: 16, WY: 16, TM: 1, TN: 1, KC: 16 },
  { WX: 16, WY: 16, TM: 4, TN: 4, KC: 16 },
  { WX: 16, WY: 16, TM: 2, TN: 2, KC: 32 },
  { WX: 16, WY: 16, TM: 2, TN: 2, KC: 64 },
  { WX: 8, WY: 8, TM: 2, TN: 2, KC: 8 },
];

/** Bytes of workgroup memory the kernels declare (they share one set of tiles). */
export function attentionWorkgroupBytes(D: number, t: AttentionTiles): number {
  const BM = t.WY * t.TM;
  const BN = t.WX * t.TN;
  return 4 * (t.KC * (BM + BN) + BN * BM + BN * D + BM * t.WX + 2 * BN);
}

function tilesFit(D: number, t: AttentionTiles): boolean {
  return t.TM <= MAXT && t.TN <= MAXT && Math.ceil(D / t.WX) <= MAXC && t.WX * t.WY <= MAX_THREADS;
}

function checkTiles(D: number, t: AttentionTiles): void {
  for (const [k, v] of Object.entries(t)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`attention: tile constant ${k}=${v}`);
  }
  if (!tilesFit(D, t)) {
    throw new Error(
      `attention: tiles ${JSON.stringify(t)} need TM, TN <= ${MAXT}, D / WX <= ${MAXC}, WX·WY <= ${MAX_THREADS} (D=${D})`,
    );
  }
}

/** The first candidate whose tiles fit `maxWorkgroupBytes` and the register tile for head size D. */
export function pickAttentionTiles(D: number, maxWorkgroupBytes: number): AttentionTiles {
  const t = ATTENTION_TILE_CANDIDATES.find(
    (c) => attentionWorkgroupBytes(D, c) <= maxWorkgroupBytes && tilesFit(D, c),
  );
  if (!t) throw new Error(`attention: no tile configuration fits ${maxWorkgroupBytes} B for D=${D}`);
  return t;
}

/** (tiles, heads) → dispatch, with heads folded into z past 65535 (the shader decodes y + 65535·z). */
function grid(tiles: number, heads: number): [number, number, number] {
  return [tiles, Math.min(heads, 65535), Math.ceil(heads / 65535)];
}

const params = { N: 'u32', T: 'u32', H: 'u32', D: 'u32' } as const;
const backwardBindings = {
  qkv: 'read',
  out: 'read',
  lse: 'read',
  dout: 'read',
  dqkv: 'write',
  delta: 'write',
} as const;
const defaults = { HD: 64, WX: 16, WY: 16, TM: 4, TN: 4, KC: 16 };
const rowTiles = ({ N, T, H }: Record<AttentionParam, number>, c: Record<string, number>) =>
  grid(Math.ceil(T / (c.WY * c.TM)), N * H);

/** out = causal softmax(q kᵀ / sqrt(D)) · v, heads merged; lse = log Σ_j exp(s_ij) per row. */
export const attentionForward: AttentionForwardKernel = defineKernel({
  label: 'attentionForward',
  source,
  entryPoint: 'forward',
  bindings: { qkv: 'read', out: 'write', lse: 'write' },
  params,
  constants: defaults,
  workgroups: rowTiles,
});

/** dq into dqkv, and delta = rowsum(dout ⊙ out) for attentionBackwardKeyValue. */
export const attentionBackwardQuery: AttentionBackwardKernel = defineKernel({
  label: 'attentionBackwardQuery',
  source,
  entryPoint: 'backwardQuery',
  bindings: backwardBindings,
  params,
  constants: defaults,
  workgroups: rowTiles,
});

/** dk, dv into dqkv. Needs attentionBackwardQuery first (it reads delta). */
export const attentionBackwardKeyValue: AttentionBackwardKernel = defineKernel({
  label: 'attentionBackwardKeyValue',
  source,
  entryPoint: 'backwardKeyValue',
  bindings: backwardBindings,
  params,
  constants: defaults,
  workgroups: rowTiles,
});

/** Forward steps in dispatch order. */
export function attentionForwardSteps(): AttentionForwardKernel[] {
  return [attentionForward];
}

/** Backward steps in dispatch order; together they write every element of dqkv. */
export function attentionBackwardSteps(): AttentionBackwardKernel[] {
  return [attentionBackwardQuery, attentionBackwardKeyValue];
}

/** f32 elements of `lse` (per layer) and of the backward scratch `delta`. */
export function attentionRowStatSize({ N, T, H }: AttentionShape): number {
  return N * H * T;
}

function constantsFor(gpu: Gpu, shape: AttentionShape, tiles?: AttentionTiles): Record<string, number> {
  const t = tiles ?? pickAttentionTiles(shape.D, gpu.device.limits.maxComputeWorkgroupStorageSize);
  checkTiles(shape.D, t);
  return { HD: shape.D, ...t };
}

/** Prepare the forward once; encode the returned dispatches (in order) every step. */
export function prepareAttentionForward(
  gpu: Gpu,
  buffers: Record<AttentionForwardBinding, GPUBuffer>,
  shape: AttentionShape,
  tiles?: AttentionTiles,
): Dispatch<AttentionParam>[] {
  const c = constantsFor(gpu, shape, tiles);
  return attentionForwardSteps().map((k) => gpu.prepare(k, buffers, { ...shape }, c));
}

/** Prepare the backward once; `delta` is scratch of attentionRowStatSize(shape) floats. */
export function prepareAttentionBackward(
  gpu: Gpu,
  buffers: Record<AttentionBackwardBinding, GPUBuffer>,
  shape: AttentionShape,
  tiles?: AttentionTiles,
): Dispatch<AttentionParam>[] {
  const c = constantsFor(gpu, shape, tiles);
  return attentionBackwardSteps().map((k) => gpu.prepare(k, buffers, { ...shape }, c));
}
// Float64 references, used only by tests. Index helpers follow the layouts above.
function layout({ T, H, D }: AttentionShape) {
  const C = H * D;
  return {
    C,
    /** Index into qkv of part (0 q, 1 k, 2 v), sequence n, position t, head h, channel d. */
    qkvAt: (part: number, n: number, t: number, h: number, d: number) =>
      (n * T + t) * 3 * C + part * C + h * D + d,
    outAt: (n: number, t: number, h: number, d: number) => (n * T + t) * C + h * D + d,
    probsAt: (n: number, h: number, i: number, j: number) => ((n * H + h) * T + i) * T + j,
  };
}

export function attentionForwardReference(
  qkv: ArrayLike<number>,
  shape: AttentionShape,
): { out: Float64Array; probs: Float64Array; lse: Float64Array } {
  const { N, T, H, D } = shape;
  const { C, qkvAt, outAt, probsAt } = layout(shape);
  const out = new Float64Array(N * T * C);
  const probs = new Float64Array(N * H * T * T);
  const lse = new Float64Array(N * H * T);
  const sqrtD = Math.sqrt(D);
  const s = new Float64Array(T);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qkv[qkvAt(0, n, i, h, d)] * qkv[qkvAt(1, n, j, h, d)];
          s[j] = dot / sqrtD;
          max = Math.max(max, s[j]);
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += Math.exp(s[j] - max);
        lse[(n * H + h) * T + i] = max + Math.log(sum);
        for (let j = 0; j <= i; j++) probs[probsAt(n, h, i, j)] = Math.exp(s[j] - max) / sum;
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j <= i; j++) acc += probs[probsAt(n, h, i, j)] * qkv[qkvAt(2, n, j, h, d)];
          out[outAt(n, i, h, d)] = acc;
        }
      }
    }
  }
  return { out, probs, lse };
}

/** dqkv from the saved probs and dout, by the formulas of the contract (sums over all j, P given). */
export function attentionBackwardReference(
  qkv: ArrayLike<number>,
  probs: ArrayLike<number>,
  dout: ArrayLike<number>,
  shape: AttentionShape,
): Float64Array {
  const { N, T, H, D } = shape;
  const { C, qkvAt, outAt, probsAt } = layout(shape);
  const dqkv = new Float64Array(N * T * 3 * C);
  const sqrtD = Math.sqrt(D);
  const dS = new Float64Array(T * T);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        let rowDot = 0;
        for (let j = 0; j < T; j++) {
          let dp = 0;
          for (let d = 0; d < D; d++) dp += dout[outAt(n, i, h, d)] * qkv[qkvAt(2, n, j, h, d)];
          dS[i * T + j] = dp;
          rowDot += probs[probsAt(n, h, i, j)] * dp;
        }
        for (let j = 0; j < T; j++) dS[i * T + j] = probs[probsAt(n, h, i, j)] * (dS[i * T + j] - rowDot);
      }
      for (let t = 0; t < T; t++) {
        for (let d = 0; d < D; d++) {
          let dq = 0;
          let dk = 0;
          let dv = 0;
          for (let u = 0; u < T; u++) {
            dq += dS[t * T + u] * qkv[qkvAt(1, n, u, h, d)];
            dk += dS[u * T + t] * qkv[qkvAt(0, n, u, h, d)];
            dv += probs[probsAt(n, h, u, t)] * dout[outAt(n, u, h, d)];
          }
          dqkv[qkvAt(0, n, t, h, d)] = dq / sqrtD;
          dqkv[qkvAt(1, n, t, h, d)] = dk / sqrtD;
          dqkv[qkvAt(2, n, t, h, d)] = dv;
        }
      }
    }
  }
  return dqkv;
}
