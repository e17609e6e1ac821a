// Gram matrices of LoRA factors for the Riemannian preconditioner (ALGORITHM.md):
//   P[m][i][j] = Σ_k F_m(i,k) · F_m(j,k) + δ_m·[i == j]     (δ_m = damping[m], its run's)
// One workgroup per matrix m. Factor m is read through its job: element (i, k) sits at
// offset + i·strideI + k·strideK, so one kernel serves both sides:
//   BᵀB: B is [out, r] row-major  → n = out, strideI = 1, strideK = r
//   AAᵀ: A is [r, in]  row-major  → n = in,  strideI = in, strideK = 1
// The body is gram-phase.wgsl's gramPhase (prepended by src/kernels/gram.ts), which the fused
// gram-cholesky-solve.wgsl runs too.

struct Params { count: u32, r: u32 }
struct Job { offset: u32, n: u32, strideI: u32, strideK: u32 }

@group(0) @binding(0) var<storage, read> factors: array<f32>;
@group(0) @binding(1) var<storage, read> gramJobs: array<Job>;
@group(0) @binding(2) var<storage, read> damping: array<f32>;     // [count]
@group(0) @binding(3) var<storage, read_write> P: array<f32>;     // [count, r, r]
@group(0) @binding(4) var<uniform> params: Params;

fn factorAt(i: u32) -> f32 { return factors[i]; }
fn gramJob(m: u32) -> Job { return gramJobs[m]; }
fn dampingOf(m: u32) -> f32 { return damping[m]; }

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x + wid.y * 65535u;
  if (m >= params.count) { return; }   // uniform per workgroup: barriers below stay uniform
  gramPhase(m, params.r, lid);
}
