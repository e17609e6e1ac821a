// Kernel micro-benchmarks: per kernel and shape, the time of one dispatch and its GFLOP/s or GB/s.
import type { Dispatch } from '../src/gpu/context';
import {
  MATMUL_CANDIDATES,
  matmul,
  matmulAuxPlaceholder,
  matmulBindings,
  matmulParams,
  matmulVariant,
  matmulWorkgroupBytes,
  type MatmulChoice,
  type MatmulEpilogue,
  type MatmulKernel,
} from '../src/kernels/matmul';
import { checkEpilogue, checkMatmulChoice, epilogueDispatches, epilogueShapes } from './epilogue-check';
import {
  checkLoraProduct,
  loraProductBufferSizes,
  loraProductDispatches,
  loraProductShapes,
  loraProductSplit,
} from './lora-skinny-check';
import { choleskySolve } from '../src/kernels/cholesky';
import { aAtJob, gram, packJobs } from '../src/kernels/gram';
import {
  ATTENTION_TILE_CANDIDATES,
  attentionWorkgroupBytes,
  pickAttentionTiles,
  prepareAttentionBackward,
  prepareAttentionForward,
} from '../src/kernels/attention';
import { layerNormBackward, layerNormConstants, layerNormForward } from '../src/kernels/layernorm';
import { crossEntropy } from '../src/kernels/crossentropy';
import { geluForward } from '../src/kernels/gelu';
import type { BenchGpu } from './gpu';
import { costOf } from './cost';
import { timeAuto, type TimingSource } from './timer';

export interface KernelResult {
  kernel: string;
  shape: string;
  ms: number;
  gflops: number;
  gbps: number;
  source: TimingSource;
  reps: number;
}

export interface KernelSizes {
  matmul: number[];
  cholesky: { count: number; n: number; rs: number[] };
  /** The model's shapes: sequences N = R·Bt, positions T, heads H, head size D, vocabulary V. */
  model: { Ns: number[]; T: number; H: number; D: number; V: number };
  /** The skinny LoRA products of one adapted module (in → out, rank r) at R runs of rowsPerRun rows. */
  lora?: { inDim: number; outDim: number; r: number; rowsPerRun: number; Rs: number[] };
  timing: { targetMs: number; maxReps: number; trials: number };
}

/** Deterministic, cheap, non-trivial values (kernels are timed, not checked, here). */
function filled(n: number, scale = 1): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (((i * 0.6180339887) % 1) - 0.5) * scale;
  return x;
}

/** Batched SPD matrices close to I (diagonally dominant), so repeated in-place solves stay finite. */
function spdNearIdentity(count: number, r: number): Float32Array {
  const P = new Float32Array(count * r * r);
  for (let m = 0; m < count; m++) {
    for (let i = 0; i < r; i++) {
      for (let j = 0; j <= i; j++) {
        const v = i === j ? 1 : (0.5 / r) * ((((m * 31 + i * 7 + j * 3) * 0.6180339887) % 1) - 0.5);
        P[m * r * r + i * r + j] = v;
        P[m * r * r + j * r + i] = v;
      }
    }
  }
  return P;
}

/** A matmul configuration's tile as the tables name it: threads, TILE_K and (where set) stages. */
function matmulTile(kernel: MatmulKernel, constants: Record<string, number>): string {
  const k = { ...kernel.constants, ...constants };
  return `${k.WG_M}x${k.WG_N}k${k.TILE_K}${k.STAGES ? `s${k.STAGES}` : ''}${k.UNROLL && k.UNROLL < k.TILE_K ? `u${k.UNROLL}` : ''}`;
}

function matmulName(kernel: MatmulKernel, constants: Record<string, number>): string {
  return `${kernel.label} ${matmulTile(kernel, constants)}`;
}

