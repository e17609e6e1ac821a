// `bench.mjs attention-check`: the fused attention kernels on the real device against the float64
// reference, at lab-gpt's R = 8 shape (N = R·Bt = 64, T = 128, H = 4, D = 64) by default.
import {
  attentionBackwardReference,
  attentionForwardReference,
  attentionRowStatSize,
  pickAttentionTiles,
  prepareAttentionBackward,
  prepareAttentionForward,
  type AttentionShape,
} from '../src/kernels/attention';
import { randn } from '../src/util/random';
import type { Gpu } from '../src/gpu/context';

// The unit tests' tolerance: |got − want| ≤ atol + rtol·|want|.
const ATOL = 1e-5;
const RTOL = 1e-4;

/** max |got − want|, and the worst |got − want| / (atol + rtol·|want|) (≤ 1 passes). */
function errors(got: Float32Array, want: Float64Array) {
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

export async function attentionCheck(
  gpu: Gpu,
  shape: AttentionShape,
  log: (s: string) => void,
): Promise<{ shape: AttentionShape; tiles: unknown; out: object; lse: object; dqkv: object; pass: boolean }> {
  const { N, T, H, D } = shape;
  const C = H * D;
  const qkv = randn(N * T * 3 * C, 7);
  const dout = randn(N * T * C, 8);
  const ref = attentionForwardReference(qkv, shape);
  const dref = attentionBackwardReference(qkv, Float32Array.from(ref.probs), dout, shape);
  const rows = attentionRowStatSize(shape);
  const b = {
    qkv: gpu.buffer(qkv, 'qkv'),
    out: gpu.buffer(N * T * C * 4, 'out'),
    lse: gpu.buffer(rows * 4, 'lse'),
    dout: gpu.buffer(dout, 'dout'),
    dqkv: gpu.buffer(N * T * 3 * C * 4, 'dqkv'),
    delta: gpu.buffer(rows * 4, 'delta'),
  };
  await gpu.run(
    'attention forward',
    prepareAttentionForward(gpu, { qkv: b.qkv, out: b.out, lse: b.lse }, shape),
  );
  await gpu.run('attention backward', prepareAttentionBackward(gpu, b, shape));
  const out = errors(await gpu.readF32(b.out, N * T * C), ref.out);
  const lse = errors(await gpu.readF32(b.lse, rows), ref.lse);
  const dqkv = errors(await gpu.readF32(b.dqkv, N * T * 3 * C), dref);
  Object.values(b).forEach((x) => x.destroy());
  const pass = out.rel <= 1 && lse.rel <= 1 && dqkv.rel <= 1;
  const tiles = pickAttentionTiles(D, gpu.device.limits.maxComputeWorkgroupStorageSize);
  log(
    `attention check N=${N} T=${T} H=${H} D=${D}, tiles ${JSON.stringify(tiles)}: max |err| out ${out.abs.toExponential(2)} (${out.rel.toFixed(3)} of the tolerance), ` +
      `lse ${lse.abs.toExponential(2)} (${lse.rel.toFixed(3)}), dqkv ${dqkv.abs.toExponential(2)} (${dqkv.rel.toFixed(3)}); tolerance 1e-5 + 1e-4·|want| → ${pass ? 'PASS' : 'FAIL'}`,
  );
  return { shape, tiles, out, lse, dqkv, pass };
}
