// Gram matrices of LoRA factors for the Riemannian preconditioner (ALGORITHM.md):
//   P[m][i][j] = Σ_k F_m(i,k) · F_m(j,k) + δ·[i == j]
// One workgroup per matrix m. Factor m is read through its job: element (i, k) sits at
// offset + i·strideI + k·strideK, so one kernel serves both sides:
//   BᵀB: B is [out, r] row-major  → n = out, strideI = 1, strideK = r
//   AAᵀ: A is [r, in]  row-major  → n = in,  strideI = in, strideK = 1

struct Params { count: u32, r: u32, damping: f32 }
struct Job { offset: u32, n: u32, strideI: u32, strideK: u32 }

@group(0) @binding(0) var<storage, read> factors: array<f32>;
@group(0) @binding(1) var<storage, read> jobs: array<Job>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;   // [count, r, r]
@group(0) @binding(3) var<uniform> params: Params;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x + wid.y * 65535u;
  if (m >= params.count) { return; }
  let job = jobs[m];
  let r = params.r;
  // Entries of the upper triangle, mirrored: each thread owns entries e = lid, lid + WG, ...
  for (var e = lid; e < r * r; e += WG) {
    let i = e / r;
    let j = e % r;
    if (j < i) { continue; }
    var acc = 0.0;
    let bi = job.offset + i * job.strideI;
    let bj = job.offset + j * job.strideI;
    for (var k = 0u; k < job.n; k++) {
      acc = fma(factors[bi + k * job.strideK], factors[bj + k * job.strideK], acc);
    }
    if (i == j) { acc += params.damping; }
    out[m * r * r + i * r + j] = acc;
    out[m * r * r + j * r + i] = acc;
  }
}
