// Sum of split-K partial products: the LoRA weight gradients (dA = duᵀx, dB = s·dyᵀu) reduce over all
// Bt·T rows of a run but have only r rows or columns, so one matmul would run on a handful of
// workgroups. They are computed as S partial products over row chunks (a batched matmul), then summed:
//   out[offOut + ρ·strideOut + i] = alpha · Σ_s partial[(ρ·S + s)·n + i]

struct Params { R: u32, S: u32, n: u32, offOut: u32, strideOut: u32, alpha: f32 }

@group(0) @binding(0) var<storage, read> partial: array<f32>;   // [R, S, n]
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.R * params.n) { return; }
  let run = idx / params.n;
  let i = idx % params.n;
  var acc = 0.0;
  for (var s = 0u; s < params.S; s++) {
    acc += partial[(run * params.S + s) * params.n + i];
  }
  out[params.offOut + run * params.strideOut + i] = params.alpha * acc;
}
