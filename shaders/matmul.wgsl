// Batched GEMM with optional transposes, scaling, accumulation and a broadcast bias:
//   C[bt] = alpha · op(A[bt]) · op(B[bt]) + beta · C[bt] + bias      for bt in [0, batch)
// op(A) is M×K (stored M×K, or K×M when TRANS_A = 1); op(B) is K×N (stored K×N, or N×K when TRANS_B = 1).
// Operand bt starts at off + bt·stride; stride 0 shares one operand (the frozen base weights) by all runs.
//
// One workgroup computes a TILE_M×TILE_N tile of C, with TILE_M = WG_M·4 and TILE_N = WG_N·4: each thread
// keeps a 4×4 register tile whose rows are ty + WG_M·i and columns tx + WG_N·j. The strided (rather than
// blocked) ownership makes consecutive threads read consecutive workgroup-memory words and write
// consecutive columns of C, so both are conflict-free and coalesced.

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
override WG_M: u32 = 16u;
override WG_N: u32 = 16u;
override TILE_K: u32 = 16u;
// Padding of each k-row of the staged tiles: breaks the bank conflicts of the stores when an operand is
// read along k. Set to 0 where the padded tiles would not fit the 16 KiB of workgroup memory.
override PAD: u32 = 1u;

// The register tile is a function-scope array, whose size WGSL requires to be a const.
const TM: u32 = 4u;
const TN: u32 = 4u;

// Staged tiles, k-major: as_[kk][m] = op(A)(m0 + m, k0 + kk), bs[kk][n] = op(B)(k0 + kk, n0 + n).
var<workgroup> as_: array<f32, TILE_K * (WG_M * TM + PAD)>;
var<workgroup> bs: array<f32, TILE_K * (WG_N * TN + PAD)>;

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

// epilogue(idx, v): matmul-epilogue.wgsl, prepended with gelu-math.wgsl (src/kernels/matmul.ts).

@compute @workgroup_size(WG_N, WG_M)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let lda = ldA();
  let ldc = ldC();
  let ldb = ldB();
  let tileM = WG_M * TM;
  let tileN = WG_N * TN;
  let strideAs = tileM + PAD;
  let strideBs = tileN + PAD;
  let threads = WG_M * WG_N;
  let m0 = wid.y * tileM;
  let n0 = wid.x * tileN;
  let tx = local.x;
  let ty = local.y;

  // z folds the batch: a grid of at most 65535 workgroups walks all of it.
  for (var bt = wid.z; bt < params.batch; bt += nwg.z) {
    kBound = select(params.K, params.kLast, params.kLast != 0u && bt + 1u == params.batch);
    let baseA = params.offA + bt * params.strideA;
    let baseB = params.offB + bt * params.strideB;
    let baseC = params.offC + bt * params.strideC;

    // Explicitly zeroed: each batch item starts a fresh sum.
    var acc = array<vec4f, TM>();
    for (var k0 = 0u; k0 < K; k0 += TILE_K) {
      // Stage op(A)'s tile. Consecutive threads take consecutive addresses of the stored layout.
      for (var e = lid; e < TILE_K * tileM; e += threads) {
        var mm: u32;
        var kk: u32;
        if (TRANS_A == 0u) {
          mm = e / TILE_K;
          kk = e % TILE_K;
        } else {
          kk = e / tileM;
          mm = e % tileM;
        }
        let m = m0 + mm;
        let k = k0 + kk;
        var v = 0.0;
        if (m < M && k < kBound) {
          if (TRANS_A == 0u) {
            v = a[baseA + m * lda + k];
          } else {
            v = a[baseA + k * lda + m];
          }
        }
        as_[kk * strideAs + mm] = v;
      }
      for (var e = lid; e < TILE_K * tileN; e += threads) {
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
        var v = 0.0;
        if (n < N && k < kBound) {
          if (TRANS_B == 0u) {
            v = b[baseB + k * ldb + n];
          } else {
            v = b[baseB + n * ldb + k];
          }
        }
        bs[kk * strideBs + nn] = v;
      }
      workgroupBarrier();

      for (var kk = 0u; kk < TILE_K; kk++) {
        let bv = vec4f(
          bs[kk * strideBs + tx],
          bs[kk * strideBs + tx + WG_N],
          bs[kk * strideBs + tx + 2u * WG_N],
          bs[kk * strideBs + tx + 3u * WG_N],
        );
        for (var i = 0u; i < TM; i++) {
          acc[i] = fma(vec4f(as_[kk * strideAs + ty + i * WG_M]), bv, acc[i]);
        }
      }
      workgroupBarrier();
    }

    for (var i = 0u; i < TM; i++) {
      let m = m0 + ty + i * WG_M;
      if (m >= M) {
        continue;
      }
      for (var j = 0u; j < TN; j++) {
        let n = n0 + tx + j * WG_N;
        if (n >= N) {
          continue;
        }
        let idx = baseC + m * ldc + n;
        var v = params.alpha * acc[i][j];
        // beta = 0 must not read C: it may hold garbage (NaN) from an earlier use of the buffer.
        if (params.beta != 0.0) {
          v = fma(params.beta, c[idx], v);
        }
        if (params.hasBias != 0u) {
          v += bias[n];
        }
        c[idx] = epilogue(idx, v);
      }
    }
  }
}
