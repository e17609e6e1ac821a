// matmul-wide-vec4.wgsl's contract, unchanged: bindings, Params, TRANS_A/TRANS_B, EPILOGUE, beta = 0 never
// reads C, offsets, ld, strides, stride-0 sharing, the z loop over the batch, and 4-aligned shapes only
// (matmulVec4Aligned in src/kernels/matmul.ts). The same 8×8 register tile per thread (two 4-aligned blocks
// of rows and of columns, 4·WG_M and 4·WG_N apart), the same register prefetch of the next K tile, vec4
// workgroup-memory reads of both fragments from k-major tiles. What differs is the staging:
//
// - STAGES = 2 keeps two workgroup copies of the tiles. Tile t + 1 is fetched into registers, tile t is
//   multiplied from one copy, then the registers go into the other: one barrier per K tile instead of two
//   (the next tile's stores cannot overwrite what a slower thread still reads). STAGES = 1: one copy, two
//   barriers, as matmul-wide-vec4.wgsl.
// - The tiles are not padded but swizzled: vec4 column q of k-row k is stored at q ^ swizzle(k). The
//   transposing stores (one vec4 along k of A in NN/NT or of B in NT becomes four scalars in four k-rows)
//   then hit 32 distinct banks per warp, where a 1-vec4 padding leaves them 2-way (TILE_K 16) to 4-way
//   (TILE_K 32) conflicted, and the vec4 reads of the multiply stay conflict-free. Unpadded, 16×16 threads
//   with TILE_K 16 and two stages (or TILE_K 32 and one) take exactly 32 KiB.
// - Each 32 consecutive invocations (a warp on NVIDIA, where the subgroup is 32 wide) compute a 4 × 8 block
//   of threads rather than 2 × 16: per k their fragment reads cover 4 A and 8 B vec4s, one workgroup-memory
//   wavefront each, instead of 2 and 16 (two wavefronts for B). Global loads keep the invocation order.
// - The store computes each row's index once, loads the bias as two vec4s (not 64 scalars) and keeps
//   only one bounds test per row and per column block.
//
// The epilogue (override EPILOGUE) fuses the elementwise step that follows a matmul into its store, with
// v = alpha·acc + beta·C + bias and aux laid out as C (same offC, strideC, ldC):
//   0 none:      C = v                      (aux unused: the host binds a 16-byte placeholder)
//   1 gelu:      C = gelu'(v), aux = gelu(v) (c_fc: C = fcSlope, kept for the backward; aux = fcOut)
//   2 residual:  C = aux + v                (c_proj: aux = the residual stream; C may be in place)
//   3 geluGrad:  C = v · aux                (dFc: aux = fcSlope, the forward's gelu')
// geluPair comes from gelu-math.wgsl, prepended by src/kernels/matmul.ts.

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

@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;
// N is a multiple of 4 and the bias starts at element 0: bias[n / 4] holds columns n .. n + 3.
@group(0) @binding(2) var<storage, read> bias: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> aux: array<vec4f>;
@group(0) @binding(5) var<uniform> params: Params;

override TRANS_A: u32 = 0u;
override TRANS_B: u32 = 0u;
override EPILOGUE: u32 = 0u;
// Threads along M (y) and N (x), powers of two; the workgroup tile is 8·WG_M × 8·WG_N.
override WG_M: u32 = 16u;
override WG_N: u32 = 16u;
// A multiple of 4 (a vec4 along k). The host keeps the vec4s of a staged tile ≤ 4 per thread.
override TILE_K: u32 = 16u;
// 1 or 2 workgroup copies of the tiles.
override STAGES: u32 = 2u;

override THREADS: u32 = WG_M * WG_N;
// Vec4s of a staged tile, and of one k-row of it.
override COUNT_A: u32 = TILE_K * 2u * WG_M;
override COUNT_B: u32 = TILE_K * 2u * WG_N;
override ROW_A: u32 = 2u * WG_M;
override ROW_B: u32 = 2u * WG_N;
// The 4 × 8 thread blocks of 32 invocations, where the workgroup is made of them.
override WARP_BLOCKS: bool = WG_N % 8u == 0u && WG_M % 4u == 0u;
override WARPS_N: u32 = max(1u, WG_N / 8u);
// A warp's transposing stores cover TILE_K / 4 vec4s along k of 32 / (TILE_K / 4) rows: 8 / (TILE_K / 4)
// vec4 columns, times the TILE_K / 4 groups of 4 k-rows. XOR-ing group g's columns with g · that spreads
// them over 8 distinct vec4 columns, i.e. all 32 banks.
override SWIZZLE_STEP: u32 = max(1u, 32u / TILE_K);

var<workgroup> as_: array<vec4f, STAGES * COUNT_A>;
var<workgroup> bs: array<vec4f, STAGES * COUNT_B>;

// The XOR applied to the vec4 columns of k-rows k .. k + 3 (k a multiple of 4): below min(8, row), so that
// it permutes the columns of a row (a power of two).
fn swizzle(k: u32, row: u32) -> u32 {
  return ((k / 4u) * SWIZZLE_STEP) & (min(8u, row) - 1u);
}

