// LoRA's up-projection folded into matmulWideVec4's store (LORA_R > 0): the same float32 as the separate
// product u · Bᵀ_run after the base one (prepareLoraForward's pair), and float64's sum within GEMM tolerance.
import { describe, expect, it } from 'vitest';
import {
  gemmTolerance,
  MATMUL_EPILOGUE,
  matmulBindings,
  matmulEpilogueReference,
  matmulLoraFoldable,
  matmulParams,
  matmulReference,
  matmulWideVec4,
  prepareMatmul,
  type MatmulEpilogue,
} from './matmul';
import type { Dispatch } from '../gpu/context';
import { loraUpParams } from './lora';
import { testGpu } from '../test/gpu';
import { randn } from '../util/random';
import { expectAllClose } from '../test/close';

// Each case: an epilogue, a tile configuration and [runs, rows per run, K, N, r], 4-aligned (the kernel's
// precondition) and none a multiple of the tiles. Every tile, shape and epilogue once (SwiftShader compiles
// each pipeline slowly).
const CASES: [MatmulEpilogue, Record<string, number>, [number, number, number, number, number]][] = [
  ['none', { WG_M: 16, WG_N: 16, TILE_K: 16 }, [3, 36, 40, 68, 4]],
  ['gelu', { WG_M: 16, WG_N: 8, TILE_K: 8 }, [2, 52, 36, 132, 8]],
  ['residual', { WG_M: 8, WG_N: 8, TILE_K: 4 }, [1, 100, 44, 64, 4]],
  ['none', { WG_M: 8, WG_N: 8, TILE_K: 4 }, [2, 52, 36, 132, 8]],
  ['none', { WG_M: 16, WG_N: 12, TILE_K: 16 }, [2, 68, 40, 196, 4]],
];

