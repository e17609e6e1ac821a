// gelu_new of GPT-2, elementwise over n values, and its input gradient. The functions gelu and
// geluDerivative are in gelu-math.wgsl, prepended by src/kernels/gelu.ts.
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
