// Fused LoRA forward for one adapted matrix of every run (DESIGN.md §1):
//   u[t] = x[t] · A[t]ᵀ                [rows, r]   (kept for the backward)
//   y[t] += scale · u[t] · B[t]ᵀ       [rows, out]
// x [R, rows, in], y [R, rows, out] and u [R, rows, r] are packed per run; A [r, in] of run t sits at
// offA + t·strideA and B [out, r] at offB + t·strideB inside the model's concatenated loraA / loraB.
// One workgroup owns TR rows of one run: u's tile never leaves workgroup memory between the two
// products, which saves the plain path's second dispatch and its round trip of u through memory.
// r is a runtime value up to RMAX.

struct Params {
  R: u32,
  rows: u32,
  inDim: u32,
  outDim: u32,
  r: u32,
  scale: f32,
  offA: u32,
  strideA: u32,
  offB: u32,
  strideB: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> u: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

const WG: u32 = 256u;
const TR: u32 = 32u;     // rows per workgroup
const KC: u32 = 16u;     // chunk of `in` staged per step of u = x Aᵀ
const RMAX: u32 = 64u;
const UPT: u32 = TR * RMAX / WG;   // entries of u per thread

// Odd row strides (KC + 1) keep the column reads of xs / as_ free of bank conflicts.
var<workgroup> xs: array<f32, TR * (KC + 1u)>;
var<workgroup> as_: array<f32, RMAX * (KC + 1u)>;
// u's tile, transposed [j][row] and read as vec4: four rows of one j in one broadcast load.
var<workgroup> us: array<vec4f, RMAX * TR / 4u>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let rows = params.rows;
  let inDim = params.inDim;
  let outDim = params.outDim;
  let r = params.r;
  let row0 = wid.x * TR;

  for (var t = wid.z; t < params.R; t += nwg.z) {
    let baseX = t * rows * inDim;
    let baseA = params.offA + t * params.strideA;
    let baseB = params.offB + t * params.strideB;

    // u = x Aᵀ: entry e = lid + q·WG of the tile is (row e / r, column e % r).
    var acc = array<f32, UPT>();
    for (var k0 = 0u; k0 < inDim; k0 += KC) {
      for (var e = lid; e < TR * KC; e += WG) {
        let rr = e / KC;
        let kk = e % KC;
        var v = 0.0;
        if (row0 + rr < rows && k0 + kk < inDim) {
          v = x[baseX + (row0 + rr) * inDim + k0 + kk];
        }
        xs[rr * (KC + 1u) + kk] = v;
      }
      for (var e = lid; e < r * KC; e += WG) {
        let j = e / KC;
        let kk = e % KC;
        var v = 0.0;
        if (k0 + kk < inDim) {
          v = A[baseA + j * inDim + k0 + kk];
        }
        as_[j * (KC + 1u) + kk] = v;
      }
      workgroupBarrier();
      for (var q = 0u; q < UPT; q++) {
        let e = lid + q * WG;
        if (e < TR * r) {
          let rr = e / r;
          let j = e % r;
          var s = acc[q];
          for (var kk = 0u; kk < KC; kk++) {
            s = fma(xs[rr * (KC + 1u) + kk], as_[j * (KC + 1u) + kk], s);
          }
          acc[q] = s;
        }
      }
      workgroupBarrier();
    }
    for (var q = 0u; q < UPT; q++) {
      let e = lid + q * WG;
      if (e < TR * r) {
        let rr = e / r;
        let j = e % r;
        us[j * (TR / 4u) + rr / 4u][rr % 4u] = acc[q];
        if (row0 + rr < rows) {
          u[(t * rows + row0) * r + e] = acc[q];
        }
      }
    }
    workgroupBarrier();

    // y += s · u Bᵀ: one column o per thread, all TR rows at once, so each B element read from memory
    // serves TR rows and the TR reads of y are independent (in flight together). No barrier needed.
    for (var o = lid; o < outDim; o += WG) {
      var yacc = array<vec4f, TR / 4u>();
      for (var j = 0u; j < r; j++) {
        let b = B[baseB + o * r + j];
        for (var i = 0u; i < TR / 4u; i++) {
          yacc[i] = fma(us[j * (TR / 4u) + i], vec4f(b), yacc[i]);
        }
      }
      for (var i = 0u; i < TR; i++) {
        if (row0 + i < rows) {
          let idx = (t * rows + row0 + i) * outDim + o;
          y[idx] = fma(params.scale, yacc[i / 4u][i % 4u], y[idx]);
        }
      }
    }
    // The next run's u tile overwrites us.
    workgroupBarrier();
  }
}
