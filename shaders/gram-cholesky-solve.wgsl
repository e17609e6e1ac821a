// gram.wgsl then cholesky.wgsl fused into one dispatch (one side of the Riemannian preconditioner,
// ALGORITHM.md): for every matrix m,
//   P_m = Σ_k F_m(:, k) F_m(:, k)ᵀ + δ_m I      (phase 1, written to the global P: it stays inspectable)
//   v ← P_m⁻¹ v for each vector v that solve job m views in `rhs`   (phase 2, Cholesky, in place)
// One workgroup per matrix, so phase 2 only needs P_m from its own workgroup: a storage barrier makes
// phase 1's global writes visible to the rest of the workgroup, and no second dispatch is needed.
//
// Bit for bit the two-kernel path: phase 1 is gram.wgsl's body (the same thread split of the n-sums,
// the same workgroup-memory reduction order); phase 2 is cholesky.wgsl's body (the same pivot test,
// retry on P + εI → status 1, identity fall-back → status 2, status 0 otherwise; see cholesky.wgsl for
// why). Cholesky needs only r ≤ 64 threads (thread i owns row i of L); the others just reach its
// barriers. Each rhs vector is solved by one thread with the same operations whichever thread it is,
// so the solves use all 256 threads.
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

const WG: u32 = 256u;
const MAX_R: u32 = 64u;
const EPS32: f32 = 1.1920929e-7;
const RETRY_REL: f32 = 1e-4;
const RETRY_ABS: f32 = 1e-6;

var<workgroup> partial: array<f32, WG>;
// L packed by rows, lower triangle only: (i, j ≤ i) at i(i+1)/2 + j.
var<workgroup> L: array<f32, 2080>;
var<workgroup> pivot: f32;
var<workgroup> failed: array<u32, 2>;  // per attempt; written only by the thread owning the pivot
var<workgroup> nonFinite: atomic<u32>;
var<workgroup> skip: u32;

// ---- phase 1 helpers: gram.wgsl's ----

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
  P[m * r * r + ij.x * r + ij.y] = v;
  P[m * r * r + ij.y * r + ij.x] = v;
}

// ---- phase 2 helpers: cholesky.wgsl's ----

fn tri(i: u32, j: u32) -> u32 { return i * (i + 1u) / 2u + j; }

fn isFinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x + wid.y * 65535u;
  if (m >= params.count) { return; }   // uniform per workgroup: barriers below stay uniform
  let r = params.r;
  let base = m * r * r;

  // Phase 1: P = FᵀF + δI (gram.wgsl). E depends only on the uniform r, so both branches are uniform.
  {
    let job = gramJobs[m];
    let E = r * (r + 1u) / 2u;
    if (E >= WG) {
      for (var e = lid; e < E; e += WG) {
        let ij = entryOf(e, r);
        store(m, r, ij, dot(job, ij.x, ij.y, 0u, 1u));
      }
    } else {
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
  }
  // P_m was written by other threads of this workgroup: make those global writes visible here.
  storageBarrier();
  workgroupBarrier();

  // Phase 2: Cholesky of P_m and the solves (cholesky.wgsl).
  for (var e = lid; e < r * r; e += WG) {
    if (!isFinite(P[base + e])) { atomicStore(&nonFinite, 1u); }
  }
  var diagSum = 0.0;
  for (var i = 0u; i < r; i++) { diagSum += abs(P[base + i * r + i]); }
  workgroupBarrier();
  if (lid == 0u) { skip = atomicLoad(&nonFinite); }
  var result = 2u;
  if (workgroupUniformLoad(&skip) == 0u) {
    for (var attempt = 0u; attempt < 2u; attempt++) {
      let extra = select(0.0, RETRY_REL * diagSum / f32(r) + RETRY_ABS, attempt == 1u);
      // Left-looking, one column j at a time: thread i (≥ j) forms s_i = P_ij − Σ_{k<j} L_ik L_jk.
      // Threads ≥ r (all of those ≥ 64) have no row and only take part in the barriers.
      for (var j = 0u; j < r; j++) {
        let i = lid;
        var s = 0.0;
        if (i >= j && i < r) {
          s = P[base + j * r + i];
          if (i == j) { s += extra; }
          for (var k = 0u; k < j; k++) { s = fma(-L[tri(i, k)], L[tri(j, k)], s); }
          if (i == j) { pivot = s; }
        }
        workgroupBarrier();
        let d = pivot;
        let ok = isFinite(d) && d > EPS32 * abs(P[base + j * r + j]);
        let sq = sqrt(d);
        if (i == j) {
          L[tri(j, j)] = sq;
          if (!ok) { failed[attempt] = 1u; }
        } else if (i > j && i < r) {
          L[tri(i, j)] = s / sq;
        }
        // The uniform load is also the barrier that publishes column j before column j + 1 reads it.
        if (workgroupUniformLoad(&failed[attempt]) != 0u) { break; }
      }
      if (workgroupUniformLoad(&failed[attempt]) == 0u) {
        result = attempt;
        break;
      }
    }
  }

  if (result < 2u) {
    let job = solveJobs[m];
    var x: array<f32, MAX_R>;
    for (var k = lid; k < job.n; k += WG) {
      let at = job.offset + k * job.strideK;
      // L y = v, then Lᵀ x = y, in place in x.
      for (var i = 0u; i < r; i++) {
        var s = rhs[at + i * job.strideI];
        for (var j = 0u; j < i; j++) { s = fma(-L[tri(i, j)], x[j], s); }
        x[i] = s / L[tri(i, i)];
      }
      for (var ii = 0u; ii < r; ii++) {
        let i = r - 1u - ii;
        var s = x[i];
        for (var j = i + 1u; j < r; j++) { s = fma(-L[tri(j, i)], x[j], s); }
        x[i] = s / L[tri(i, i)];
      }
      for (var i = 0u; i < r; i++) { rhs[at + i * job.strideI] = x[i]; }
    }
  }
  if (lid == 0u) { status[m] = result; }
}
