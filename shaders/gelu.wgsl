// gelu_new of GPT-2 (the tanh approximation), elementwise over n values, and its derivative:
//   y = 0.5·x·(1 + tanh(u)),  u = √(2/π)·(x + 0.044715·x³)
// evaluated as y = x·σ(2u), the same function (0.5·(1 + tanh u) = σ(2u)) without tanh, whose WGSL
// accuracy is loose and which may give NaN for large |u|, and without the cancellation of 1 + tanh u
// for negative x. Its derivative:
//   y' = σ + x·σ·(1 − σ)·2u',   σ = σ(2u),  u' = √(2/π)·(1 + 3·0.044715·x²)
// Past |u| = 15, σ(2u) is within 1e-13 of 0 or 1, so y = x or 0 and y' = 1 or 0 there; handling
// that tail apart keeps x³ overflowing to ±Inf (|x| > 7e12) from reaching exp or ∞·0.
// Element e = (wid.y·num_workgroups.x + wid.x)·WG + lid: the dispatch folds into y past 65535 groups.

struct Params { n: u32 }

// geluForward bindings.
@group(0) @binding(0) var<storage, read> fx: array<f32>;        // [n]
@group(0) @binding(1) var<storage, read_write> fy: array<f32>;  // [n]
@group(0) @binding(2) var<uniform> fparams: Params;

// geluBackward bindings.
@group(0) @binding(0) var<storage, read> bx: array<f32>;         // [n]
@group(0) @binding(1) var<storage, read> bdy: array<f32>;        // [n]
@group(0) @binding(2) var<storage, read_write> bdx: array<f32>;  // [n]
@group(0) @binding(3) var<uniform> bparams: Params;

override WG: u32 = 256u;

const K: f32 = 0.7978845608028654;  // √(2/π)
const A: f32 = 0.044715;
const TAIL: f32 = 15.0;

fn innerArg(x: f32) -> f32 {
  return K * fma(A * x * x, x, x);
}

// (σ(2u), 1 − σ(2u)), u clamped so that exp never overflows; 1 − σ = e·σ avoids the cancellation
// of 1 − σ when σ ≈ 1.
fn sigmoid2(u: f32) -> vec2f {
  let e = exp(-2.0 * clamp(u, -TAIL, TAIL));
  let s = 1.0 / (1.0 + e);
  return vec2f(s, e * s);
}

fn gelu(x: f32) -> f32 {
  let u = innerArg(x);
  return select(x * sigmoid2(u).x, select(0.0, x, x > 0.0), abs(u) >= TAIL);
}

fn geluDerivative(x: f32) -> f32 {
  let u = innerArg(x);
  let s = sigmoid2(u);
  let inside = s.x + x * s.x * s.y * 2.0 * K * fma(3.0 * A, x * x, 1.0);
  return select(inside, select(0.0, 1.0, x > 0.0), abs(u) >= TAIL);
}

fn element(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let e = element(wid, nwg, lid);
  if (e >= fparams.n) { return; }
  fy[e] = gelu(fx[e]);
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let e = element(wid, nwg, lid);
  if (e >= bparams.n) { return; }
  bdx[e] = bdy[e] * geluDerivative(bx[e]);
}
