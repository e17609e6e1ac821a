// `bench.mjs attention-check`: the attention variants (fused, separate passes, passes with the probabilities
// recomputed in the backward) on the real device against the float64 reference, at lab-gpt's R = 8 shape
// (N = R·Bt = 64, T = 128, H = 4, D = 64) by default. `bench.mjs attention-variants`: forward and backward
// time of each at a list of shapes.
import {
  attentionBackwardReference,
  attentionForwardReference,
  attentionRowStatSize,
  pickAttentionTiles,
  prepareAttentionBackward,
  prepareAttentionForward,
  type AttentionShape,
} from '../src/kernels/attention';
import {
  attentionPassesProbabilities,
  attentionProbsSize,
  attentionStatsSize,
  attentionPassesWorkgroupBytes,
  pickAttentionPassesTiles,
  prepareAttentionPassesBackward,
  prepareAttentionPassesForward,
  prepareAttentionPassesRecompute,
} from '../src/kernels/attention-passes';
import type { AttentionVariant } from '../src/kernels/attention-variant';
import { randn } from '../src/util/random';
import type { Dispatch, Gpu } from '../src/gpu/context';
import { timeAuto } from './timer';

// The unit tests' tolerance: |got − want| ≤ atol + rtol·|want|.
const ATOL = 1e-5;
const RTOL = 1e-4;

/** max |got − want|, and the worst |got − want| / (atol + rtol·|want|) (≤ 1 passes). */
function errors(got: ArrayLike<number>, want: Float64Array) {
  let abs = 0;
  let rel = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= abs)) abs = d;
    const r = d / (ATOL + RTOL * Math.abs(want[i]));
    if (!(r <= rel)) rel = r;
  }
  return { abs, rel };
}

type Err = { abs: number; rel: number };
const fmt = (e: Err) => `${e.abs.toExponential(2)} (${e.rel.toFixed(3)})`;

/**
 * One variant's forward and backward dispatches on fresh buffers (qkv and dout given). One layer:
 * 'passes-recompute' differs from 'passes' only by the scores pass its backward dispatches first.
 */
function prepareVariant(
  gpu: Gpu,
  variant: AttentionVariant,
  shape: AttentionShape,
  qkv: GPUBuffer,
  dout: GPUBuffer,
  passesTiles: Record<string, number> = pickAttentionPassesTiles(shape),
) {
  const { N, T, H, D } = shape;
  const C = H * D;
  const out = gpu.buffer(N * T * C * 4, 'out');
  const dqkv = gpu.buffer(N * T * 3 * C * 4, 'dqkv');
  if (variant === 'fused') {
    const rows = attentionRowStatSize(shape);
    const lse = gpu.buffer(rows * 4, 'lse');
    const delta = gpu.buffer(rows * 4, 'delta');
    return {
      out,
      dqkv,
      saved: lse,
      stats: undefined,
      forward: prepareAttentionForward(gpu, { qkv, out, lse }, shape),
      backward: prepareAttentionBackward(gpu, { qkv, out, lse, dout, dqkv, delta }, shape),
      buffers: [out, dqkv, lse, delta],
      tiles: pickAttentionTiles(D, gpu.device.limits.maxComputeWorkgroupStorageSize) as object,
    };
  }
  const probs = gpu.buffer(attentionProbsSize(shape) * 4, 'probs');
  const dscores = gpu.buffer(attentionProbsSize(shape) * 4, 'dscores');
  const stats = gpu.buffer(attentionStatsSize(shape) * 4, 'stats');
  const recompute =
    variant === 'passes-recompute'
      ? prepareAttentionPassesRecompute(gpu, { qkv, out, probs, stats }, shape, passesTiles)
      : [];
  return {
    out,
    dqkv,
    saved: probs,
    stats,
    forward: prepareAttentionPassesForward(gpu, { qkv, out, probs, stats }, shape, passesTiles),
    backward: [
      ...recompute,
      ...prepareAttentionPassesBackward(
        gpu,
        { qkv, probs, stats, dout, dqkv, dscores, out },
        shape,
        passesTiles,
      ),
    ],
    buffers: [out, dqkv, probs, dscores, stats],
    tiles: passesTiles as object,
  };
}

