// The fused matmul epilogues (gelu, residual add, gelu gradient) at a training step's shapes: each is
// checked on the device against the float64 reference before it is timed, and timed beside the unfused
// pair it replaces (the plain matmul, then the elementwise kernel). A failing check is logged and its
// timing skipped: a wrong kernel's time means nothing.
import type { Dispatch, Gpu } from '../src/gpu/context';
import {
  gemmTolerance,
  MATMUL_EPILOGUE,
  matmulBindings,
  matmulEpilogueReference,
  matmulParams,
  matmulReference,
  matmulVariant,
  type MatmulChoice,
  type MatmulEpilogue,
  type MatmulParams,
} from '../src/kernels/matmul';
import { geluBackward, geluForward } from '../src/kernels/gelu';
import { ELEMENTWISE_OP, elementwise } from '../src/kernels/elementwise';
import { randn } from '../src/util/random';

/** The step's fused products for rows × C: [epilogue, N, K, TRANS_B, what]. */
export function epilogueShapes(C: number): [MatmulEpilogue, number, number, 0 | 1, string][] {
  return [
    ['gelu', 4 * C, C, 0, 'c_fc + gelu'],
    ['residual', C, 4 * C, 0, 'mlp c_proj + residual'],
    ['residual', C, C, 0, 'attn c_proj + residual'],
    ['geluGrad', 4 * C, C, 1, "dFc · gelu'"],
  ];
}

/** Rows of the check: not a multiple of any tile, a multiple of 4 (the vec4 kernel's precondition). */
const CHECK_ROWS = 260;

/**
 * Runs the kernel and constants that the picker chooses for (rows, N, K) at CHECK_ROWS rows (the same
 * code path, a reference cheap enough for the host) and compares C and aux with the unit tests' GEMM
 * tolerance. Returns the worst error in units of the tolerance (≤ 1 passes).
 */
export async function checkEpilogue(
  gpu: Gpu,
  epilogue: MatmulEpilogue,
  rows: number,
  N: number,
  K: number,
  TRANS_B: 0 | 1,
): Promise<number> {
  const picked = matmulVariant(
    matmulParams({ M: rows, N, K, hasBias: 1 }),
    { TRANS_A: 0, TRANS_B },
    gpu.device.limits.maxComputeWorkgroupStorageSize,
  );
  return checkMatmulChoice(gpu, picked, epilogue, N, K, TRANS_B);
}

/**
 * One kernel and its constants (TRANS_A = 0, TRANS_B as given) at CHECK_ROWS × N × K with a bias and the
 * epilogue, against float64: the worst error in units of the GEMM tolerance (≤ 1 passes).
 */
export async function checkMatmulChoice(
  gpu: Gpu,
  { kernel, constants }: MatmulChoice,
  epilogue: MatmulEpilogue,
  N: number,
  K: number,
  TRANS_B: 0 | 1,
): Promise<number> {
  const t = { TRANS_A: 0, TRANS_B } as const;
  const p: MatmulParams = matmulParams({ M: CHECK_ROWS, N, K, hasBias: epilogue === 'geluGrad' ? 0 : 1 });
  const a = randn(CHECK_ROWS * K, 11, 0.5);
  const b = randn(K * N, 12, 1 / Math.sqrt(K));
  const bias = randn(N, 13, 0.1);
  const c0 = randn(CHECK_ROWS * N, 14);
  const aux0 = randn(CHECK_ROWS * N, 15);
  const bufs = {
    a: gpu.buffer(a, 'check.a'),
    b: gpu.buffer(b, 'check.b'),
    bias: gpu.buffer(bias, 'check.bias'),
    c: gpu.buffer(c0, 'check.c'),
    aux: gpu.buffer(aux0, 'check.aux'),
  };
  const d = gpu.prepare(kernel, matmulBindings(gpu, bufs), p, {
    ...constants,
    ...t,
    EPILOGUE: MATMUL_EPILOGUE[epilogue],
  });
  await gpu.run('epilogue check', [d]);
  const got = { c: await gpu.readF32(bufs.c, c0.length), aux: await gpu.readF32(bufs.aux, aux0.length) };
  for (const buf of Object.values(bufs)) buf.destroy();
  const want = matmulEpilogueReference(matmulReference(a, b, bias, c0, p, t), aux0, p, epilogue);
  let worst = 0;
  for (const which of ['c', 'aux'] as const) {
    const { rtol, atol } = gemmTolerance(want[which], K);
    for (let i = 0; i < want[which].length; i++) {
      const r = Math.abs(got[which][i] - want[which][i]) / (atol + rtol * Math.abs(want[which][i]));
      if (!(r <= worst)) worst = r;
    }
  }
  return worst;
}

/**
 * The fused dispatch, the same matmul without its epilogue (plain), and the unfused pair the fused one
 * replaces (plain, then the elementwise kernel), on the given buffers (contents irrelevant). The kernel is
 * the picker's unless `choice` names one. For gelu the unfused pair writes gelu(v) only, not the slope the
 * fused one also keeps; for geluGrad it is the product, then dy·gelu'(x) from x (geluBackward), which is
 * what the fused geluGrad replaces now that the forward keeps the slope.
 */
export function epilogueDispatches(
  gpu: Gpu,
  epilogue: MatmulEpilogue,
  p: MatmulParams,
  TRANS_B: 0 | 1,
  buf: { a: GPUBuffer; b: GPUBuffer; bias: GPUBuffer; c: GPUBuffer; aux: GPUBuffer; out: GPUBuffer },
  choice?: MatmulChoice,
): { fused: Dispatch[]; plain: Dispatch[]; unfused: Dispatch[] } {
  const t = { TRANS_A: 0, TRANS_B } as const;
  const { kernel, constants } =
    choice ?? matmulVariant(p, t, gpu.device.limits.maxComputeWorkgroupStorageSize);
  const { a, b, bias, c, aux, out } = buf;
  const fused = gpu.prepare(kernel, matmulBindings(gpu, { a, b, bias, c, aux }), p, {
    ...constants,
    ...t,
    EPILOGUE: MATMUL_EPILOGUE[epilogue],
  });
  const plain = gpu.prepare(kernel, matmulBindings(gpu, { a, b, bias, c }), p, {
    ...constants,
    ...t,
  });
  const n = p.M * p.N;
  const after =
    epilogue === 'gelu'
      ? gpu.prepare(geluForward, { x: c, y: aux }, { n })
      : epilogue === 'geluGrad'
        ? gpu.prepare(geluBackward, { x: aux, dy: c, dx: out }, { n })
        : gpu.prepare(elementwise, { a: aux, b: c, out }, { n, m: n }, { OP: ELEMENTWISE_OP.add });
  return { fused: [fused], plain: [plain], unfused: [plain, after] };
}
