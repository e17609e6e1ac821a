// Batched GEMM, the same contract as matmul.wgsl (bindings, Params, TRANS_A/TRANS_B, beta = 0 never
// reads C, offsets, strides, stride-0 sharing, the z loop over the batch), for large tiles:
//   C[bt] = alpha · op(A[bt]) · op(B[bt]) + beta · C[bt] + bias
//
// Each thread keeps an 8×8 register tile (64 accumulators), so that per k step it issues four 16-byte
// workgroup-memory loads for 64 FMAs (matmul.wgsl's 4×4 tile: 8 scalar loads for 16 FMAs, which caps it
// near half of the FP32 peak on NVIDIA, where an SM issues about one shared load per four FMA warps).
// The thread's 8 rows are two blocks of 4, ty·4 + {0..3} and 4·WG_M + ty·4 + {0..3}; columns likewise.
// The blocks are 4-aligned so that each is one vec4 of the staged tiles, and the 4·WG_M split keeps the
// threads of a warp on consecutive vec4s (conflict-free) rather than 8 apart.
//
// The next K tile is read from global memory into registers while the current one is multiplied, so
// the latency of the global loads hides behind the FMAs (register double buffering, one workgroup-memory
// copy). Global loads stay scalar with bounds checks: sizes, offsets and strides are arbitrary, and with
// 64 FMAs per thread per staged element pair their instruction count does not matter.

// The epilogue (override EPILOGUE) fuses the elementwise step that follows a matmul into its store, with
// v = alpha·acc + beta·C + bias as above and aux laid out as C (same offC, strideC, ldC):
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
}

// The reduction length of the batch item being computed (K, or kLast for the last item), set per item.
var<private> kBound: u32;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> aux: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

override TRANS_A: u32 = 0u;
override EPILOGUE: u32 = 0u;
override TRANS_B: u32 = 0u;
// Threads along M (y) and N (x); the workgroup tile is 8·WG_M × 8·WG_N.
override WG_M: u32 = 16u;
override WG_N: u32 = 16u;
override TILE_K: u32 = 8u;

// Prefetch registers per thread and operand: one vec4, written with constant component indices so that
// it stays in registers (a dynamically indexed array would live in local memory, 10× slower here). The
// host keeps TILE_K·8·WG / (WG_M·WG_N) ≤ 4.

// Staged tiles, k-major in vec4s: as_[kk·SA + v] holds op(A) rows m0 + 4v .. 4v + 3 at k0 + kk. One vec4
// of padding per k-row spreads the transposing stores (op(A) read along k) over all 32 banks.
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

fn fetchA(base: u32, m0: u32, k0: u32, e: u32) -> f32 {
  let tileM = 8u * WG_M;
  var mm: u32;
  var kk: u32;
  // Consecutive threads take consecutive addresses of the stored layout (coalesced).
  if (TRANS_A == 0u) {
    mm = e / TILE_K;
    kk = e % TILE_K;
  } else {
    kk = e / tileM;
    mm = e % tileM;
  }
  let m = m0 + mm;
  let k = k0 + kk;
  if (m >= params.M || k >= kBound) {
    return 0.0;
  }
  if (TRANS_A == 0u) {
    return a[base + m * ldA() + k];
  }
  return a[base + k * ldA() + m];
}

fn fetchB(base: u32, n0: u32, k0: u32, e: u32) -> f32 {
  let tileN = 8u * WG_N;
  var nn: u32;
  var kk: u32;
  if (TRANS_B == 0u) {
    kk = e / tileN;
    nn = e % tileN;
  } else {
    nn = e / TILE_K;
    kk = e % TILE_K;
  }
  let n = n0 + nn;
  let k = k0 + kk;
  if (n >= params.N || k >= kBound) {
    return 0.0;
  }
  if (TRANS_B == 0u) {
    return b[base + k * ldB() + n];
  }
  return b[base + n * ldB() + k];
}