export interface AttentionCheck {
  variant: AttentionVariant;
  shape: AttentionShape;
  tiles: object;
  out: Err;
  /** fused: the logsumexp; passes (either): the probabilities. */
  saved: Err;
  dqkv: Err;
  pass: boolean;
}

export async function attentionCheck(
  gpu: Gpu,
  shape: AttentionShape,
  variants: AttentionVariant[],
  log: (s: string) => void,
  passesTiles?: Record<string, number>,
): Promise<AttentionCheck[]> {
  const { N, T, H, D } = shape;
  const C = H * D;
  const qkv = randn(N * T * 3 * C, 7);
  const dout = randn(N * T * C, 8);
  const ref = attentionForwardReference(qkv, shape);
  const dref = attentionBackwardReference(qkv, Float32Array.from(ref.probs), dout, shape);
  const qkvBuf = gpu.buffer(qkv, 'qkv');
  const doutBuf = gpu.buffer(dout, 'dout');
  const results: AttentionCheck[] = [];
  for (const variant of variants) {
    const v = prepareVariant(gpu, variant, shape, qkvBuf, doutBuf, passesTiles);
    await gpu.run(`attention ${variant} forward`, v.forward);
    await gpu.run(`attention ${variant} backward`, v.backward);
    const out = errors(await gpu.readF32(v.out, N * T * C), ref.out);
    const saved =
      variant === 'fused'
        ? errors(await gpu.readF32(v.saved, attentionRowStatSize(shape)), ref.lse)
        : errors(
            attentionPassesProbabilities(
              await gpu.readF32(v.saved, attentionProbsSize(shape)),
              await gpu.readF32(v.stats!, attentionStatsSize(shape)),
              shape,
              v.tiles as Record<string, number>,
            ),
            ref.probs,
          );
    const dqkv = errors(await gpu.readF32(v.dqkv, N * T * 3 * C), dref);
    v.buffers.forEach((b) => b.destroy());
    const pass = out.rel <= 1 && saved.rel <= 1 && dqkv.rel <= 1;
    log(
      `attention check (${variant}) N=${N} T=${T} H=${H} D=${D}, tiles ${JSON.stringify(v.tiles)}: max |err| (share of the tolerance) ` +
        `out ${fmt(out)}, ${variant === 'fused' ? 'lse' : 'probs'} ${fmt(saved)}, dqkv ${fmt(dqkv)}; tolerance 1e-5 + 1e-4·|want| → ${pass ? 'PASS' : 'FAIL'}`,
    );
    results.push({ variant, shape, tiles: v.tiles, out, saved, dqkv, pass });
  }
  qkvBuf.destroy();
  doutBuf.destroy();
  return results;
}

export interface AttentionTiming {
  variant: AttentionVariant;
  shape: AttentionShape;
  forwardMs: number;
  backwardMs: number;
  /** Forward and backward back to back, one layer. */
  totalMs: number;
}

/** Time one layer's attention, forward and backward, of each variant at each shape. */
export async function attentionTimes(
  gpu: Gpu,
  shapes: AttentionShape[],
  log: (s: string) => void,
): Promise<AttentionTiming[]> {
  const timing = { targetMs: 25, maxReps: 400, trials: 5 };
  const t = async (l: Dispatch[]) => (await timeAuto(gpu, l, timing)).ms;
  const results: AttentionTiming[] = [];
  for (const shape of shapes) {
    const { N, T, H, D } = shape;
    const C = H * D;
    const qkv = gpu.buffer(randn(N * T * 3 * C, 7), 'qkv');
    const dout = gpu.buffer(randn(N * T * C, 8), 'dout');
    const row: AttentionTiming[] = [];
    for (const variant of ['passes', 'fused', 'passes-recompute'] as const) {
      const v = prepareVariant(gpu, variant, shape, qkv, dout);
      const r = {
        variant,
        shape,
        forwardMs: await t(v.forward),
        backwardMs: await t(v.backward),
        totalMs: await t([...v.forward, ...v.backward]),
      };
      v.buffers.forEach((b) => b.destroy());
      row.push(r);
    }
    qkv.destroy();
    dout.destroy();
    const [p, f, rc] = row;
    const times = (x: AttentionTiming) =>
      `${x.forwardMs.toFixed(4)} / ${x.backwardMs.toFixed(4)} / ${x.totalMs.toFixed(4)}`;
    log(
      `attention N=${N} T=${T} H=${H} D=${D}, one layer fwd / bwd / both (ms): passes ${times(p)}; fused ${times(f)}; ` +
        `passes-recompute ${times(rc)}; fused ÷ passes ${(f.totalMs / p.totalMs).toFixed(2)}, ` +
        `fused ÷ passes-recompute ${(f.totalMs / rc.totalMs).toFixed(2)}`,
    );
    results.push(...row);
  }
  return results;
}

