// matmul-wide.wgsl with 16-byte global loads and stores: the same contract (bindings, Params, TRANS_A/
// TRANS_B, beta = 0 never reads C, offsets, strides, stride-0 sharing, the z loop over the batch), for
// shapes the host has checked to be 4-aligned: M, N, K, every offset, stride and ld multiples of 4
// (matmulVec4Aligned in src/kernels/matmul.ts). Then every row of every operand starts on a 16-byte
// boundary and a vec4 of 4 consecutive elements is either wholly inside the matrix or wholly outside,
// so edge tiles keep a bounds check per vec4 (zero-filled when outside) rather than per float.
//
// a, b and c are bound as array<vec4f>: an aligned vec4 load is what lets the compiler issue one
// 128-bit global load (four f32 loads from an array<f32> stay four). A buffer whose size is not a
// multiple of 16 bytes loses its last partial vec4 to the binding, but under the alignment check every
// block ends on a multiple of 4 elements, so no element in use is in that tail.
//
// The compute loop and register tiles are those of matmul-wide.wgsl (see there for why).

// The epilogue (override EPILOGUE) fuses the elementwise step that follows a matmul into its store, with
// v = alpha·acc + beta·C + bias (+ s·u·Bᵀ_run with LORA_R > 0, see loraTerm) and aux laid out as C (same
// offC, strideC, ldC):
//   0 none:      C = v                      (aux unused: the host binds a 16-byte placeholder)
//   1 gelu:      C = gelu'(v), aux = gelu(v) (c_fc: C = fcSlope, kept for the backward; aux = fcOut)
//   2 residual:  C = aux + v                (c_proj: aux = the residual stream; C may be in place)
//   3 geluGrad:  C = v · aux                (dFc: aux = fcSlope, the forward's gelu')
// geluPair comes from gelu-math.wgsl, prepended by src/kernels/matmul.ts: the same float32 expressions as
// the gelu kernels' gelu and geluDerivative (gelu.wgsl), so the fused result is the unfused one. Storing the
// slope in the forward leaves the backward one multiply instead of an exp and a division per element.

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
  // K of the last batch item when it is shorter (0: K like the others): a split-K product whose chunks do
  // not divide K (src/kernels/matmul-splitk.ts) reads zeros past the matrix's end rather than the next row.
  kLast: u32,
  // The LoRA term (LORA_R > 0, see loraTerm): its scale s, where run 0's Bᵀ starts in loraB and how far
  // apart the runs' are (elements), and the rows of C per run.
  loraScale: f32,
  loraOffB: u32,
  loraStrideB: u32,
  loraRows: u32,
}

// The reduction length of the batch item being computed (K, or kLast for the last item), set per item.
var<private> kBound: u32;

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> aux: array<vec4f>;
// LORA_R > 0: u [rows of C, LORA_R] and the runs' Bᵀ [N, LORA_R] (each at loraOffB + run · loraStrideB).
// Unused (LORA_R = 0), the host binds b to both.
@group(0) @binding(5) var<storage, read> loraU: array<vec4f>;
@group(0) @binding(6) var<storage, read> loraB: array<vec4f>;
@group(0) @binding(7) var<uniform> params: Params;

override TRANS_A: u32 = 0u;
override EPILOGUE: u32 = 0u;
// LoRA's rank r when the product also adds LoRA's up-projection (a multiple of 4; 0: it does not).
override LORA_R: u32 = 0u;
override TRANS_B: u32 = 0u;
override WG_M: u32 = 16u;
override WG_N: u32 = 16u;
// A multiple of 4 (a vec4 along k). The host keeps the vec4s of a staged tile ≤ 4 per thread.
override TILE_K: u32 = 8u;

// Vec4s of a staged tile per thread, as pipeline constants: the slots a configuration does not use fold
// away with their registers (live but unused prefetch registers cost occupancy at 64 accumulators).
override THREADS: u32 = WG_M * WG_N;
override COUNT_A: u32 = TILE_K * 2u * WG_M;
override COUNT_B: u32 = TILE_K * 2u * WG_N;

var<workgroup> as_: array<vec4f, TILE_K * (2u * WG_M + 1u)>;
var<workgroup> bs: array<vec4f, TILE_K * (2u * WG_N + 1u)>;

