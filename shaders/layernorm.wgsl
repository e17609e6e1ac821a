// LayerNorm over the last dimension C of `rows` rows (pre-LN blocks and the final LN of lab-gpt):
//   y = (x − mean) · rstd · gamma + beta,   rstd = 1 / sqrt(var + eps),  var biased (as PyTorch).
// gamma and beta are frozen and shared by all runs, so the backward gives dx only:
//   g = dy · gamma,  x̂ = (x − mean) · rstd,  dx = rstd · (g − mean(g) − x̂ · mean(g · x̂))
// and adds it to dx when `accumulate` = 1, because the residual stream's gradient is a sum.
// One workgroup per row (row = wid.x + 65535·wid.y); threads stride over C and reduce in a tree.
// The variance is a second pass over (x − mean)², not E[x²] − mean², which cancels badly in float32.

struct ForwardParams { rows: u32, C: u32, eps: f32 }
struct BackwardParams { rows: u32, C: u32, accumulate: u32 }

// Forward bindings.
@group(0) @binding(0) var<storage, read> fx: array<f32>;           // [rows, C]
@group(0) @binding(1) var<storage, read> fgamma: array<f32>;       // [C]
@group(0) @binding(2) var<storage, read> fbeta: array<f32>;        // [C]
@group(0) @binding(3) var<storage, read_write> fy: array<f32>;     // [rows, C]
@group(0) @binding(4) var<storage, read_write> fmean: array<f32>;  // [rows]
@group(0) @binding(5) var<storage, read_write> frstd: array<f32>;  // [rows]
@group(0) @binding(6) var<uniform> fparams: ForwardParams;

// Backward bindings (same slots, other entry point).
@group(0) @binding(0) var<storage, read> bdy: array<f32>;          // [rows, C]
@group(0) @binding(1) var<storage, read> bx: array<f32>;           // [rows, C]
@group(0) @binding(2) var<storage, read> bgamma: array<f32>;       // [C]
@group(0) @binding(3) var<storage, read> bmean: array<f32>;        // [rows]
@group(0) @binding(4) var<storage, read> brstd: array<f32>;        // [rows]
@group(0) @binding(5) var<storage, read_write> bdx: array<f32>;    // [rows, C]
@group(0) @binding(6) var<uniform> bparams: BackwardParams;

override WG: u32 = 128u;  // a power of two (tree reduction)

var<workgroup> part: array<vec2f, WG>;

// Sum of v over the workgroup, returned to every thread; `part` is free again on return.
fn workgroupSum(v: vec2f, lid: u32) -> vec2f {
  part[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] += part[lid + s]; }
    workgroupBarrier();
  }
  let total = part[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * 65535u;
  if (row >= fparams.rows) { return; }
  let C = fparams.C;
  let base = row * C;
  var s = 0.0;
  for (var c = lid; c < C; c += WG) { s += fx[base + c]; }
  let mean = workgroupSum(vec2f(s, 0.0), lid).x / f32(C);
  var q = 0.0;
  for (var c = lid; c < C; c += WG) {
    let d = fx[base + c] - mean;
    q = fma(d, d, q);
  }
  let rstd = 1.0 / sqrt(workgroupSum(vec2f(q, 0.0), lid).x / f32(C) + fparams.eps);
  for (var c = lid; c < C; c += WG) {
    fy[base + c] = fma((fx[base + c] - mean) * rstd, fgamma[c], fbeta[c]);
  }
  if (lid == 0u) {
    fmean[row] = mean;
    frstd[row] = rstd;
  }
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * 65535u;
  if (row >= bparams.rows) { return; }
  let C = bparams.C;
  let base = row * C;
  let mean = bmean[row];
  let rstd = brstd[row];
  var acc = vec2f(0.0);
  for (var c = lid; c < C; c += WG) {
    let g = bdy[base + c] * bgamma[c];
    acc += vec2f(g, g * (bx[base + c] - mean) * rstd);
  }
  let m = workgroupSum(acc, lid) / f32(C);  // (mean(g), mean(g · x̂))
  let add = bparams.accumulate == 1u;
  for (var c = lid; c < C; c += WG) {
    let g = bdy[base + c] * bgamma[c];
    let xhat = (bx[base + c] - mean) * rstd;
    let d = rstd * (g - m.x - xhat * m.y);
    bdx[base + c] = select(d, bdx[base + c] + d, add);
  }
}
