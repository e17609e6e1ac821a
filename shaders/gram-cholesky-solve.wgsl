// gram.wgsl then cholesky.wgsl fused into one dispatch (one side of the Riemannian preconditioner,
// ALGORITHM.md): for every matrix m,
//   P_m = Σ_k F_m(:, k) F_m(:, k)ᵀ + δ_m I      (phase 1, written to the global P: it stays inspectable)
//   v ← P_m⁻¹ v for each vector v that solve job m views in `rhs`   (phase 2, Cholesky, in place)
// One workgroup per matrix, so phase 2 only needs P_m from its own workgroup: a storage barrier makes
// phase 1's global writes visible to the rest of the workgroup, and no second dispatch is needed.
//
// Bit for bit the two-kernel path: phase 1 is gram-phase.wgsl's gramPhase, which gram.wgsl runs (the same
// thread split of the n-sums, the same workgroup-memory reduction order); phase 2 is cholesky-phase.wgsl's
// choleskyPhase, which cholesky.wgsl runs (the same pivot test, retry on P + εI → status 1, identity
// fall-back → status 2, status 0 otherwise). Both are prepended by src/kernels/gram-cholesky-solve.ts.
// Cholesky needs only r ≤ 64 threads (thread i owns row i of L); the others just reach its barriers.
// Each rhs vector is solved by one thread with the same operations whichever thread it is, so the
// solves use all 256 threads.
//
// Jobs (element (i, k) at offset + i·strideI + k·strideK), as in gram.wgsl / cholesky.wgsl:
//   side A: gramJobs = BᵀB (bTbJob over B), solveJobs = columns of gA (aAtJob over dA)
//   side B: gramJobs = AAᵀ (aAtJob over A), solveJobs = rows of gB (bTbJob over dB)
// `factors` and `rhs` must be different buffers (WebGPU forbids one buffer bound read-only and
// read_write in one dispatch; and other workgroups may still be reading factors while this one solves).
//
// Workgroup memory: partial 1024 B + L 8320 B + a few scalars ≈ 9.4 KB, under the 16 KiB default.

struct Params { count: u32, r: u32 }
struct Job { offset: u32, n: u32, strideI: u32, strideK: u32 }

@group(0) @binding(0) var<storage, read> factors: array<f32>;
@group(0) @binding(1) var<storage, read> gramJobs: array<Job>;      // [count]
@group(0) @binding(2) var<storage, read> damping: array<f32>;       // [count]
@group(0) @binding(3) var<storage, read_write> P: array<f32>;       // [count, r, r]
@group(0) @binding(4) var<storage, read> solveJobs: array<Job>;     // [count]
@group(0) @binding(5) var<storage, read_write> rhs: array<f32>;     // viewed through solveJobs, in place
@group(0) @binding(6) var<storage, read_write> status: array<u32>;  // [count]: 0 ok, 1 damped, 2 identity
@group(0) @binding(7) var<uniform> params: Params;

fn factorAt(i: u32) -> f32 { return factors[i]; }
fn gramJob(m: u32) -> Job { return gramJobs[m]; }
fn dampingOf(m: u32) -> f32 { return damping[m]; }
fn solveJob(m: u32) -> Job { return solveJobs[m]; }
fn rhsAt(i: u32) -> f32 { return rhs[i]; }
fn rhsSet(i: u32, v: f32) { rhs[i] = v; }
fn statusSet(m: u32, v: u32) { status[m] = v; }

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x + wid.y * 65535u;
  if (m >= params.count) { return; }   // uniform per workgroup: barriers below stay uniform
  gramPhase(m, params.r, lid);
  // P_m was written by other threads of this workgroup: make those global writes visible here.
  storageBarrier();
  workgroupBarrier();
  choleskyPhase(m, params.r, lid);
}
