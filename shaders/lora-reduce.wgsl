// The reduction-skinny LoRA products, batched over runs: weight gradients with r ≤ 64 rows or columns
// that sum over all rows of a run (dA = duᵀ x, dB = s · dyᵀ u), in one dispatch with no split-K scratch:
//   G_t(j, c) = alpha · Σ_n p[t, n, j] · x[t, n, c]            p [R, rows, r], x [R, rows, C]
//   stored at out[offOut + t·strideOut + j·C + c]   (TRANS_OUT = 0: dA [r, in], p = du, x = x)
//          or out[offOut + t·strideOut + c·r + j]   (TRANS_OUT = 1: dB [out, r], p = u, x = dy)
// A workgroup owns COLS columns and 4·R4 outputs j (one j block) of one run; its WG / COLS threads per
// column are row lanes: lane l takes rows l, l + LANES, ... of each staged tile of p (loading four ahead)
// and keeps 4·R4 partial sums; the lanes' partials are then added by a tree in workgroup memory. Few columns and split
// j blocks give enough workgroups at one run (loraReduceConstants picks COLS and R4 from the shape). The
// summation order is fixed by the shape and the constants: the result is deterministic. Written, not
// accumulated.

struct Params { R: u32, rows: u32, C: u32, r: u32, offOut: u32, strideOut: u32, alpha: f32 }

@group(0) @binding(0) var<storage, read> p: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

override TRANS_OUT: u32 = 0u;
// Columns per workgroup: a power of two, 1 ≤ COLS ≤ 32 (so there are at least 8 lanes).
override COLS: u32 = 32u;
// vec4 accumulators per thread (at most MAX_R4); LANES · R4 ≤ TILE.
override R4: u32 = 1u;

const WG: u32 = 256u;
const MAX_R4: u32 = 16u;
// vec4 of the staged tile of p (8 KiB); reused as two vec4 per thread by the reduction.
const TILE: u32 = 512u;
// Row lanes per column, and rows per staged tile (a multiple of LANES). Derived: not set by the host.
override LANES: u32 = WG / COLS;
override TN: u32 = TILE / R4 / LANES * LANES;

// ps[nn·R4 + jc] = p(n0 + nn, j0 + 4jc .. j0 + 4jc + 3); 0 past rows or r.
var<workgroup> ps: array<vec4f, TILE>;

fn pAt(base: u32, n: u32, j: u32) -> f32 {
  if (n >= params.rows || j >= params.r) {
    return 0.0;
  }
  return p[base + n * params.r + j];
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let rows = params.rows;
  let C = params.C;
  let t = wid.z;
  let col = lid % COLS;
  let lane = lid / COLS;
  let colBlocks = (C + COLS - 1u) / COLS;
  let g = wid.x + wid.y * nwg.x;
  let c = (g % colBlocks) * COLS + col;
  let j0 = (g / colBlocks) * 4u * R4;
  let live = c < C;
  let baseP = t * rows * params.r;
  let baseX = t * rows * C;

  var acc = array<vec4f, MAX_R4>();
  for (var n0 = 0u; n0 < rows; n0 += TN) {
    for (var e = lid; e < TN * R4; e += WG) {
      let n = n0 + e / R4;
      let j = j0 + 4u * (e % R4);
      ps[e] = vec4f(pAt(baseP, n, j), pAt(baseP, n, j + 1u), pAt(baseP, n, j + 2u), pAt(baseP, n, j + 3u));
    }
    workgroupBarrier();
    // Four rows of the lane at a time, their loads of x issued before their products: four loads in
    // flight per thread. The rows are still added in order (nn, nn + LANES, ...).
    for (var nn = lane; nn < TN && n0 + nn < rows; nn += 4u * LANES) {
      var xv = vec4f(0.0);
      for (var u = 0u; u < 4u; u++) {
        let m = nn + u * LANES;
        if (live && m < TN && n0 + m < rows) {
          xv[u] = x[baseX + (n0 + m) * C + c];
        }
      }
      for (var u = 0u; u < 4u; u++) {
        let m = nn + u * LANES;
        if (m < TN) {
          for (var jc = 0u; jc < R4; jc++) {
            acc[jc] = fma(vec4f(xv[u]), ps[m * R4 + jc], acc[jc]);
          }
        }
      }
    }
    workgroupBarrier();
  }

  // Sum each column's LANES partials, two vec4 (eight outputs) at a time: lane l adds lane l + s for
  // s = LANES / 2, ..., 1; lanes 0..7 then write the eight sums of their column.
  for (var jc = 0u; jc < R4; jc += 2u) {
    ps[lid] = acc[jc];
    ps[WG + lid] = acc[min(jc + 1u, MAX_R4 - 1u)];
    for (var s = LANES / 2u; s > 0u; s /= 2u) {
      workgroupBarrier();
      if (lane < s) {
        ps[lid] += ps[lid + s * COLS];
        ps[WG + lid] += ps[WG + lid + s * COLS];
      }
    }
    workgroupBarrier();
    if (lane < 8u) {
      let sum = ps[(lane / 4u) * WG + col][lane % 4u];
      let j = j0 + 4u * jc + lane;
      if (live && jc + lane / 4u < R4 && j < params.r) {
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
