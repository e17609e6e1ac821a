// The row-skinny LoRA products, batched over runs: an output [R, rows, r] with r ≤ 64 (u = x Aᵀ in the
// forward, du = s · dy B in the backward). The general matmul spends a 64-wide N tile on N = r; here a
// workgroup owns ROWS rows of one run and all r of their outputs:
//   out[t, n, j] = alpha · Σ_k x[t, n, k] · W_t(j, k)          x [R, rows, K], out [R, rows, r]
//   W_t(j, k) = w[offW + t·strideW + j·K + k]   (TRANS_W = 0: A [r, in] of run t, K = in)
//             = w[offW + t·strideW + k·r + j]   (TRANS_W = 1: B [out, r] of run t, K = out)
// Each row is read by LANES threads along k (coalesced), each keeping r partial sums (R4 vec4
// accumulators) against the tile of W staged in workgroup memory; the lanes' sums are added at the end.

struct Params { R: u32, rows: u32, K: u32, r: u32, offW: u32, strideW: u32, alpha: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

override TRANS_W: u32 = 0u;
// ceil(r / 4): the vec4 accumulators each thread uses (at most MAX_R4).
override R4: u32 = 1u;
// k per lane per staged tile: TK = LANES · KSTEP columns of W per tile (the host keeps KSTEP·R4 ≤ 16).
override KSTEP: u32 = 1u;

const LANES: u32 = 32u;
const ROWS: u32 = 8u;
const MAX_R4: u32 = 16u;

// ws[kk·R4 + jc] = W(4jc .. 4jc+3, k0 + kk); 0 past r or K.
var<workgroup> ws: array<vec4f, LANES * KSTEP * R4>;
var<workgroup> red: array<vec4f, LANES * ROWS>;

fn wAt(base: u32, j: u32, k: u32) -> f32 {
  if (j >= params.r || k >= params.K) {
    return 0.0;
  }
  if (TRANS_W == 0u) {
    return w[base + j * params.K + k];
  }
  return w[base + k * params.r + j];
}

@compute @workgroup_size(LANES, ROWS)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let K = params.K;
  let t = wid.z;
  let lane = local.x;
  let n = (wid.x + wid.y * nwg.x) * ROWS + local.y;
  let live = n < params.rows;
  let baseX = (t * params.rows + n) * K;
  let baseW = params.offW + t * params.strideW;
  let tk = LANES * KSTEP;

  var acc = array<vec4f, MAX_R4>();
  for (var k0 = 0u; k0 < K; k0 += tk) {
    // Consecutive threads take consecutive addresses of W's stored layout.
    for (var e = lid; e < tk * R4; e += LANES * ROWS) {
      var kk: u32;
      var jc: u32;
      if (TRANS_W == 0u) {
        jc = e / tk;
        kk = e % tk;
      } else {
        kk = e / R4;
        jc = e % R4;
      }
      let k = k0 + kk;
      let j = 4u * jc;
      ws[kk * R4 + jc] = vec4f(wAt(baseW, j, k), wAt(baseW, j + 1u, k), wAt(baseW, j + 2u, k), wAt(baseW, j + 3u, k));
    }
    workgroupBarrier();
    for (var s = 0u; s < KSTEP; s++) {
      let kk = s * LANES + lane;
      let k = k0 + kk;
      var xv = 0.0;
      if (live && k < K) {
        xv = x[baseX + k];
      }
      for (var jc = 0u; jc < R4; jc++) {
        acc[jc] = fma(vec4f(xv), ws[kk * R4 + jc], acc[jc]);
      }
    }
    workgroupBarrier();
  }

  // Sum each row's LANES partial sums, four outputs at a time.
  for (var jc = 0u; jc < R4; jc++) {
    red[lid] = acc[jc];
    workgroupBarrier();
    if (lane < 4u) {
      var sum = 0.0;
      for (var l = 0u; l < LANES; l++) {
        sum += red[local.y * LANES + l][lane];
      }
      let j = 4u * jc + lane;
      if (live && j < params.r) {
        out[(t * params.rows + n) * params.r + j] = params.alpha * sum;
      }
    }
    workgroupBarrier();
  }
}
