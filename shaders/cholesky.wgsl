// Batched SPD solves for the Riemannian preconditioner (ALGORITHM.md): the body is cholesky-phase.wgsl's
// choleskyPhase (prepended by src/kernels/cholesky.ts; see there for the factorisation, the solves and the
// breakdown rules), which the fused gram-cholesky-solve.wgsl runs too.

struct Params { count: u32, r: u32 }
struct Job { offset: u32, n: u32, strideI: u32, strideK: u32 }

@group(0) @binding(0) var<storage, read> P: array<f32>;          // [count, r, r]
@group(0) @binding(1) var<storage, read> solveJobs: array<Job>;  // [count]
@group(0) @binding(2) var<storage, read_write> rhs: array<f32>;  // viewed through solveJobs, solved in place
@group(0) @binding(3) var<storage, read_write> status: array<u32>; // [count]: 0 ok, 1 damped, 2 identity
@group(0) @binding(4) var<uniform> params: Params;

fn solveJob(m: u32) -> Job { return solveJobs[m]; }
fn rhsAt(i: u32) -> f32 { return rhs[i]; }
fn rhsSet(i: u32, v: f32) { rhs[i] = v; }
fn statusSet(m: u32, v: u32) { status[m] = v; }

// Threads per workgroup = the largest r: during the factorisation thread i owns row i.
const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x + wid.y * 65535u;
  if (m >= params.count) { return; }   // uniform per workgroup: barriers below stay uniform
  choleskyPhase(m, params.r, lid);
}