// Elements between consecutive rows of A as stored (M×K, or K×M when TRANS_A = 1) and of C: params.ldA and
// params.ldC, with 0 for packed rows (K or M, and N).
fn ldA() -> u32 {
  return select(params.ldA, select(params.K, params.M, TRANS_A == 1u), params.ldA == 0u);
}

fn ldC() -> u32 {
  return select(params.ldC, params.N, params.ldC == 0u);
}

// Elements between consecutive rows of B as stored (K×N, or N×K when TRANS_B = 1); 0: packed (a split-K chunk
// of Wᵀ is a block of columns: matmul-splitk.ts).
fn ldB() -> u32 {
  return select(params.ldB, select(params.N, params.K, TRANS_B == 1u), params.ldB == 0u);
}

// Vec4 e of the A tile; consecutive e follow the stored layout (coalesced): along k for A (M×K), along m
// for Aᵀ (stored K×M). Zero outside the matrix (edge tiles, the K tail).
fn fetchA(base: u32, m0: u32, k0: u32, e: u32) -> vec4f {
  if (TRANS_A == 0u) {
    let m = m0 + e / (TILE_K / 4u);
    let k = k0 + 4u * (e % (TILE_K / 4u));
    if (m >= params.M || k >= kBound) {
      return vec4f();
    }
    return a[(base + m * ldA() + k) / 4u];
  }
  let k = k0 + e / ROW_A;
  let m = m0 + 4u * (e % ROW_A);
  if (m >= params.M || k >= kBound) {
    return vec4f();
  }
  return a[(base + k * ldA() + m) / 4u];
}

