// EXPERIMENT (bench/experiments/tensor-core/README.md), not an engine kernel: it is not in the picker and
// npm test cannot run it (SwiftShader offers neither shader-f16 nor subgroup matrices); probe.mjs checks it
// against float64 on the GPU before timing it. Override PROBE takes parts of the work out, to see where the
// time goes: 0 all; 1 stage only the first K tile (multiplies from workgroup memory, no global loads);
// 2 no multiplies (global loads, staging, stores); 4 fragments loaded once, the K loop only multiplies.
//
// Batched GEMM on the tensor cores (issue 16's half-precision fast path, behind an option): the contract of
// matmul-wide-vec4.wgsl (bindings, Params, TRANS_A/TRANS_B, alpha, beta = 0 never reads C, bias, offsets,
// strides, stride-0 sharing, ldA/ldB/ldC, the z loop over the batch, the epilogues, 4-aligned shapes only:
// matmulVec4Aligned), computed differently:
//
//   - A and B are read as float32 and rounded to float16 as they are staged in workgroup memory (A times
//     A_SCALE, a power of two, so that small gradients stay out of float16's subnormals); the products
//     accumulate in float32 (f16 × f16 → f32 subgroup matrices, 16×16×16), and alpha / A_SCALE scales the
//     result, exactly, before beta·C, the bias and the epilogue, which are float32 as elsewhere.
//   - The workgroup is SG_M × SG_N subgroups of 32 invocations; each subgroup owns a 16·FM × 16·FN block
//     of C (FM × FN result matrices of 16 × 16), so a workgroup's tile is 16·FM·SG_M × 16·FN·SG_N, and K is
//     staged TILE_K = 32 at a time (two 16-deep steps). Each invocation stages 4·FM / SG_N vec4s of A and
//     4·FN / SG_M of B per K tile: the host keeps both ≤ 4 (matmulTensorFits).
//   - The staged tiles keep each operand's stored layout (A row-major M × K, or K × M when transposed; B
//     K × N, or N × K), and the subgroup matrix loads read them row- or column-major accordingly, so a
//     16-byte global load becomes four consecutive halves in workgroup memory.
//   - The next K tile is read into registers while the current one is multiplied (as matmul-wide.wgsl).
//   - C leaves through a 16 × 16 float32 scratch per subgroup: each result matrix is stored there, and the
//     subgroup's 32 invocations write it out as 64 vec4s through store4, with matmul-wide-vec4.wgsl's
//     epilogue.
//
// Needs the device features shader-f16, subgroups and chromium-experimental-subgroup-matrix (an f16 × f16
// → f32 16×16×16 configuration) and a subgroup size of 32: src/kernels/matmul-tensor.ts checks all four
// before it offers this kernel.

enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
// The subgroup matrix builtins want offsets uniform across the workgroup; ours are uniform across each
// subgroup (they come from the subgroup's index), which is what the operations need.
diagnostic(off, chromium.subgroup_matrix_uniformity);

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  offA: u32,
  offB: u32,
  offC: u32,
  strideA: u32,
  strideB: u32,
  strideC: u32,
  alpha: f32,
  beta: f32,
  hasBias: u32,
  ldA: u32,
  ldC: u32,
  ldB: u32,
}

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> aux: array<vec4f>;
@group(0) @binding(5) var<uniform> params: Params;

override TRANS_A: u32 = 0u;
override TRANS_B: u32 = 0u;
override EPILOGUE: u32 = 0u;
override SG_M: u32 = 4u;
override SG_N: u32 = 2u;
override A_SCALE: f32 = 1.0;
override PROBE: u32 = 0u;

// The subgroup's block: FM × FN result matrices of 16 × 16. Function-scope arrays need const sizes: they
// hold the largest block (FM ≤ 4, FM·FN ≤ 8) and the loops, bounded by the overrides, touch what is used.
override FM: u32 = 2u;
override FN: u32 = 4u;
const MAX_FM = 4u;
const MAX_F = 8u;
const TILE_K = 32u;
// Halves of padding per staged row: rows stay 16-byte aligned and consecutive rows shift banks.
const PAD = 8u;

