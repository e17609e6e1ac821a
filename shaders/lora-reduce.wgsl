// The reduction-skinny LoRA products, batched over runs: weight gradients with r ≤ 64 rows or columns
// that sum over all rows of a run (dA = duᵀ x, dB = s · dyᵀ u). A workgroup owns COLS columns of one
// run and loops over every row, so there is no split-K scratch and no sum dispatch:
//   G_t(j, c) = alpha · Σ_n p[t, n, j] · x[t, n, c]            p [R, rows, r], x [R, rows, C]
//   stored at out[offOut + t·strideOut + j·C + c]   (TRANS_OUT = 0: dA [r, in], p = du, x = x)
//          or out[offOut + t·strideOut + c·r + j]   (TRANS_OUT = 1: dB [out, r], p = u, x = dy)
// LANES threads per column split the rows; each keeps r partial sums (R4 vec4 accumulators) against the
// tile of p staged in workgroup memory; the lanes' sums are added at the end. Written, not accumulated.

struct Params { R: u32, rows: u32, C: u32, r: u32, offOut: u32, strideOut: u32, alpha: f32 }

@group(0) @binding(0) var<storage, read> p: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

override TRANS_OUT: u32 = 0u;
// ceil(r / 4): the vec4 accumulators each thread uses (at most MAX_R4).
override R4: u32 = 1u;

const COLS: u32 = 32u;
const LANES: u32 = 8u;
// Rows per staged tile of p: a multiple of LANES.
const TN: u32 = 32u;
const MAX_R4: u32 = 16u;

// ps[nn·R4 + jc] = p(n0 + nn, 4jc .. 4jc+3); 0 past rows or r.
var<workgroup> ps: array<vec4f, TN * R4>;
var<workgroup> red: array<vec4f, COLS * LANES>;

fn pAt(base: u32, n: u32, j: u32) -> f32 {
  if (n >= params.rows || j >= params.r) {
    return 0.0;
  }
  return p[base + n * params.r + j];
}

@compute @workgroup_size(COLS, LANES)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let rows = params.rows;
  let C = params.C;
  let t = wid.z;
  let lane = local.y;
  let c = (wid.x + wid.y * nwg.x) * COLS + local.x;
  let live = c < C;
  let baseP = t * rows * params.r;
  let baseX = t * rows * C;

  var acc = array<vec4f, MAX_R4>();
  for (var n0 = 0u; n0 < rows; n0 += TN) {
    for (var e = lid; e < TN * R4; e += COLS * LANES) {
      let n = n0 + e / R4;
      let j = 4u * (e % R4);
      ps[e] = vec4f(pAt(baseP, n, j), pAt(baseP, n, j + 1u), pAt(baseP, n, j + 2u), pAt(baseP, n, j + 3u));
    }
    workgroupBarrier();
    for (var nn = lane; nn < TN; nn += LANES) {
      let n = n0 + nn;
      var xv = 0.0;
      if (live && n < rows) {
        xv = x[baseX + n * C + c];
      }
      for (var jc = 0u; jc < R4; jc++) {
        acc[jc] = fma(vec4f(xv), ps[nn * R4 + jc], acc[jc]);
      }
    }
    workgroupBarrier();
  }

  // Sum each column's LANES partial sums, four outputs at a time.
  for (var jc = 0u; jc < R4; jc++) {
    red[lid] = acc[jc];
    workgroupBarrier();
    if (lane < 4u) {
      var sum = 0.0;
      for (var l = 0u; l < LANES; l++) {
        sum += red[l * COLS + local.x][lane];
      }
      let j = 4u * jc + lane;
      if (live && j < params.r) {
        let base = params.offOut + t * params.strideOut;
        if (TRANS_OUT == 0u) {
          out[base + j * C + c] = params.alpha * sum;
        } else {
          out[base + c * params.r + j] = params.alpha * sum;
        }
      }
    }
    workgroupBarrier();
  }
}