// Elements between consecutive rows of A as stored (M×K, or K×M when TRANS_A = 1) and of C: params.ldA and
// params.ldC, with 0 for packed rows (K or M, and N). A wider ld makes the operand a block of columns of a
// wider matrix (the tied LM head over a vocabulary split in pieces: logits[:, piece], dlogits[:, piece]).
fn ldA() -> u32 {
  return select(params.ldA, select(params.K, params.M, TRANS_A == 1u), params.ldA == 0u);
}

fn ldC() -> u32 {
  return select(params.ldC, params.N, params.ldC == 0u);
}

// Elements between consecutive rows of B as stored (K×N, or N×K when TRANS_B = 1); 0: packed. Wider, B is a
// block of columns of a wider matrix (a split-K chunk of Wᵀ: matmul-splitk.ts).
fn ldB() -> u32 {
  return select(params.ldB, select(params.N, params.K, TRANS_B == 1u), params.ldB == 0u);
}

// Vec4 e of the A tile; consecutive e follow the stored layout (coalesced): along k for A (M×K), along m
// for Aᵀ (stored K×M). The tile is 8·WG_M × TILE_K: TILE_K / 4 vec4s per row, or 2·WG_M per k.
fn fetchA(base: u32, m0: u32, k0: u32, e: u32) -> vec4f {
  if (TRANS_A == 0u) {
    let m = m0 + e / (TILE_K / 4u);
    let k = k0 + 4u * (e % (TILE_K / 4u));
    if (m >= params.M || k >= kBound) {
      return vec4f();
    }
    return a[(base + m * ldA() + k) / 4u];
  }
  let k = k0 + e / (2u * WG_M);
  let m = m0 + 4u * (e % (2u * WG_M));
  if (m >= params.M || k >= kBound) {
    return vec4f();
  }
  return a[(base + k * ldA() + m) / 4u];
}

fn fetchB(base: u32, n0: u32, k0: u32, e: u32) -> vec4f {
  if (TRANS_B == 0u) {
    let k = k0 + e / (2u * WG_N);
    let n = n0 + 4u * (e % (2u * WG_N));
    if (n >= params.N || k >= kBound) {
      return vec4f();
    }
    return b[(base + k * ldB() + n) / 4u];
  }
  let n = n0 + e / (TILE_K / 4u);
  let k = k0 + 4u * (e % (TILE_K / 4u));
  if (n >= params.N || k >= kBound) {
    return vec4f();
  }
  return b[(base + n * ldB() + k) / 4u];
}

// The staged tiles are k-major (as in matmul-wide.wgsl): a vec4 read along m (or n) is one store, a
// vec4 read along k is four scalar stores into four k-rows.
fn stashA(e: u32, v: vec4f) {
  let SA = 2u * WG_M + 1u;
  if (TRANS_A == 0u) {
    let mm = e / (TILE_K / 4u);
    let kk = 4u * (e % (TILE_K / 4u));
    let q = mm / 4u;
    let j = mm % 4u;
    as_[kk * SA + q][j] = v.x;
    as_[(kk + 1u) * SA + q][j] = v.y;
    as_[(kk + 2u) * SA + q][j] = v.z;
    as_[(kk + 3u) * SA + q][j] = v.w;
  } else {
    as_[(e / (2u * WG_M)) * SA + e % (2u * WG_M)] = v;
  }
}

