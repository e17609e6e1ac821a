// The second half of a split-K matmul (src/kernels/matmul-splitk.ts): the first dispatch wrote S partial
// products of K/S-long chunks of the reduction into `partial` [S, M, N]; this one sums them in chunk order and
// stores as the matmul would: v = alpha · Σ_s partial[s] + bias, then the epilogue (matmul-epilogue.wgsl,
// prepended with gelu-math.wgsl: none C = v; gelu C = gelu_new'(v), aux = gelu_new(v); residual C = aux + v;
// geluGrad C = v · aux). C (and aux) are packed [M, N] blocks at offC.
//
// `copies` > 1 stores the sum into that many consecutive [M, N] blocks (the runs of a sweep, whose layer-0
// c_attn input is the same batch: computed once, gpu-model.ts). With LORA_R > 0, each stored row m (counted
// over the copies) also gets LoRA's up-projection before the epilogue: v = fma(1, v, s · Σ_j u[m, j] ·
// Bᵀ_run[n, j]), run = m / loraRows, Bᵀ_run [N, r] at loraOffB + run · loraStrideB, multiplied-added in j
// order from zero: the same float32 as the copy and the separate product u · Bᵀ_run (beta 1) after it.

struct Params {
  M: u32, N: u32, S: u32, hasBias: u32, offC: u32, alpha: f32,
  copies: u32, loraScale: f32, loraOffB: u32, loraStrideB: u32, loraRows: u32,
}

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> aux: array<f32>;
// LORA_R > 0: u [copies · M, r] and the runs' Bᵀ (the host binds partial to both otherwise).
@group(0) @binding(4) var<storage, read> loraU: array<f32>;
@group(0) @binding(5) var<storage, read> loraB: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

override EPILOGUE: u32 = 0u;
override LORA_R: u32 = 0u;
// params.S and params.copies, set by the host from them (loops of known count).
override PARTS: u32 = 1u;
override COPIES: u32 = 1u;
// params.N, likewise: the row and column of an element by a division the compiler knows.
override SUM_N: u32 = 1u;
const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  // One thread per element of one [M, N] block: the sum is formed once and stored into every copy.
  let e = gid.x + gid.y * nwg.x * WG;
  let size = params.M * SUM_N;
  if (e >= size) {
    return;
  }
  var acc = 0.0;
  for (var s = 0u; s < PARTS; s++) {
    acc += partial[s * size + e];
  }
  var sum = params.alpha * acc;
  if (params.hasBias != 0u) {
    sum += bias[e % SUM_N];
  }
  for (var copy = 0u; copy < COPIES; copy++) {
    let i = copy * size + e;
    var v = sum;
    if (LORA_R > 0u) {
      let m = i / SUM_N;
      let b = params.loraOffB + (m / params.loraRows) * params.loraStrideB + (i % SUM_N) * LORA_R;
      var t = 0.0;
      for (var j = 0u; j < LORA_R; j++) {
        t = fma(loraU[m * LORA_R + j], loraB[b + j], t);
      }
      v = fma(1.0, v, params.loraScale * t);
    }
    let idx = params.offC + i;
    c[idx] = epilogue(idx, v);
  }
}
