// The second half of a split-K matmul (src/kernels/matmul-splitk.ts): the first dispatch wrote S partial
// products of K/S-long chunks of the reduction into `partial` [S, M, N]; this one sums them in chunk order and
// stores as the matmul would: v = alpha · Σ_s partial[s] + bias, then the epilogue (matmul-epilogue.wgsl,
// prepended with gelu-math.wgsl: none C = v; gelu C = gelu_new'(v), aux = gelu_new(v); residual C = aux + v;
// geluGrad C = v · aux). C (and aux) are packed [M, N] blocks at offC.

struct Params { M: u32, N: u32, S: u32, hasBias: u32, offC: u32, alpha: f32 }

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> aux: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

override EPILOGUE: u32 = 0u;
const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let size = params.M * params.N;
  if (i >= size) {
    return;
  }
  var acc = 0.0;
  for (var s = 0u; s < params.S; s++) {
    acc += partial[s * size + i];
  }
  var v = params.alpha * acc;
  if (params.hasBias != 0u) {
    v += bias[i % params.N];
  }
  let idx = params.offC + i;
  c[idx] = epilogue(idx, v);
}