override BM: u32 = SG_M * FM * 16u;
override BN: u32 = SG_N * FN * 16u;
override THREADS: u32 = SG_M * SG_N * 32u;
// Row lengths of the staged tiles, in halves: along k (untransposed A, transposed B) or along m / n.
override SA: u32 = select(TILE_K, BM, TRANS_A == 1u) + PAD;
override SB: u32 = select(BN, TILE_K, TRANS_B == 1u) + PAD;
// Vec4s of a staged tile, and per invocation (the host keeps them ≤ 4, as multiples of THREADS).
override COUNT_A: u32 = BM * TILE_K / 4u;
override COUNT_B: u32 = BN * TILE_K / 4u;

var<workgroup> as_: array<f16, select(BM, TILE_K, TRANS_A == 1u) * SA>;
var<workgroup> bs: array<f16, select(TILE_K, BN, TRANS_B == 1u) * SB>;
var<workgroup> scratch: array<f32, SG_M * SG_N * 256u>;

fn ldA() -> u32 {
  return select(params.ldA, select(params.K, params.M, TRANS_A == 1u), params.ldA == 0u);
}

fn ldB() -> u32 {
  return select(params.ldB, select(params.N, params.K, TRANS_B == 1u), params.ldB == 0u);
}

fn ldC() -> u32 {
  return select(params.ldC, params.N, params.ldC == 0u);
}

// Vec4 e of the A tile in its stored layout (consecutive e are consecutive in memory along a row), zero
// outside the matrix; stashA puts it at the same place of the staged tile.
fn fetchA(base: u32, m0: u32, k0: u32, e: u32) -> vec4f {
  if (TRANS_A == 0u) {
    let m = m0 + e / (TILE_K / 4u);
    let k = k0 + 4u * (e % (TILE_K / 4u));
    if (m >= params.M || k >= params.K) {
      return vec4f();
    }
    return a[(base + m * ldA() + k) / 4u];
  }
  let k = k0 + e / (BM / 4u);
  let m = m0 + 4u * (e % (BM / 4u));
  if (m >= params.M || k >= params.K) {
    return vec4f();
  }
  return a[(base + k * ldA() + m) / 4u];
}

fn fetchB(base: u32, n0: u32, k0: u32, e: u32) -> vec4f {
  if (TRANS_B == 0u) {
    let k = k0 + e / (BN / 4u);
    let n = n0 + 4u * (e % (BN / 4u));
    if (n >= params.N || k >= params.K) {
      return vec4f();
    }
    return b[(base + k * ldB() + n) / 4u];
  }
  let n = n0 + e / (TILE_K / 4u);
  let k = k0 + 4u * (e % (TILE_K / 4u));
  if (n >= params.N || k >= params.K) {
    return vec4f();
  }
  return b[(base + n * ldB() + k) / 4u];
}

fn stashA(e: u32, v: vec4f) {
  let h = vec4<f16>(v * A_SCALE);
  let per = select(TILE_K, BM, TRANS_A == 1u) / 4u;
  let i = (e / per) * SA + 4u * (e % per);
  as_[i] = h.x;
  as_[i + 1u] = h.y;
  as_[i + 2u] = h.z;
  as_[i + 3u] = h.w;
}

fn stashB(e: u32, v: vec4f) {
  let h = vec4<f16>(v);
  let per = select(BN, TILE_K, TRANS_B == 1u) / 4u;
  let i = (e / per) * SB + 4u * (e % per);
  bs[i] = h.x;
  bs[i + 1u] = h.y;
  bs[i + 2u] = h.z;
  bs[i + 3u] = h.w;
}

