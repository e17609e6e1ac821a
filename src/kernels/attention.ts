// Causal multi-head self-attention of HF GPT-2 (eager path: scores / sqrt(D), causal mask, float32
// softmax, no dropout), forward and backward, batched over N = R·Bt sequences × H heads.
// Each direction is a short list of kernels that all bind the same buffers, so a model prepares every
// step with one buffer record:
//   forward  [attentionScores, attentionWeightedSum]   buffers { qkv, out, probs }
//   backward [attentionBackwardScores, attentionBackwardGrads]
//                                                       buffers { qkv, probs, dout, dqkv, dscores }
// `dscores` is backward scratch of attentionScratchSize(shape).dscores f32 elements ([N, H, T, T], the
// size of probs); it can be shared by all layers since the backward runs one layer at a time.
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
export type AttentionForwardBinding = 'qkv' | 'out' | 'probs';
export type AttentionBackwardBinding = 'qkv' | 'probs' | 'dout' | 'dqkv' | 'dscores';
export type AttentionForwardKernel = Kernel<AttentionForwardBinding, AttentionParam>;
export type AttentionBackwardKernel = Kernel<AttentionBackwardBinding, AttentionParam>;

/** Tile constants (WGSL overrides): WX × WY threads, each owning TM × TN outputs; KC = reduction chunk. */
export const ATTENTION_TILES = { WX: 16, WY: 16, TM: 2, TN: 2, KC: 16 };
const MAXT = 4;

function tileSizes(c: Record<string, number>): { BM: number; BN: number } {
  const { WX, WY, TM, TN, KC } = c;
  for (const [k, v] of Object.entries({ WX, WY, TM, TN, KC })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`attention: tile constant ${k}=${v}`);
  }
  if (TM > MAXT || TN > MAXT) throw new Error(`attention: TM, TN must be <= ${MAXT} (register tile)`);
  return { BM: WY * TM, BN: WX * TN };
}

/** (tiles, heads) → dispatch, with heads folded into z past 65535 (the shader decodes y + 65535·z). */
function grid(tiles: number, heads: number): [number, number, number] {
  return [tiles, Math.min(heads, 65535), Math.ceil(heads / 65535)];
}

const forwardBindings = { qkv: 'read', out: 'write', probs: 'write' } as const;
const backwardBindings = {
  qkv: 'read',
  probs: 'read',
  dout: 'read',
  dqkv: 'write',
  dscores: 'write',
} as const;
const params = { N: 'u32', T: 'u32', H: 'u32', D: 'u32' } as const;

/** probs = causal softmax(q kᵀ / sqrt(D)); writes every entry of probs (0 above the diagonal). */
export const attentionScores: AttentionForwardKernel = defineKernel({
  label: 'attentionScores',
  source,
  entryPoint: 'scores',
  bindings: forwardBindings,
  params,
  constants: ATTENTION_TILES,
  workgroups: ({ N, T, H }, c) => grid(Math.ceil(T / tileSizes(c).BM), N * H),
});

/** out = probs · v, heads merged back into [N, T, C]. */
export const attentionWeightedSum: AttentionForwardKernel = defineKernel({
  label: 'attentionWeightedSum',
  source,
  entryPoint: 'weightedSum',
  bindings: forwardBindings,
  params,
  constants: ATTENTION_TILES,
  workgroups: ({ N, T, H, D }, c) => {
    const { BM, BN } = tileSizes(c);
    return grid(Math.ceil(T / BM) * Math.ceil(D / BN), N * H);
  },
});

/** dscores = P ⊙ (dP − rowsum(P ⊙ dP)), dP = dO vᵀ, on and below the diagonal. */
export const attentionBackwardScores: AttentionBackwardKernel = defineKernel({
  label: 'attentionBackwardScores',
  source,
  entryPoint: 'backwardScores',
  bindings: backwardBindings,
  params,
  constants: ATTENTION_TILES,
  workgroups: ({ N, T, H }, c) => grid(Math.ceil(T / tileSizes(c).BM), N * H),
});

/** dq, dk, dv into dqkv (overwritten, every element). Needs attentionBackwardScores first. */
export const attentionBackwardGrads: AttentionBackwardKernel = defineKernel({
  label: 'attentionBackwardGrads',
  source,
  entryPoint: 'backwardGrads',
  bindings: backwardBindings,
  params,
  constants: ATTENTION_TILES,
  workgroups: ({ N, T, H, D }, c) => {
    const { BM, BN } = tileSizes(c);
    return grid(3 * Math.ceil(T / BM) * Math.ceil(D / BN), N * H);
  },
});

/** Forward steps in dispatch order; each binds { qkv, out, probs } with params { N, T, H, D }. */
export function attentionForwardSteps(): AttentionForwardKernel[] {
  return [attentionScores, attentionWeightedSum];
}

/** Backward steps in dispatch order; each binds { qkv, probs, dout, dqkv, dscores }. */
export function attentionBackwardSteps(): AttentionBackwardKernel[] {
  return [attentionBackwardScores, attentionBackwardGrads];
}

/** Scratch the backward needs, in f32 elements. */
export function attentionScratchSize({ N, T, H }: AttentionShape): { dscores: number } {
  return { dscores: N * H * T * T };
}

/** Prepare the forward steps once; encode the returned dispatches (in order) every step. */
export function prepareAttentionForward(
  gpu: Gpu,
  buffers: Record<AttentionForwardBinding, GPUBuffer>,
  shape: AttentionShape,
  constants: Record<string, number> = {},
): Dispatch<AttentionParam>[] {
  return attentionForwardSteps().map((k) => gpu.prepare(k, buffers, { ...shape }, constants));
}

/** Prepare the backward steps once; `dscores` is scratch of attentionScratchSize(shape).dscores floats. */
export function prepareAttentionBackward(
  gpu: Gpu,
  buffers: Record<AttentionBackwardBinding, GPUBuffer>,
  shape: AttentionShape,
  constants: Record<string, number> = {},
): Dispatch<AttentionParam>[] {
  return attentionBackwardSteps().map((k) => gpu.prepare(k, buffers, { ...shape }, constants));
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
): { out: Float64Array; probs: Float64Array } {
  const { N, T, H, D } = shape;
  const { C, qkvAt, outAt, probsAt } = layout(shape);
  const out = new Float64Array(N * T * C);
  const probs = new Float64Array(N * H * T * T);
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
        for (let j = 0; j <= i; j++) probs[probsAt(n, h, i, j)] = Math.exp(s[j] - max) / sum;
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j <= i; j++) acc += probs[probsAt(n, h, i, j)] * qkv[qkvAt(2, n, j, h, d)];
          out[outAt(n, i, h, d)] = acc;
        }
      }
    }
  }
  return { out, probs };
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