/** Appends to `results` as it goes (so a failure keeps what was measured before it). */
export async function benchKernels(
  gpu: BenchGpu,
  sizes: KernelSizes,
  log: (line: string) => void,
  results: KernelResult[] = [],
): Promise<KernelResult[]> {
  const owned: GPUBuffer[] = [];
  const buf = (data: Float32Array | Uint32Array | number, label: string) => {
    const b = gpu.buffer(data, label);
    owned.push(b);
    return b;
  };
  const time = async (list: Dispatch[], kernel: string, shape: string) => {
    const t = await timeAuto(gpu, list, sizes.timing);
    let flops = 0;
    let bytes = 0;
    for (const d of list) {
      const m = gpu.metaOf(d);
      if (!m) continue;
      const c = costOf(gpu, m);
      flops += c.flops;
      bytes += c.bytes;
    }
    const r: KernelResult = {
      kernel,
      shape,
      ms: t.ms,
      gflops: flops / (t.ms * 1e6),
      gbps: bytes / (t.ms * 1e6),
      source: t.source,
      reps: t.reps,
    };
    results.push(r);
    log(
      `  ${kernel.padEnd(22)} ${shape.padEnd(26)} ${(t.ms * 1000).toFixed(1).padStart(10)} µs ${r.gflops.toFixed(1).padStart(9)} GFLOP/s ${r.gbps.toFixed(1).padStart(8)} GB/s`,
    );
    await gpu.sync(kernel);
  };
  const release = () => {
    for (const b of owned.splice(0)) b.destroy();
  };
  const aux = matmulAuxPlaceholder(gpu);
  const storage = gpu.device.limits.maxComputeWorkgroupStorageSize;
  // Each matmul configuration is checked against float64 (per transpose and epilogue) before its first
  // timing; one that fails is never timed.
  const verdicts = new Map<string, boolean>();
  const verified = async (
    choice: MatmulChoice,
    TRANS_B: 0 | 1,
    epilogue: MatmulEpilogue = 'none',
  ): Promise<boolean> => {
    const name = `${matmulName(choice.kernel, choice.constants)} ${TRANS_B ? 'NT' : 'NN'} ${epilogue}`;
    let pass = verdicts.get(name);
    if (pass === undefined) {
      // Partial tiles along M and N, and K = 100: whole K tiles and a tail at every TILE_K.
      const worst = await checkMatmulChoice(gpu, choice, epilogue, 196, 100, TRANS_B);
      pass = worst <= 1;
      verdicts.set(name, pass);
      log(
        `  check ${name}: float64 check ${worst.toFixed(3)} of the tolerance → ${pass ? 'PASS' : 'FAIL (not timed)'}`,
      );
    }
    return pass;
  };

  for (const n of sizes.matmul) {
    const a = buf(filled(n * n), 'a');
    const b = buf(filled(n * n), 'b');
    const c = buf(n * n * 4, 'c');
    for (const [TRANS_A, TRANS_B, name] of [
      [0, 0, 'NN'],
      [0, 1, 'NT'],
      [1, 0, 'TN'],
    ] as const) {
      const d = gpu.prepare(
        matmul,
        matmulBindings(gpu, { a, b, c, aux }),
        matmulParams({ M: n, N: n, K: n }),
        {
          TRANS_A,
          TRANS_B,
        },
      );
      await time([d], `matmul ${name}`, `${n}×${n}×${n}`);
      const p = matmulParams({ M: n, N: n, K: n });
      const v = matmulVariant(p, { TRANS_A, TRANS_B });
      const dv = gpu.prepare(v.kernel, matmulBindings(gpu, { a, b, c, aux }), p, v.constants);
      await time([dv], `${v.kernel.label}* ${name}`, `${n}×${n}×${n} ${matmulTile(v.kernel, v.constants)}`);
    }
    release();
  }

  // The training step's base-weight shapes (rows R·Bt·T = 1024 and 8192) and GPT-2 small's c_fc: the picked
  // kernel, the 4×4 default and every candidate of the picker (configurations the device's workgroup memory
  // cannot hold are skipped), so the picker's thresholds can be checked on a real GPU. On toy sizes (no GPU),
  // the first NN and NT shapes at 128 rows and a quarter of N and K: they test the harness and the checks.
  if (sizes.matmul.length > 0) {
    const full = Math.max(...sizes.matmul) >= 1024;
    const q = full ? 1 : 4;
    const stepShapes: [number, number, 0 | 1][] = [
      [256, 1024, 0],
      [256, 768, 1],
      [256, 256, 0],
      [1024, 256, 0],
      [1024, 256, 1],
    ];
    const shapes: [number, number, number, 0 | 1][] = [
      ...(full ? [1024, 8192] : [128]).flatMap((M) =>
        (full ? stepShapes : stepShapes.slice(0, 2)).map(
          ([N, K, TRANS_B]): [number, number, number, 0 | 1] => [M, N / q, K / q, TRANS_B],
        ),
      ),
      ...(full ? [[16384, 3072, 768, 0] as [number, number, number, 0 | 1]] : []),
    ];
    for (const [M, N, K, TRANS_B] of shapes) {
      const a = buf(filled(M * K), 'a');
      const b = buf(filled(K * N), 'b');
      const c = buf(M * N * 4, 'c');
      const p = matmulParams({ M, N, K });
      const t = { TRANS_A: 0, TRANS_B } as const;
      const shape = `${TRANS_B ? 'NT' : 'NN'} ${M}×${N}×${K}`;
      const v = matmulVariant(p, t, storage);
      if (await verified(v, TRANS_B)) {
        await time(
          [gpu.prepare(v.kernel, matmulBindings(gpu, { a, b, c, aux }), p, v.constants)],
          `picked ${v.kernel.label}`,
          `${shape} ${matmulTile(v.kernel, v.constants)}`,
        );
      }
      await time(
        [gpu.prepare(matmul, matmulBindings(gpu, { a, b, c, aux }), p, t)],
        'matmul 4x4 default',
        shape,
      );
      for (const [kernel, k] of MATMUL_CANDIDATES) {
        const name = matmulName(kernel, k);
        if (matmulWorkgroupBytes(kernel, k) > storage) {
          log(
            `  ${name}: ${matmulWorkgroupBytes(kernel, k)} B of workgroup memory, over the device's ${storage}`,
          );
          continue;
        }
        if (!(await verified({ kernel, constants: { ...t, ...k } }, TRANS_B))) continue;
        const d = gpu.prepare(kernel, matmulBindings(gpu, { a, b, c, aux }), p, { ...t, ...k });
        await time([d], name, shape);
      }
      release();
    }
  }

  const { count, n } = sizes.cholesky;
  for (const r of sizes.cholesky.rs) {
    const jobs = buf(packJobs(Array.from({ length: count }, (_, m) => aAtJob(m * r * n, n))), 'jobs');
    const factors = buf(filled(count * r * n, 0.1), 'factors');
    const P = buf(spdNearIdentity(count, r), 'P');
    const status = buf(count * 4, 'status');
    await time(
      [
        gpu.prepare(
          gram,
          {
            factors,
            jobs,
            damping: buf(new Float32Array(count).fill(1e-6), 'damping'),
            out: buf(count * r * r * 4, 'G'),
          },
          { count, r },
        ),
      ],
      'gram',
      `${count}× r${r} n${n}`,
    );
    await time(
      [gpu.prepare(choleskySolve, { P, jobs, rhs: factors, status }, { count, r })],
      'choleskySolve',
      `${count}× r${r} n${n}`,
    );
    release();
  }

  const { T, H, D, V } = sizes.model;
  const C = H * D;
  for (const N of sizes.model.Ns) {
    const rows = N * T;
    const shape = { N, T, H, D };
    const qkv = buf(filled(rows * 3 * C), 'qkv');
    const out = buf(rows * C * 4, 'out');
    const lse = buf(N * H * T * 4, 'lse');
    const attnBuffers = {
      qkv,
      out,
      lse,
      dout: buf(filled(rows * C), 'dout'),
      dqkv: buf(rows * 3 * C * 4, 'dqkv'),
      delta: buf(N * H * T * 4, 'delta'),
    };
    // Fused attention, every tile candidate that fits (the model takes pickAttentionTiles' choice).
    const picked = pickAttentionTiles(D, gpu.device.limits.maxComputeWorkgroupStorageSize);
    for (const tiles of ATTENTION_TILE_CANDIDATES) {
      if (attentionWorkgroupBytes(D, tiles) > gpu.device.limits.maxComputeWorkgroupStorageSize) continue;
      const tag = `${tiles.WY * tiles.TM}x${tiles.WX * tiles.TN}/${tiles.WX}x${tiles.WY}${tiles === picked ? ' (picked)' : ''}`;
      const fwd = prepareAttentionForward(gpu, { qkv, out, lse }, shape, tiles);
      await time(fwd, `attention forward ${tag}`, `N${N} T${T} H${H} D${D}`);
      const bwd = prepareAttentionBackward(gpu, attnBuffers, shape, tiles);
      await time(bwd, `attention backward ${tag}`, `N${N} T${T} H${H} D${D}`);
      await time([...fwd, ...bwd], `attention fwd+bwd ${tag}`, `N${N} T${T} H${H} D${D}`);
    }

    const x = buf(filled(rows * C), 'x');
    const gamma = buf(filled(C), 'gamma');
    const mean = buf(rows * 4, 'mean');
    const rstd = buf(rows * 4, 'rstd');
    const y = buf(rows * C * 4, 'y');
    await time(
      [
        gpu.prepare(
          layerNormForward,
          { x, gamma, beta: gamma, y, mean, rstd },
          { rows, C, eps: 1e-5 },
          layerNormConstants(C),
        ),
      ],
      'layerNorm forward',
      `${rows}×${C}`,
    );
    await time(
      [
        gpu.prepare(
          layerNormBackward,
          { dy: x, x, gamma, mean, rstd, dx: y },
          { rows, C, accumulate: 1 },
          layerNormConstants(C),
        ),
      ],
      'layerNorm backward',
      `${rows}×${C}`,
    );
    const h = buf(filled(rows * 4 * C), 'h');
    await time(
      [gpu.prepare(geluForward, { x: h, y: buf(rows * 4 * C * 4, 'gelu') }, { n: rows * 4 * C })],
      'gelu forward',
      `${rows}×${4 * C}`,
    );
    // The fused matmul epilogues of the step at these rows: checked against float64, then timed beside
    // the matmul + elementwise pair each replaces.
    for (const [epilogue, eN, eK, TRANS_B, what] of epilogueShapes(C)) {
      const shape = `${TRANS_B ? 'NT' : 'NN'} ${rows}×${eN}×${eK}`;
      const worst = await checkEpilogue(gpu, epilogue, rows, eN, eK, TRANS_B);
      const pass = worst <= 1;
      const picked = matmulVariant(matmulParams({ M: rows, N: eN, K: eK }), { TRANS_A: 0, TRANS_B }, storage);
      log(
        `  epilogue ${epilogue} (${what}) ${shape}, picked ${matmulName(picked.kernel, picked.constants)}: float64 check ${worst.toFixed(3)} of the tolerance → ${pass ? 'PASS' : 'FAIL'}`,
      );
      if (!pass) {
        log(`  FAILED epilogue ${epilogue} float64 check: not timed`);
        continue;
      }
      const p = matmulParams({ M: rows, N: eN, K: eK, hasBias: epilogue === 'geluGrad' ? 0 : 1 });
      const ebuf = {
        a: buf(filled(rows * eK), 'ea'),
        b: buf(filled(eK * eN), 'eb'),
        bias: buf(filled(eN), 'ebias'),
        c: buf(rows * eN * 4, 'ec'),
        aux: buf(filled(rows * eN), 'eaux'),
        out: buf(rows * eN * 4, 'eout'),
      };
      const { fused, plain, unfused } = epilogueDispatches(gpu, epilogue, p, TRANS_B, ebuf);
      await time(fused, `matmul+${epilogue} fused`, shape);
      // The picked kernel without the epilogue: the fused row minus this one is the epilogue's cost.
      await time(plain, 'matmul, no epilogue', shape);
      await time(unfused, `matmul, ${epilogue} apart`, shape);
    }

    const logits = buf(filled(rows * V), 'logits');
    const targets = buf(
      Uint32Array.from({ length: rows }, (_, i) => (i * 7) % V),
      'targets',
    );
    const mask = buf(new Float32Array(rows).fill(1), 'mask');
    await time(
      [
        gpu.prepare(
          crossEntropy,
          { logits, targets, mask, rowLoss: buf(rows * 4, 'rowLoss'), partial: mask },
          { rows, V, first: 0, jobs: rows, invCount: 1 / rows },
        ),
      ],
      'crossEntropy',
      `${rows}×${V}`,
    );
    release();
  }

  // The skinny LoRA products (lora-skinny.ts): checked against float64, then timed beside the matmul
  // (+ split-K sum) path they replace, at the step's shapes.
  if (sizes.lora) {
    const { inDim, outDim, r, rowsPerRun: rows, Rs } = sizes.lora;
    for (const ps of loraProductShapes(inDim, outDim)) {
      for (const R of Rs) {
        // Checked at each R: loraReduce's split (its override constants) depends on R.
        const worst = await checkLoraProduct(gpu, ps, r, { R, rows });
        const pass = worst <= 1;
        log(
          `  lora ${ps.product} (${ps.what}) wide ${ps.wide} r ${r} ${loraProductSplit(ps, R, rows, r)}: float64 check ${worst.toFixed(3)} of the tolerance → ${pass ? 'PASS' : 'FAIL'}`,
        );
        if (!pass) {
          log(`  FAILED lora ${ps.product} R${R} float64 check: not timed`);
          continue;
        }
        const n = loraProductBufferSizes(ps, R, rows, r);
        const lbuf = {
          x: buf(filled(n.x), 'lx'),
          small: buf(filled(n.small, 0.1), 'lsmall'),
          out: buf(n.out * 4, 'lout'),
          scratch: buf(n.scratch * 4, 'lscratch'),
        };
        const { skinny, matmul: viaMatmul, wholeColumns } = loraProductDispatches(gpu, ps, R, rows, r, lbuf);
        const shape = `${ps.product} R${R} ${rows}×${ps.wide} r${r}`;
        await time(skinny, `lora ${ps.product} skinny`, shape);
        if (wholeColumns) await time(wholeColumns, `lora ${ps.product} skinny 32 cols`, shape);
        await time(viaMatmul, `lora ${ps.product} matmul`, shape);
        release();
      }
    }
  }
  return results;
}
