// Per-run optimizer steps over a flat [R, n] parameter block (ALGORITHM.md), one thread per element,
// the element index folded over x and y of the grid. Run ρ = e / n reads its row hyper[ρ] (struct Hyper,
// defined in src/kernels/hyper.ts). A run that is inactive, or of the other update rule, returns before
// any store, so its p (m, v) stay bit-identical. `side` picks the learning rate: A's, or B's (LoRA+).
//
// Two entry points with their own binding lists (the kernels' contracts): `adamw` uses g, hyper, p, m, v
// and params at 5; `sgd` uses g, hyper, p and params at 3. Binding 3 is thus `m` for one entry point
// and the uniform for the other; WGSL allows this since no entry point uses both.
//
// adamw follows the float32 operation order of torch.optim.AdamW (single-tensor and foreach paths):
//   p ← p · (1 − lr·wd)
//   m ← m + (1 − β1)(g − m)                 exp_avg.lerp_(grad, 1 − β1)
//   v ← v·β2 + (1 − β2)·g·g                 exp_avg_sq.mul_(β2).addcmul_(grad, grad, 1 − β2)
//   denom = sqrt(v) / sqrt(bc2) + ε
//   p ← p − (lr / bc1) · (m / denom)        param.addcdiv_(exp_avg, denom, value=−lr/bc1)
// (torch forms 1 − lr·wd, lr/bc1 and sqrt(bc2) in float64 on the host; here they are float32.)
// sgd (decoupled decay, ALGORITHM.md): p ← p · (1 − lr·wd); p ← p − lr·g.

struct Params { R: u32, n: u32, side: u32 }
// As HYPER_FIELDS in src/kernels/hyper.ts (checked by hyper.test.ts).
struct Hyper {
  lrA: f32, lrB: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32,
  bc1: f32, bc2: f32, training: f32, rule: f32,
}
const RULE_ADAMW = 0.0;
const RULE_SGD = 1.0;

@group(0) @binding(0) var<storage, read> g: array<f32>;            // [R, n]
@group(0) @binding(1) var<storage, read> hyper: array<Hyper>;      // [R]
@group(0) @binding(2) var<storage, read_write> p: array<f32>;      // [R, n]
@group(0) @binding(3) var<storage, read_write> m: array<f32>;      // [R, n], adamw only
@group(0) @binding(4) var<storage, read_write> v: array<f32>;      // [R, n], adamw only
@group(0) @binding(5) var<uniform> adamwParams: Params;
@group(0) @binding(3) var<uniform> sgdParams: Params;

// Threads per workgroup; an override so tests can force the y-folding of the grid with small sizes.
override WG: u32 = 256u;

fn element(wid: vec3u, nwg: vec3u, lid: u32) -> u32 { return (wid.x + wid.y * nwg.x) * WG + lid; }

/** Learning rate of the tensor being stepped: A's (side 0) or B's (side 1). */
fn rate(h: Hyper, side: u32) -> f32 { return select(h.lrA, h.lrB, side == 1u); }

@compute @workgroup_size(WG)
fn adamw(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let e = element(wid, nwg, lid);
  if (e >= adamwParams.R * adamwParams.n) { return; }
  let h = hyper[e / adamwParams.n];
  if (h.training == 0.0 || h.rule != RULE_ADAMW) { return; }
  let lr = rate(h, adamwParams.side);
  let grad = g[e];
  let mNew = m[e] + (1.0 - h.beta1) * (grad - m[e]);
  let vNew = v[e] * h.beta2 + (1.0 - h.beta2) * (grad * grad);
  let denom = sqrt(vNew) / sqrt(h.bc2) + h.eps;
  p[e] = p[e] * (1.0 - lr * h.weightDecay) - (lr / h.bc1) * (mNew / denom);
  m[e] = mNew;
  v[e] = vNew;
}

@compute @workgroup_size(WG)
fn sgd(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let e = element(wid, nwg, lid);
  if (e >= sgdParams.R * sgdParams.n) { return; }
  let h = hyper[e / sgdParams.n];
  if (h.training == 0.0 || h.rule != RULE_SGD) { return; }
  let lr = rate(h, sgdParams.side);
  p[e] = p[e] * (1.0 - lr * h.weightDecay) - lr * g[e];
}
