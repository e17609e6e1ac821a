// matmulSplitKSum (matmul-splitk-sum.wgsl) for an adapted module, with LoRA's down-projection done here too
// (issue 16: one loraRows dispatch fewer per adapted split product, lab-gpt's c_attn at R = 1). A workgroup
// owns one row m of C (wid.x + 65535 · wid.y), all N of its columns. It first forms u[m, :] = x[m, :] · Aᵀ_run, the
// r sums loraRows (lora-rows.wgsl, alpha 1) forms for that row, in its order: lane l of 32 multiplies-adds
// x[m, k] · A(j, k) for k = l, l + 32, ... from zero with fma, then the 32 lanes' partial sums are added in
// lane order from zero. So u is loraRows' u, bit for bit; the workgroup stores it for the backward
// (dB = s · dyᵀ u). Then each thread sums its elements' S partial products as matmulSplitKSum does
// and adds s · Σ_j u[m, j] · Bᵀ_run[n, j] (multiplied-added in j order from zero) before the epilogue: the
// same float32 as loraRows, then matmulSplitKSum with LORA_R, one copy. One workgroup a row (not a column
// block of one, each forming the row's u again), and K a pipeline constant (the k loop unrolled, its loads
// issued together): on the H200 a workgroup per 256 columns with K a uniform made lab-gpt's step slower
// than loraRows and the plain sum (R = 4 +2 %, bench/runs/h200-2026-12-02-s17).
//
// x [R·rows, K] (the module's input, the split product's A), A_run [r, K] at loraOffA + run · loraStrideA,
// Bᵀ_run [N, r] at loraOffB + run · loraStrideB, run = m / loraRows, u [R·rows, r]. The epilogue and aux as
// matmul-epilogue.wgsl (prepended with gelu-math.wgsl).

struct Params {
  M: u32, N: u32, S: u32, hasBias: u32, offC: u32, alpha: f32,
  K: u32, loraScale: f32, loraOffA: u32, loraStrideA: u32, loraOffB: u32, loraStrideB: u32, loraRows: u32,
}

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> aux: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> loraA: array<f32>;
@group(0) @binding(6) var<storage, read> loraB: array<f32>;
@group(0) @binding(7) var<storage, read_write> u: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

override EPILOGUE: u32 = 0u;
// LoRA's rank r (1 ≤ r ≤ 64).
override LORA_R: u32 = 4u;
// params.S, params.N and params.K, set by the host from them.
override PARTS: u32 = 1u;
override SUM_N: u32 = 1u;
override SUM_K: u32 = 1u;
const WG: u32 = 256u;
// loraRows' lanes per row (LANES there): the order of u's sums.
const LANES: u32 = 32u;
// Outputs j formed at once: WG / LANES.
const JS: u32 = WG / LANES;

var<workgroup> part: array<f32, WG>;
var<workgroup> us: array<f32, LORA_R>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x + 65535u * wid.y;
  if (m >= params.M) {
    return;
  }
  let run = m / params.loraRows;
  let K = SUM_K;
  let baseX = m * K;
  let baseA = params.loraOffA + run * params.loraStrideA;
  let lane = lid % LANES;
  let jj = lid / LANES;
  for (var j0 = 0u; j0 < LORA_R; j0 += JS) {
    let j = j0 + jj;
    var acc = 0.0;
    if (j < LORA_R) {
      for (var k = lane; k < K; k += LANES) {
        acc = fma(x[baseX + k], loraA[baseA + j * K + k], acc);
      }
    }
    part[lid] = acc;
    workgroupBarrier();
    if (lane == 0u && j < LORA_R) {
      var sum = 0.0;
      for (var l = 0u; l < LANES; l++) {
        sum += part[jj * LANES + l];
      }
      us[j] = sum;
    }
    workgroupBarrier();
  }
  if (lid < LORA_R) {
    u[m * LORA_R + lid] = us[lid];
  }

  let size = params.M * SUM_N;
  for (var n = lid; n < SUM_N; n += WG) {
    let e = m * SUM_N + n;
    var acc = 0.0;
    for (var s = 0u; s < PARTS; s++) {
      acc += partial[s * size + e];
    }
    var v = params.alpha * acc;
    if (params.hasBias != 0u) {
      v += bias[n];
    }
    let b = params.loraOffB + run * params.loraStrideB + n * LORA_R;
    var t = 0.0;
    for (var j = 0u; j < LORA_R; j++) {
      t = fma(us[j], loraB[b + j], t);
    }
    v = fma(1.0, v, params.loraScale * t);
    let idx = params.offC + e;
    c[idx] = epilogue(idx, v);
  }
}