fn fetchB(base: u32, n0: u32, k0: u32, e: u32) -> vec4f {
  if (TRANS_B == 0u) {
    let k = k0 + e / ROW_B;
    let n = n0 + 4u * (e % ROW_B);
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

// Into stage `stage` of the k-major tiles: a vec4 along m (or n) is one store, a vec4 along k four scalar
// stores into four k-rows (one swizzle: k .. k + 3 share it).
fn stashA(stage: u32, e: u32, v: vec4f) {
  let base = stage * COUNT_A;
  if (TRANS_A == 0u) {
    let mm = e / (TILE_K / 4u);
    let kk = 4u * (e % (TILE_K / 4u));
    let q = (mm / 4u) ^ swizzle(kk, ROW_A);
    let j = mm % 4u;
    let at = base + kk * ROW_A + q;
    as_[at][j] = v.x;
    as_[at + ROW_A][j] = v.y;
    as_[at + 2u * ROW_A][j] = v.z;
    as_[at + 3u * ROW_A][j] = v.w;
  } else {
    let kk = e / ROW_A;
    as_[base + kk * ROW_A + ((e % ROW_A) ^ swizzle(kk & ~3u, ROW_A))] = v;
  }
}

fn stashB(stage: u32, e: u32, v: vec4f) {
  let base = stage * COUNT_B;
  if (TRANS_B == 0u) {
    let kk = e / ROW_B;
    bs[base + kk * ROW_B + ((e % ROW_B) ^ swizzle(kk & ~3u, ROW_B))] = v;
  } else {
    let nn = e / (TILE_K / 4u);
    let kk = 4u * (e % (TILE_K / 4u));
    let q = (nn / 4u) ^ swizzle(kk, ROW_B);
    let j = nn % 4u;
    let at = base + kk * ROW_B + q;
    bs[at][j] = v.x;
    bs[at + ROW_B][j] = v.y;
    bs[at + 2u * ROW_B][j] = v.z;
    bs[at + 3u * ROW_B][j] = v.w;
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

// C at vec4 index idx from the accumulators and that column block's bias (zero without one).
fn store4(idx: u32, acc: vec4f, bias4: vec4f) {
  var v = params.alpha * acc;
  // beta = 0 must not read C: it may hold garbage (NaN) from an earlier use of the buffer.
  if (params.beta != 0.0) {
    v = fma(vec4f(params.beta), c[idx], v);
  }
  if (params.hasBias != 0u) {
    v += bias4;
  }
  c[idx] = epilogue(idx, v);
}

// Row m of C[bt] (element index `row` of its column 0) from the thread's two column blocks c0 and c1.
fn storeRow(row: u32, m: u32, c0: u32, c1: u32, bias0: vec4f, bias1: vec4f, v0: vec4f, v1: vec4f) {
  if (m >= params.M) {
    return;
  }
  if (c0 < params.N) {
    store4((row + c0) / 4u, v0, bias0);
  }
  if (c1 < params.N) {
    store4((row + c1) / 4u, v1, bias1);
  }
}

@compute @workgroup_size(WG_N, WG_M)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let K = params.K;
  let m0 = wid.y * 8u * WG_M;
  let n0 = wid.x * 8u * WG_N;
  let lane = lid % 32u;
  let warp = lid / 32u;
  let tx = select(lid % WG_N, (warp % WARPS_N) * 8u + lane % 8u, WARP_BLOCKS);
  let ty = select(lid / WG_N, (warp / WARPS_N) * 4u + lane / 8u, WARP_BLOCKS);
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
  let tiles = (K + TILE_K - 1u) / TILE_K;

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
    if (inA0) { stashA(0u, lid, pa0); }
    if (inA1) { stashA(0u, e1, pa1); }
    if (inA2) { stashA(0u, e2, pa2); }
    if (inA3) { stashA(0u, e3, pa3); }
    if (inB0) { stashB(0u, lid, pb0); }
    if (inB1) { stashB(0u, e1, pb1); }
    if (inB2) { stashB(0u, e2, pb2); }
    if (inB3) { stashB(0u, e3, pb3); }
    workgroupBarrier();

    var acc = array<vec4f, 16>();
    for (var t = 0u; t < tiles; t++) {
      let stage = select(0u, t % 2u, STAGES == 2u);
      let more = t + 1u < tiles;
      // The next tile's global loads are in flight during the FMAs below.
      if (more) {
        let k1 = (t + 1u) * TILE_K;
        if (inA0) { pa0 = fetchA(baseA, m0, k1, lid); }
        if (inA1) { pa1 = fetchA(baseA, m0, k1, e1); }
        if (inA2) { pa2 = fetchA(baseA, m0, k1, e2); }
        if (inA3) { pa3 = fetchA(baseA, m0, k1, e3); }
        if (inB0) { pb0 = fetchB(baseB, n0, k1, lid); }
        if (inB1) { pb1 = fetchB(baseB, n0, k1, e1); }
        if (inB2) { pb2 = fetchB(baseB, n0, k1, e2); }
        if (inB3) { pb3 = fetchB(baseB, n0, k1, e3); }
      }

      let sa = stage * COUNT_A;
      let sb = stage * COUNT_B;
      for (var kk = 0u; kk < TILE_K; kk++) {
        let ra = sa + kk * ROW_A;
        let rb = sb + kk * ROW_B;
        let swA = swizzle(kk & ~3u, ROW_A);
        let swB = swizzle(kk & ~3u, ROW_B);
        let a0 = as_[ra + (ty ^ swA)];
        let a1 = as_[ra + ((WG_M + ty) ^ swA)];
        let b0 = bs[rb + (tx ^ swB)];
        let b1 = bs[rb + ((WG_N + tx) ^ swB)];
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

      if (more) {
        // One copy: wait until every thread is done reading it. Two: the other copy was last read in
        // tile t - 1, which every thread finished before the barrier that ended it.
        if (STAGES == 1u) {
          workgroupBarrier();
        }
        let next = select(0u, 1u - stage, STAGES == 2u);
        if (inA0) { stashA(next, lid, pa0); }
        if (inA1) { stashA(next, e1, pa1); }
        if (inA2) { stashA(next, e2, pa2); }
        if (inA3) { stashA(next, e3, pa3); }
        if (inB0) { stashB(next, lid, pb0); }
        if (inB1) { stashB(next, e1, pb1); }
        if (inB2) { stashB(next, e2, pb2); }
        if (inB3) { stashB(next, e3, pb3); }
      }
      // Makes tile t + 1 visible; after the last tile, keeps the next batch item's first stores from
      // overwriting a copy still being read.
      workgroupBarrier();
    }

    let ld = ldC();
    let r0 = m0 + 4u * ty;
    let r1 = r0 + 4u * WG_M;
    let c0 = n0 + 4u * tx;
    let c1 = c0 + 4u * WG_N;
    var bias0 = vec4f();
    var bias1 = vec4f();
    if (params.hasBias != 0u) {
      if (c0 < params.N) { bias0 = bias[c0 / 4u]; }
      if (c1 < params.N) { bias1 = bias[c1 / 4u]; }
    }
    let row0 = baseC + r0 * ld;
    let row1 = baseC + r1 * ld;
    storeRow(row0, r0, c0, c1, bias0, bias1, acc[0], acc[1]);
    storeRow(row0 + ld, r0 + 1u, c0, c1, bias0, bias1, acc[2], acc[3]);
    storeRow(row0 + 2u * ld, r0 + 2u, c0, c1, bias0, bias1, acc[4], acc[5]);
    storeRow(row0 + 3u * ld, r0 + 3u, c0, c1, bias0, bias1, acc[6], acc[7]);
    storeRow(row1, r1, c0, c1, bias0, bias1, acc[8], acc[9]);
    storeRow(row1 + ld, r1 + 1u, c0, c1, bias0, bias1, acc[10], acc[11]);
    storeRow(row1 + 2u * ld, r1 + 2u, c0, c1, bias0, bias1, acc[12], acc[13]);
    storeRow(row1 + 3u * ld, r1 + 3u, c0, c1, bias0, bias1, acc[14], acc[15]);
  }
}
