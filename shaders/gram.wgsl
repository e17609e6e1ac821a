// Gram matrices of LoRA factors for the Riemannian preconditioner (ALGORITHM.md):
//   P[m][i][j] = Σ_k F_m(i,k) · F_m(j,k) + δ_m·[i == j]     (δ_m = damping[m], its run's)
// One workgroup per matrix m. Factor m is read through its job: element (i, k) sits at
// offset + i·strideI + k·strideK, so one kernel serves both sides:
//   BᵀB: B is [out, r] row-major  → n = out, strideI = 1, strideK = r
//   AAᵀ: A is [r, in]  row-major  → n = in,  strideI = in, strideK = 1
// The E = r(r+1)/2 entries of the upper triangle share the workgroup's threads: with E < WG each
// entry gets WG / E threads that split the long n-sum between them (r = 4: 25 threads per entry), then
// a workgroup-memory sum; with E ≥ WG each thread sums whole entries.

struct Params { count: u32, r: u32 }
struct Job { offset: u32, n: u32, strideI: u32, strideK: u32 }

@group(0) @binding(0) var<storage, read> factors: array<f32>;
@group(0) @binding(1) var<storage, read> jobs: array<Job>;
@group(0) @binding(2) var<storage, read> damping: array<f32>;     // [count]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;   // [count, r, r]
@group(0) @binding(4) var<uniform> params: Params;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

/** (i, j) of upper-triangle entry e, row by row: e = i·r − i(i−1)/2 + (j − i). */
fn entryOf(e: u32, r: u32) -> vec2u {
  var i = 0u;
  var first = 0u;
  loop {
    let rowLen = r - i;
    if (e < first + rowLen) { break; }
    first += rowLen;
    i++;
  }
  return vec2u(i, i + (e - first));
}

fn dot(job: Job, i: u32, j: u32, k0: u32, step: u32) -> f32 {
  var acc = 0.0;
  let bi = job.offset + i * job.strideI;
  let bj = job.offset + j * job.strideI;
  for (var k = k0; k < job.n; k += step) {
    acc = fma(factors[bi + k * job.strideK], factors[bj + k * job.strideK], acc);
  }
  return acc;
}

fn store(m: u32, r: u32, ij: vec2u, value: f32) {
  var v = value;
  if (ij.x == ij.y) { v += damping[m]; }
  out[m * r * r + ij.x * r + ij.y] = v;
  out[m * r * r + ij.y * r + ij.x] = v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x + wid.y * 65535u;
  if (m >= params.count) { return; }   // uniform per workgroup: barriers below stay uniform
  let job = jobs[m];
  let r = params.r;
  let E = r * (r + 1u) / 2u;
  if (E >= WG) {
    for (var e = lid; e < E; e += WG) {
      let ij = entryOf(e, r);
      store(m, r, ij, dot(job, ij.x, ij.y, 0u, 1u));
    }
    return;
  }
  let slices = WG / E;
  let e = lid / slices;
  var acc = 0.0;
  if (e < E) {
    let ij = entryOf(e, r);
    acc = dot(job, ij.x, ij.y, lid % slices, slices);
  }
  partial[lid] = acc;
  workgroupBarrier();
  if (lid < E) {
    var sum = 0.0;
    for (var s = 0u; s < slices; s++) { sum += partial[lid * slices + s]; }
    store(m, r, entryOf(lid, r), sum);
  }
}