// The 16 × 16 block of op(A) at rows r.., k kk.., and of op(B) at k kk.., columns q.., from the staged tiles.
fn leftAt(r: u32, kk: u32) -> subgroup_matrix_left<f16, 16, 16> {
  if (TRANS_A == 0u) {
    return subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&as_, r * SA + kk, SA);
  }
  return subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, col_major>(&as_, kk * SA + r, SA);
}

fn rightAt(kk: u32, q: u32) -> subgroup_matrix_right<f16, 16, 16> {
  if (TRANS_B == 0u) {
    return subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&bs, kk * SB + q, SB);
  }
  return subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&bs, q * SB + kk, SB);
}

fn epilogue(idx: u32, v: vec4f) -> vec4f {
  if (EPILOGUE == 1u) {
    let g0 = geluPair(v.x);
    let g1 = geluPair(v.y);
    let g2 = geluPair(v.z);
    let g3 = geluPair(v.w);
    aux[idx] = vec4f(g0.x, g1.x, g2.x, g3.x);
    return vec4f(g0.y, g1.y, g2.y, g3.y);
  } else if (EPILOGUE == 2u) {
    return aux[idx] + v;
  } else if (EPILOGUE == 3u) {
    return v * aux[idx];
  }
  return v;
}

/** Row m, columns n .. n + 3 of C[bt]: all four inside or all outside (N is a multiple of 4). */
fn store4(baseC: u32, m: u32, n: u32, acc: vec4f) {
  if (m >= params.M || n >= params.N) {
    return;
  }
  let idx = (baseC + m * ldC() + n) / 4u;
  var v = (params.alpha / A_SCALE) * acc;
  // beta = 0 must not read C: it may hold garbage (NaN) from an earlier use of the buffer.
  if (params.beta != 0.0) {
    v = fma(vec4f(params.beta), c[idx], v);
  }
  if (params.hasBias != 0u) {
    v += vec4f(bias[n], bias[n + 1u], bias[n + 2u], bias[n + 3u]);
  }
  c[idx] = epilogue(idx, v);
}

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_size) sgSize: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  let K = params.K;
  let sg = subgroupBroadcastFirst(lid / sgSize);
  let r0 = (sg / SG_N) * FM * 16u;
  let q0 = (sg % SG_N) * FN * 16u;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let e1 = lid + THREADS;
  let e2 = lid + 2u * THREADS;
  let e3 = lid + 3u * THREADS;
  let inA0 = COUNT_A >= THREADS || lid < COUNT_A;
  let inB0 = COUNT_B >= THREADS || lid < COUNT_B;
  let inA1 = COUNT_A > THREADS;
  let inA2 = COUNT_A > 2u * THREADS;
  let inA3 = COUNT_A > 3u * THREADS;
  let inB1 = COUNT_B > THREADS;
  let inB2 = COUNT_B > 2u * THREADS;
  let inB3 = COUNT_B > 3u * THREADS;

  for (var bt = wid.z; bt < params.batch; bt += nwg.z) {
    let baseA = params.offA + bt * params.strideA;
    let baseB = params.offB + bt * params.strideB;
    let baseC = params.offC + bt * params.strideC;

    var pa0 = vec4f();
    var pa1 = vec4f();
    var pa2 = vec4f();
    var pa3 = vec4f();
    var pb0 = vec4f();
    var pb1 = vec4f();
    var pb2 = vec4f();
    var pb3 = vec4f();
    if (inA0) { pa0 = fetchA(baseA, m0, 0u, lid); }
    if (inA1) { pa1 = fetchA(baseA, m0, 0u, e1); }
    if (inA2) { pa2 = fetchA(baseA, m0, 0u, e2); }
    if (inA3) { pa3 = fetchA(baseA, m0, 0u, e3); }
    if (inB0) { pb0 = fetchB(baseB, n0, 0u, lid); }
    if (inB1) { pb1 = fetchB(baseB, n0, 0u, e1); }
    if (inB2) { pb2 = fetchB(baseB, n0, 0u, e2); }
    if (inB3) { pb3 = fetchB(baseB, n0, 0u, e3); }

    var acc: array<subgroup_matrix_result<f32, 16, 16>, MAX_F>;
    var pl: array<subgroup_matrix_left<f16, 16, 16>, MAX_FM>;
    var pr: array<subgroup_matrix_right<f16, 16, 16>, 4>;
    if (PROBE == 4u) {
      if (inA0) { stashA(lid, pa0); }
      if (inB0) { stashB(lid, pb0); }
      workgroupBarrier();
      for (var i = 0u; i < FM; i++) { pl[i] = leftAt(r0 + 16u * i, 0u); }
      for (var j = 0u; j < FN; j++) { pr[j] = rightAt(0u, q0 + 16u * j); }
      for (var k0 = 0u; k0 < K; k0 += 16u) {
        for (var j = 0u; j < FN; j++) {
          for (var i = 0u; i < FM; i++) {
            acc[i * FN + j] = subgroupMatrixMultiplyAccumulate(pl[i], pr[j], acc[i * FN + j]);
          }
        }
      }
    }
    for (var k0 = 0u; k0 < select(K, 0u, PROBE == 4u); k0 += TILE_K) {
      if (PROBE != 1u || k0 == 0u) {
      if (inA0) { stashA(lid, pa0); }
      if (inA1) { stashA(e1, pa1); }
      if (inA2) { stashA(e2, pa2); }
      if (inA3) { stashA(e3, pa3); }
      if (inB0) { stashB(lid, pb0); }
      if (inB1) { stashB(e1, pb1); }
      if (inB2) { stashB(e2, pb2); }
      if (inB3) { stashB(e3, pb3); }
      }
      workgroupBarrier();

      let k1 = k0 + TILE_K;
      if (k1 < K && PROBE != 1u) {
        if (inA0) { pa0 = fetchA(baseA, m0, k1, lid); }
        if (inA1) { pa1 = fetchA(baseA, m0, k1, e1); }
        if (inA2) { pa2 = fetchA(baseA, m0, k1, e2); }
        if (inA3) { pa3 = fetchA(baseA, m0, k1, e3); }
        if (inB0) { pb0 = fetchB(baseB, n0, k1, lid); }
        if (inB1) { pb1 = fetchB(baseB, n0, k1, e1); }
        if (inB2) { pb2 = fetchB(baseB, n0, k1, e2); }
        if (inB3) { pb3 = fetchB(baseB, n0, k1, e3); }
      }

      for (var kk = 0u; kk < TILE_K; kk += 16u) {
        var left: array<subgroup_matrix_left<f16, 16, 16>, MAX_FM>;
        for (var i = 0u; i < FM; i++) {
          left[i] = leftAt(r0 + 16u * i, kk);
        }
        for (var j = 0u; j < FN; j++) {
          let right = rightAt(kk, q0 + 16u * j);
          for (var i = 0u; i < FM; i++) {
            if (PROBE != 2u) { acc[i * FN + j] = subgroupMatrixMultiplyAccumulate(left[i], right, acc[i * FN + j]); }
          }
        }
      }
      workgroupBarrier();
    }

    // Out through the subgroup's scratch matrix: 64 vec4s, two per invocation.
    let s0 = sg * 256u;
    for (var f = 0u; f < select(FM * FN, 1u, PROBE == 3u); f++) {
      subgroupMatrixStore<row_major>(&scratch, s0, acc[f], 16u);
      workgroupBarrier();
      let rowBase = m0 + r0 + 16u * (f / FN);
      let colBase = n0 + q0 + 16u * (f % FN);
      for (var h = 0u; h < 2u; h++) {
        let e = lane + 32u * h;
        let row = e / 4u;
        let col = 4u * (e % 4u);
        let o = s0 + row * 16u + col;
        store4(baseC, rowBase + row, colBase + col, vec4f(scratch[o], scratch[o + 1u], scratch[o + 2u], scratch[o + 3u]));
      }
      workgroupBarrier();
    }
  }
}