fn stashA(e: u32, v: f32) {
  let tileM = 8u * WG_M;
  var mm: u32;
  var kk: u32;
  if (TRANS_A == 0u) {
    mm = e / TILE_K;
    kk = e % TILE_K;
  } else {
    kk = e / tileM;
    mm = e % tileM;
  }
  as_[kk * (2u * WG_M + 1u) + mm / 4u][mm % 4u] = v;
}

fn stashB(e: u32, v: f32) {
  let tileN = 8u * WG_N;
  var nn: u32;
  var kk: u32;
  if (TRANS_B == 0u) {
    kk = e / tileN;
    nn = e % tileN;
  } else {
    nn = e / TILE_K;
    kk = e % TILE_K;
  }
  bs[kk * (2u * WG_N + 1u) + nn / 4u][nn % 4u] = v;
}

fn fetchA4(base: u32, m0: u32, k0: u32, lid: u32, threads: u32) -> vec4f {
  let count = TILE_K * 8u * WG_M;
  var v = vec4f();
  if (lid < count) { v.x = fetchA(base, m0, k0, lid); }
  if (lid + threads < count) { v.y = fetchA(base, m0, k0, lid + threads); }
  if (lid + 2u * threads < count) { v.z = fetchA(base, m0, k0, lid + 2u * threads); }
  if (lid + 3u * threads < count) { v.w = fetchA(base, m0, k0, lid + 3u * threads); }
  return v;
}

fn fetchB4(base: u32, n0: u32, k0: u32, lid: u32, threads: u32) -> vec4f {
  let count = TILE_K * 8u * WG_N;
  var v = vec4f();
  if (lid < count) { v.x = fetchB(base, n0, k0, lid); }
  if (lid + threads < count) { v.y = fetchB(base, n0, k0, lid + threads); }
  if (lid + 2u * threads < count) { v.z = fetchB(base, n0, k0, lid + 2u * threads); }
  if (lid + 3u * threads < count) { v.w = fetchB(base, n0, k0, lid + 3u * threads); }
  return v;
}

fn stashA4(lid: u32, threads: u32, v: vec4f) {
  let count = TILE_K * 8u * WG_M;
  if (lid < count) { stashA(lid, v.x); }
  if (lid + threads < count) { stashA(lid + threads, v.y); }
  if (lid + 2u * threads < count) { stashA(lid + 2u * threads, v.z); }
  if (lid + 3u * threads < count) { stashA(lid + 3u * threads, v.w); }
}

fn stashB4(lid: u32, threads: u32, v: vec4f) {
  let count = TILE_K * 8u * WG_N;
  if (lid < count) { stashB(lid, v.x); }
  if (lid + threads < count) { stashB(lid + threads, v.y); }
  if (lid + 2u * threads < count) { stashB(lid + 2u * threads, v.z); }
  if (lid + 3u * threads < count) { stashB(lid + 3u * threads, v.w); }
}

// epilogue(idx, v): matmul-epilogue.wgsl, prepended with gelu-math.wgsl (src/kernels/matmul.ts).

/** Row m, columns n .. n + 3 of C[bt], each within bounds. */
fn store4(baseC: u32, m: u32, n: u32, acc: vec4f) {
  if (m >= params.M) {
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (n + j >= params.N) {
      return;
    }
    let idx = baseC + m * ldC() + n + j;
    var v = params.alpha * acc[j];
    // beta = 0 must not read C: it may hold garbage (NaN) from an earlier use of the buffer.
    if (params.beta != 0.0) {
      v = fma(params.beta, c[idx], v);
    }
    if (params.hasBias != 0u) {
      v += bias[n + j];
    }
    c[idx] = epilogue(idx, v);
  }
}

