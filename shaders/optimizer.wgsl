// Per-run optimizer steps over a flat [R, n] parameter block (ALGORITHM.md), one thread per element,
// the element index folded over x and y of the grid. Run ρ = e / n reads its row hyper[ρ] (struct Hyper,
// defined in src/kernels/hyper.ts). A run that is inactive, or of the other update rule, returns before
// any store, so its p (m, v) stay bit-identical. `side` picks the learning rate: A's, or B's (LoRA+).
//
// Two entry points with their own binding lists (the kernels' contracts): `adamw` uses g, hyper, p, m, v
// and params at 5; `sgd` uses g, hyper, p and params at 3. Binding 3 is thus `m` for one entry point
// and the uniform for the other; WGSL allows this since no entry point uses both.
//
// The element updates, struct Hyper and the rule codes are optimizer-math.wgsl's (prepended by
// src/kernels/optimizer.ts): adamwStep in torch.optim.AdamW's float32 order, sgdStep with decoupled decay.

struct Params { R: u32, n: u32, side: u32 }

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
  let u = adamwStep(h, rate(h, adamwParams.side), p[e], g[e], m[e], v[e]);
  p[e] = u.x;
  m[e] = u.y;
  v[e] = u.z;
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
  p[e] = sgdStep(h, rate(h, sgdParams.side), p[e], g[e]);
}