export interface AttentionPassesTileTiming {
  tiles: Record<string, number>;
  shape: AttentionShape;
  pass: boolean;
  forwardMs: number;
  backwardMs: number;
  totalMs: number;
}

/** Workgroup bytes of attention-passes.wgsl at these tiles: Xs, Ys and the two row-statistics arrays. */
/**
 * `bench.mjs attention-passes-tiles`: the separate passes at each tile candidate (WX, WY, TM, TN, KC), each
 * checked against float64 at the shape before it is timed; a candidate that fails is not timed.
 */
export async function attentionPassesTiles(
  gpu: Gpu,
  shapes: AttentionShape[],
  candidates: Record<string, number>[],
  log: (s: string) => void,
): Promise<AttentionPassesTileTiming[]> {
  const timing = { targetMs: 25, maxReps: 400, trials: 5 };
  const t = async (l: Dispatch[]) => (await timeAuto(gpu, l, timing)).ms;
  const results: AttentionPassesTileTiming[] = [];
  const limit = gpu.device.limits.maxComputeWorkgroupStorageSize;
  // Each candidate is checked once, at a small shape whose T is not a multiple of any tile (the float64
  // reference at the timed shapes would take minutes per candidate), then timed at every shape.
  const checkShape = { N: 2, T: 100, H: shapes[0].H, D: shapes[0].D };
  for (const tiles of candidates) {
    const tag =
      tiles.VEC4 === 1
        ? `vec4 WX${tiles.WX} WY${tiles.WY} KC${tiles.KC}`
        : `WX${tiles.WX} WY${tiles.WY} TM${tiles.TM} TN${tiles.TN} KC${tiles.KC}`;
    if (attentionPassesWorkgroupBytes(tiles) > limit) {
      log(
        `attention passes ${tag}: ${attentionPassesWorkgroupBytes(tiles)} B of workgroup memory, over ${limit}`,
      );
      continue;
    }
    let check: AttentionCheck;
    try {
      [check] = await attentionCheck(gpu, checkShape, ['passes'], () => {}, tiles);
    } catch (e) {
      // A tile set the kernels refuse (or that does not compile) costs its row, not the sweep.
      log(`attention passes ${tag}: refused: ${e instanceof Error ? e.message : String(e)}`);
      for (const shape of shapes)
        results.push({ tiles, shape, pass: false, forwardMs: NaN, backwardMs: NaN, totalMs: NaN });
      continue;
    }
    const checked = `float64 check at N=2 T=100: dqkv ${fmt(check.dqkv)}, out ${fmt(check.out)} → ${check.pass ? 'PASS' : 'FAIL'}`;
    for (const shape of shapes) {
      const { N, T, H, D } = shape;
      const C = H * D;
      if (!check.pass) {
        log(`attention passes ${tag} N=${N} T=${T}: ${checked}; not timed`);
        results.push({ tiles, shape, pass: false, forwardMs: NaN, backwardMs: NaN, totalMs: NaN });
        continue;
      }
      const qkv = gpu.buffer(randn(N * T * 3 * C, 7), 'qkv');
      const dout = gpu.buffer(randn(N * T * C, 8), 'dout');
      const v = prepareVariant(gpu, 'passes', shape, qkv, dout, tiles);
      const r = {
        tiles,
        shape,
        pass: true,
        forwardMs: await t(v.forward),
        backwardMs: await t(v.backward),
        totalMs: await t([...v.forward, ...v.backward]),
      };
      v.buffers.forEach((b) => b.destroy());
      qkv.destroy();
      dout.destroy();
      log(
        `attention passes ${tag} N=${N} T=${T} H=${H} D=${D}: ${checked}; one layer fwd / bwd / both ${r.forwardMs.toFixed(4)} / ${r.backwardMs.toFixed(4)} / ${r.totalMs.toFixed(4)} ms`,
      );
      results.push(r);
    }
  }
  return results;
}
