// Phase 1 of the Riemannian preconditioner, shared by gram.wgsl and gram-cholesky-solve.wgsl (prepended by
// src/kernels/gram.ts and gram-cholesky-solve.ts, so both compute the Gram matrices with the same operations):
//   P[m][i][j] = Σ_k F_m(i,k) · F_m(j,k) + δ_m·[i == j]     (δ_m = damping[m], its run's)
// Factor m is read through gramJobs[m]: element (i, k) sits at offset + i·strideI + k·strideK. The
// E = r(r+1)/2 entries of the upper triangle share the workgroup's WG threads: with E < WG each entry gets
// WG / E threads that split the long n-sum between them (r = 4 and WG = 256: 25 threads per entry), then a
// workgroup-memory sum; with E ≥ WG each thread sums whole entries.
// The including shader declares: struct Job, `P` (read_write), the constant WG,
// `var<workgroup> partial: array<f32, WG>`, and how the phase reads its inputs: `fn factorAt(i) -> f32`
// (element i of the factors), `fn gramJob(m) -> Job` and `fn dampingOf(m) -> f32` (gram.wgsl reads its
// bindings `factors`, `gramJobs`, `damping`; optimizer-fused.wgsl picks A or B per side).

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

// Four terms' loads are issued before their multiply-adds, which keep the order of the plain loop (k0, k0 +
// step, ...): the same float32 sum with a quarter of the dependent memory round trips (the sum is the long
// pole of the preconditioner: 31 terms a thread for BᵀB at lab-gpt's c_attn).
fn dot(job: Job, i: u32, j: u32, k0: u32, step: u32) -> f32 {
  var acc = 0.0;
  let bi = job.offset + i * job.strideI;
  let bj = job.offset + j * job.strideI;
  let sk = job.strideK;
  var k = k0;
  for (; k + 3u * step < job.n; k += 4u * step) {
    let x0 = factorAt(bi + k * sk);
    let y0 = factorAt(bj + k * sk);
    let x1 = factorAt(bi + (k + step) * sk);
    let y1 = factorAt(bj + (k + step) * sk);
    let x2 = factorAt(bi + (k + 2u * step) * sk);
    let y2 = factorAt(bj + (k + 2u * step) * sk);
    let x3 = factorAt(bi + (k + 3u * step) * sk);
    let y3 = factorAt(bj + (k + 3u * step) * sk);
    acc = fma(x0, y0, acc);
    acc = fma(x1, y1, acc);
    acc = fma(x2, y2, acc);
    acc = fma(x3, y3, acc);
  }
  for (; k < job.n; k += step) {
    acc = fma(factorAt(bi + k * sk), factorAt(bj + k * sk), acc);
  }
  return acc;
}

fn store(m: u32, r: u32, ij: vec2u, value: f32) {
  var v = value;
  if (ij.x == ij.y) { v += dampingOf(m); }
  P[m * r * r + ij.x * r + ij.y] = v;
  P[m * r * r + ij.y * r + ij.x] = v;
}

/** P_m = F_mᵀF_m + δ_m I into P (every thread of the workgroup calls it; E depends only on the uniform r). */
fn gramPhase(m: u32, r: u32, lid: u32) {
  let job = gramJob(m);
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