fn stashB(e: u32, v: vec4f) {
  let SB = 2u * WG_N + 1u;
  if (TRANS_B == 0u) {
    bs[(e / (2u * WG_N)) * SB + e % (2u * WG_N)] = v;
  } else {
    let nn = e / (TILE_K / 4u);
    let kk = 4u * (e % (TILE_K / 4u));
    let q = nn / 4u;
    let j = nn % 4u;
    bs[kk * SB + q][j] = v.x;
    bs[(kk + 1u) * SB + q][j] = v.y;
    bs[(kk + 2u) * SB + q][j] = v.z;
    bs[(kk + 3u) * SB + q][j] = v.w;
  }
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

/**
 * LoRA's up-projection for row m, columns n .. n + 3 (batch 1): t = Σ_j u[m, j] · Bᵀ_run[n + i, j] with
 * run = m / loraRows, multiplied-added in j order from zero, as the separate product u · Bᵀ_run (K = r,
 * matmulWideVec4 NT) accumulates it. The caller adds s · t to v as that product's store with beta 1 did
 * (fma(1, v, s · t)), so C is the same float32 as the two products' (src/kernels/lora.ts).
 */
fn loraTerm(m: u32, n: u32) -> vec4f {
  let run = m / params.loraRows;
  let baseU = m * (LORA_R / 4u);
  let baseB = (params.loraOffB + run * params.loraStrideB + n * LORA_R) / 4u;
  var t0 = 0.0;
  var t1 = 0.0;
  var t2 = 0.0;
  var t3 = 0.0;
  for (var q = 0u; q < LORA_R / 4u; q++) {
    let u = loraU[baseU + q];
    let b0 = loraB[baseB + q];
    let b1 = loraB[baseB + LORA_R / 4u + q];
    let b2 = loraB[baseB + 2u * (LORA_R / 4u) + q];
    let b3 = loraB[baseB + 3u * (LORA_R / 4u) + q];
    t0 = fma(u.w, b0.w, fma(u.z, b0.z, fma(u.y, b0.y, fma(u.x, b0.x, t0))));
    t1 = fma(u.w, b1.w, fma(u.z, b1.z, fma(u.y, b1.y, fma(u.x, b1.x, t1))));
    t2 = fma(u.w, b2.w, fma(u.z, b2.z, fma(u.y, b2.y, fma(u.x, b2.x, t2))));
    t3 = fma(u.w, b3.w, fma(u.z, b3.z, fma(u.y, b3.y, fma(u.x, b3.x, t3))));
  }
  return vec4f(t0, t1, t2, t3);
}

/** Row m, columns n .. n + 3 of C[bt]: all four inside or all outside (N is a multiple of 4). */
fn store4(baseC: u32, m: u32, n: u32, acc: vec4f) {
  if (m >= params.M || n >= params.N) {
    return;
  }
  let idx = (baseC + m * ldC() + n) / 4u;
  var v = params.alpha * acc;
  // beta = 0 must not read C: it may hold garbage (NaN) from an earlier use of the buffer.
  if (params.beta != 0.0) {
    v = fma(vec4f(params.beta), c[idx], v);
  }
  if (params.hasBias != 0u) {
    v += vec4f(bias[n], bias[n + 1u], bias[n + 2u], bias[n + 3u]);
  }
  if (LORA_R > 0u) {
    v = fma(vec4f(1.0), v, params.loraScale * loraTerm(m, n));
  }
  c[idx] = epilogue(idx, v);
}

@compute @workgroup_size(WG_N, WG_M)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let K = params.K;
  let SA = 2u * WG_M + 1u;
  let SB = 2u * WG_N + 1u;
  let m0 = wid.y * 8u * WG_M;
  let n0 = wid.x * 8u * WG_N;
  let tx = local.x;
  let ty = local.y;
  // Slot i handles vec4 lid + i·THREADS of a tile; the first test of each guard is a pipeline constant.
  let e1 = lid + THREADS;
  let e2 = lid + 2u * THREADS;
  let e3 = lid + 3u * THREADS;
  let inA0 = COUNT_A >= THREADS || lid < COUNT_A;
  let inA1 = COUNT_A > THREADS && e1 < COUNT_A;
  let inA2 = COUNT_A > 2u * THREADS && e2 < COUNT_A;
  let inA3 = COUNT_A > 3u * THREADS && e3 < COUNT_A;
  let inB0 = COUNT_B >= THREADS || lid < COUNT_B;
  let inB1 = COUNT_B > THREADS && e1 < COUNT_B;
  let inB2 = COUNT_B > 2u * THREADS && e2 < COUNT_B;
  let inB3 = COUNT_B > 3u * THREADS && e3 < COUNT_B;

  for (var bt = wid.z; bt < params.batch; bt += nwg.z) {
    kBound = select(params.K, params.kLast, params.kLast != 0u && bt + 1u == params.batch);
    let baseA = params.offA + bt * params.strideA;
    let baseB = params.offB + bt * params.strideB;
    let baseC = params.offC + bt * params.strideC;

    // Prefetch registers, named (not an array) so they stay in registers.
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

    // Named rather than an array: on the H200 the array form ran 5–15 % slower (bench/experiments/matmul-variants).
    var acc0 = vec4f();
    var acc1 = vec4f();
    var acc2 = vec4f();
    var acc3 = vec4f();
    var acc4 = vec4f();
    var acc5 = vec4f();
    var acc6 = vec4f();
    var acc7 = vec4f();
    var acc8 = vec4f();
    var acc9 = vec4f();
    var acc10 = vec4f();
    var acc11 = vec4f();
    var acc12 = vec4f();
    var acc13 = vec4f();
    var acc14 = vec4f();
    var acc15 = vec4f();
    for (var k0 = 0u; k0 < K; k0 += TILE_K) {
      if (inA0) { stashA(lid, pa0); }
      if (inA1) { stashA(e1, pa1); }
      if (inA2) { stashA(e2, pa2); }
      if (inA3) { stashA(e3, pa3); }
      if (inB0) { stashB(lid, pb0); }
      if (inB1) { stashB(e1, pb1); }
      if (inB2) { stashB(e2, pb2); }
      if (inB3) { stashB(e3, pb3); }
      workgroupBarrier();

      let k1 = k0 + TILE_K;
      if (k1 < K) {
        if (inA0) { pa0 = fetchA(baseA, m0, k1, lid); }
        if (inA1) { pa1 = fetchA(baseA, m0, k1, e1); }
        if (inA2) { pa2 = fetchA(baseA, m0, k1, e2); }
        if (inA3) { pa3 = fetchA(baseA, m0, k1, e3); }
        if (inB0) { pb0 = fetchB(baseB, n0, k1, lid); }
        if (inB1) { pb1 = fetchB(baseB, n0, k1, e1); }
        if (inB2) { pb2 = fetchB(baseB, n0, k1, e2); }
        if (inB3) { pb3 = fetchB(baseB, n0, k1, e3); }
      }

      // One k per iteration here; src/kernels/matmul.ts (unrollMatmulK) repeats the body TILE_K times with kk a
      // constant before the shader is compiled: WGSL has no unroll attribute, the driver's compiler did not unroll
      // it, and unrolled the kernel ran 9–25 % faster on the H200 (bench/experiments/matmul-variants).
      for (var kk = 0u; kk < TILE_K; kk++) {
        let a0 = as_[kk * SA + ty];
        let a1 = as_[kk * SA + WG_M + ty];
        let b0 = bs[kk * SB + tx];
        let b1 = bs[kk * SB + WG_N + tx];
        acc0 = fma(vec4f(a0.x), b0, acc0);
        acc1 = fma(vec4f(a0.x), b1, acc1);
        acc2 = fma(vec4f(a0.y), b0, acc2);
        acc3 = fma(vec4f(a0.y), b1, acc3);
        acc4 = fma(vec4f(a0.z), b0, acc4);
        acc5 = fma(vec4f(a0.z), b1, acc5);
        acc6 = fma(vec4f(a0.w), b0, acc6);
        acc7 = fma(vec4f(a0.w), b1, acc7);
        acc8 = fma(vec4f(a1.x), b0, acc8);
        acc9 = fma(vec4f(a1.x), b1, acc9);
        acc10 = fma(vec4f(a1.y), b0, acc10);
        acc11 = fma(vec4f(a1.y), b1, acc11);
        acc12 = fma(vec4f(a1.z), b0, acc12);
        acc13 = fma(vec4f(a1.z), b1, acc13);
        acc14 = fma(vec4f(a1.w), b0, acc14);
        acc15 = fma(vec4f(a1.w), b1, acc15);
      }
      workgroupBarrier();
    }

    let r0 = m0 + 4u * ty;
    let r1 = r0 + 4u * WG_M;
    let c0 = n0 + 4u * tx;
    let c1 = c0 + 4u * WG_N;
    store4(baseC, r0, c0, acc0);
    store4(baseC, r0, c1, acc1);
    store4(baseC, r0 + 1u, c0, acc2);
    store4(baseC, r0 + 1u, c1, acc3);
    store4(baseC, r0 + 2u, c0, acc4);
    store4(baseC, r0 + 2u, c1, acc5);
    store4(baseC, r0 + 3u, c0, acc6);
    store4(baseC, r0 + 3u, c1, acc7);
    store4(baseC, r1, c0, acc8);
    store4(baseC, r1, c1, acc9);
    store4(baseC, r1 + 1u, c0, acc10);
    store4(baseC, r1 + 1u, c1, acc11);
    store4(baseC, r1 + 2u, c0, acc12);
    store4(baseC, r1 + 2u, c1, acc13);
    store4(baseC, r1 + 3u, c0, acc14);
    store4(baseC, r1 + 3u, c1, acc15);
  }
}