describe('matmulWideVec4 with LoRA folded into its store', () => {
  it.each(CASES)(
    'epilogue %s, tile %j, shape %j: bit-identical to the two products, and float64',
    async (epilogue, tile, shape) => {
      const gpu = await testGpu();
      const [R, rows, K, N, r] = shape;
      const M = R * rows;
      const seed = M + 7 * N + 3 * K + r + MATMUL_EPILOGUE[epilogue];
      const scale = 2 / r;
      // Run t's Bᵀ [N, r] at offB + t·strideB, NaN between the runs (a read outside them shows).
      const [offB, strideB] = [8, N * r + 12];
      const loraB = new Float32Array(offB + R * strideB + 4).fill(NaN);
      const values = randn(R * N * r, seed + 5);
      for (let t = 0; t < R; t++) loraB.set(values.subarray(t * N * r, (t + 1) * N * r), offB + t * strideB);
      const x = randn(M * K, seed);
      const w = randn(K * N, seed + 1);
      const bias = randn(N, seed + 2);
      const u = randn(M * r, seed + 3);
      const aux0 = randn(M * N, seed + 4);
      const p = matmulParams({ M, N, K, hasBias: 1 });
      const buf = (data: Float32Array | number, label: string) => gpu.buffer(data, label);
      const inputs = {
        a: buf(x, 'x'),
        b: buf(w, 'w'),
        bias: buf(bias, 'bias'),
        u: buf(u, 'u'),
        loraB: buf(loraB, 'loraB'),
      };
      // beta 0 never reads C: NaN there must not show.
      const fresh = () => ({ c: buf(new Float32Array(M * N).fill(NaN), 'c'), aux: buf(aux0, 'aux') });
      // The epilogue's aux, or none (the placeholder) for 'none'.
      const auxOf = (o: { aux: GPUBuffer }) => (epilogue === 'none' ? undefined : o.aux);
      const constants = { ...tile, TRANS_A: 0, EPILOGUE: MATMUL_EPILOGUE[epilogue] };

      const fused = fresh();
      const lora = { loraScale: scale, loraOffB: offB, loraStrideB: strideB, loraRows: rows };
      const one: Dispatch = gpu.prepare(
        matmulWideVec4,
        matmulBindings(
          gpu,
          { a: inputs.a, b: inputs.b, bias: inputs.bias, c: fused.c, aux: auxOf(fused) },
          { u: inputs.u, B: inputs.loraB },
        ),
        { ...p, ...lora },
        { ...constants, TRANS_B: 0, LORA_R: r },
      );

      const pair = fresh();
      const base = gpu.prepare(
        matmulWideVec4,
        matmulBindings(gpu, { a: inputs.a, b: inputs.b, bias: inputs.bias, c: pair.c }),
        p,
        { ...constants, TRANS_B: 0, EPILOGUE: 0 },
      );
      const up = gpu.prepare(
        matmulWideVec4,
        matmulBindings(gpu, { a: inputs.u, b: inputs.loraB, c: pair.c, aux: auxOf(pair) }),
        matmulParams(loraUpParams({ R, rows, outDim: N, r, offB, strideB, scale })),
        { ...constants, TRANS_B: 1 },
      );
      await gpu.run('lora fold', [one, base, up]);
      const read = async (o: { c: GPUBuffer; aux: GPUBuffer }) => ({
        c: await gpu.readF32(o.c, M * N),
        aux: await gpu.readF32(o.aux, M * N),
      });
      const [got, want2] = [await read(fused), await read(pair)];
      const what = `${epilogue} ${JSON.stringify(tile)} R=${R} rows=${rows} K=${K} N=${N} r=${r}`;
      expect(Array.from(got.c), `${what}: C`).toEqual(Array.from(want2.c));
      expect(Array.from(got.aux), `${what}: aux`).toEqual(Array.from(want2.aux));

      // float64: x·W + bias + s · u · Bᵀ_run, then the epilogue.
      const v = matmulReference(x, w, bias, new Float64Array(M * N), p, { TRANS_A: 0, TRANS_B: 0 });
      for (let m = 0; m < M; m++) {
        const at = offB + Math.floor(m / rows) * strideB;
        for (let n = 0; n < N; n++) {
          let t = 0;
          for (let j = 0; j < r; j++) t += u[m * r + j] * loraB[at + n * r + j];
          v[m * N + n] += Math.fround(scale) * t;
        }
      }
      const want = matmulEpilogueReference(v, aux0, p, epilogue);
      expectAllClose(got.c, want.c, gemmTolerance(want.c, K + r), `${what}: C vs float64`);
      expectAllClose(got.aux, want.aux, gemmTolerance(want.aux, K + r), `${what}: aux vs float64`);
      for (const b of [fused.c, fused.aux, pair.c, pair.aux]) b.destroy();
      for (const b of Object.values(inputs)) b.destroy();
    },
  );

  it('is offered only where matmulWideVec4 takes the product and u, Bᵀ are whole vec4s', async () => {
    const gpu = await testGpu();
    // 1,280 × 256 (40 tiles of 128×64): the vec4 kernel on any device with 16 KiB of workgroup memory.
    const big = { M: 1280, N: 256, K: 64 };
    const lora = { r: 4, offB: 8, strideB: 1040, rowsPerRun: 640 };
    expect(matmulLoraFoldable(gpu, big, {}, lora)).toBe(true);
    expect(matmulLoraFoldable(gpu, big, {}, { ...lora, r: 2 })).toBe(false);
    expect(matmulLoraFoldable(gpu, big, {}, { ...lora, offB: 6 })).toBe(false);
    expect(matmulLoraFoldable(gpu, big, {}, { ...lora, strideB: 1042 })).toBe(false);
    expect(matmulLoraFoldable(gpu, { ...big, batch: 2 }, {}, lora)).toBe(false);
    // Small: the 4×4 kernel, which has no LoRA term; unaligned: the scalar wide kernel.
    expect(matmulLoraFoldable(gpu, { M: 100, N: 68, K: 40 }, {}, lora)).toBe(false);
    expect(matmulLoraFoldable(gpu, { ...big, K: 63 }, {}, lora)).toBe(false);
    const a = gpu.buffer(4 * 4, 'a');
    expect(() =>
      prepareMatmul(gpu, { a, b: a, c: gpu.buffer(16, 'c') }, { M: 100, N: 68, K: 40 }, {}, 'none', {
        u: a,
        B: a,
        scale: 1,
        ...lora,
      }),
    ).toThrow(/cannot be folded/);
  });
});