@compute @workgroup_size(WG_N, WG_M)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let K = params.K;
  let threads = WG_M * WG_N;
  let SA = 2u * WG_M + 1u;
  let SB = 2u * WG_N + 1u;
  let m0 = wid.y * 8u * WG_M;
  let n0 = wid.x * 8u * WG_N;
  let tx = local.x;
  let ty = local.y;

  for (var bt = wid.z; bt < params.batch; bt += nwg.z) {
    kBound = select(params.K, params.kLast, params.kLast != 0u && bt + 1u == params.batch);
    let baseA = params.offA + bt * params.strideA;
    let baseB = params.offB + bt * params.strideB;
    let baseC = params.offC + bt * params.strideC;

    var pa = fetchA4(baseA, m0, 0u, lid, threads);
    var pb = fetchB4(baseB, n0, 0u, lid, threads);

    // acc[2r + h]: row block r (rows 4·WG_M·(r / 4) + 4·ty + r % 4), column block h. Zeroed per batch item.
    var acc = array<vec4f, 16>();
    for (var k0 = 0u; k0 < K; k0 += TILE_K) {
      stashA4(lid, threads, pa);
      stashB4(lid, threads, pb);
      workgroupBarrier();

      let k1 = k0 + TILE_K;
      if (k1 < K) {
        pa = fetchA4(baseA, m0, k1, lid, threads);
        pb = fetchB4(baseB, n0, k1, lid, threads);
      }

      for (var kk = 0u; kk < TILE_K; kk++) {
        let a0 = as_[kk * SA + ty];
        let a1 = as_[kk * SA + WG_M + ty];
        let b0 = bs[kk * SB + tx];
        let b1 = bs[kk * SB + WG_N + tx];
        acc[0] = fma(vec4f(a0.x), b0, acc[0]);
        acc[1] = fma(vec4f(a0.x), b1, acc[1]);
        acc[2] = fma(vec4f(a0.y), b0, acc[2]);
        acc[3] = fma(vec4f(a0.y), b1, acc[3]);
        acc[4] = fma(vec4f(a0.z), b0, acc[4]);
        acc[5] = fma(vec4f(a0.z), b1, acc[5]);
        acc[6] = fma(vec4f(a0.w), b0, acc[6]);
        acc[7] = fma(vec4f(a0.w), b1, acc[7]);
        acc[8] = fma(vec4f(a1.x), b0, acc[8]);
        acc[9] = fma(vec4f(a1.x), b1, acc[9]);
        acc[10] = fma(vec4f(a1.y), b0, acc[10]);
        acc[11] = fma(vec4f(a1.y), b1, acc[11]);
        acc[12] = fma(vec4f(a1.z), b0, acc[12]);
        acc[13] = fma(vec4f(a1.z), b1, acc[13]);
        acc[14] = fma(vec4f(a1.w), b0, acc[14]);
        acc[15] = fma(vec4f(a1.w), b1, acc[15]);
      }
      workgroupBarrier();
    }

    // Constant indices into acc throughout (see the prefetch registers above).
    let r0 = m0 + 4u * ty;
    let r1 = r0 + 4u * WG_M;
    let c0 = n0 + 4u * tx;
    let c1 = c0 + 4u * WG_N;
    store4(baseC, r0, c0, acc[0]);
    store4(baseC, r0, c1, acc[1]);
    store4(baseC, r0 + 1u, c0, acc[2]);
    store4(baseC, r0 + 1u, c1, acc[3]);
    store4(baseC, r0 + 2u, c0, acc[4]);
    store4(baseC, r0 + 2u, c1, acc[5]);
    store4(baseC, r0 + 3u, c0, acc[6]);
    store4(baseC, r0 + 3u, c1, acc[7]);
    store4(baseC, r1, c0, acc[8]);
    store4(baseC, r1, c1, acc[9]);
    store4(baseC, r1 + 1u, c0, acc[10]);
    store4(baseC, r1 + 1u, c1, acc[11]);
    store4(baseC, r1 + 2u, c0, acc[12]);
    store4(baseC, r1 + 2u, c1, acc[13]);
    store4(baseC, r1 + 3u, c0, acc[14]);
    store4(baseC, r1 + 3u, c1, acc[15]);
  }
}
