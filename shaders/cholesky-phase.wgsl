// Phase 2 of the Riemannian preconditioner, shared by cholesky.wgsl and gram-cholesky-solve.wgsl (prepended by
// src/kernels/cholesky.ts and gram-cholesky-solve.ts, so both factor and solve with the same operations):
// batched SPD solves (ALGORITHM.md). For every matrix m, each of the
// n vectors that job m views in `rhs` is replaced by P_m⁻¹ v, through P_m = L Lᵀ (Cholesky) and a
// forward then a back substitution. Vector k's element i sits at offset + i·strideI + k·strideK, so one
// kernel serves both sides (P symmetric, so gB PB⁻¹ is PB⁻¹ applied to each row of gB):
//   left  gA' = PA⁻¹ gA, gA [r, in]:  vectors are the columns → n = in,  strideI = in, strideK = 1
//   right gB' = gB PB⁻¹, gB [out, r]: vectors are the rows    → n = out, strideI = 1,  strideK = r
// One workgroup per matrix. P is read through its upper triangle (row j, columns i ≥ j: contiguous).
//
// Breakdown (ALGORITHM.md edge cases). A pivot d_j is accepted when it is finite and
// d_j > EPS32 · |P_jj|: anything smaller is float32 rounding noise of the elimination, and dividing by
// its square root would amplify noise (or give Inf/NaN). On the first failure the factorisation is
// retried once on P + εI with ε = 1e-4 · mean|P_ii| + 1e-6 (relative part: caps the condition number
// near 1e4·r; absolute part: rescues P = 0) → status 1. If that fails too, or P has a non-finite entry,
// the rhs is left as it is (identity preconditioner, as the paper's code does when the inverse fails)
// → status 2. Status 0: plain factorisation of P.

// The including shader declares: struct Job, `P` (read), the constant WG ≥ the largest r (during the
// factorisation thread i owns row i), how the phase reaches its vectors: `fn solveJob(m) -> Job`,
// `fn rhsAt(i) -> f32` and `fn rhsSet(i, v)` (cholesky.wgsl: its bindings `solveJobs` and `rhs`), and where
// the outcome goes: `fn statusSet(m, status)`, called by thread 0 (cholesky.wgsl: its binding `status`).
// The workgroup's flags are cleared on entry, so one workgroup may run the phase more than once.

const MAX_R: u32 = 64u;
const EPS32: f32 = 1.1920929e-7;
const RETRY_REL: f32 = 1e-4;
const RETRY_ABS: f32 = 1e-6;

// L packed by rows, lower triangle only: (i, j ≤ i) at i(i+1)/2 + j; 2080 floats = 8320 bytes, which
// leaves room under the 16 KiB default workgroup storage limit.
var<workgroup> L: array<f32, 2080>;
var<workgroup> pivot: f32;
var<workgroup> failed: array<u32, 2>;  // per attempt; written only by the thread owning the pivot
var<workgroup> nonFinite: atomic<u32>;
var<workgroup> skip: u32;

fn tri(i: u32, j: u32) -> u32 { return i * (i + 1u) / 2u + j; }

fn isFinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

/** Cholesky of P_m and the solves of solve job m in place; statusSet(m, ·) (every thread of the workgroup calls it). */
fn choleskyPhase(m: u32, r: u32, lid: u32) {
  let base = m * r * r;

  if (lid == 0u) {
    atomicStore(&nonFinite, 0u);
    failed[0] = 0u;
    failed[1] = 0u;
  }
  workgroupBarrier();
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
      // Threads ≥ r have no row and only take part in the barriers.
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
    let job = solveJob(m);
    var x: array<f32, MAX_R>;
    for (var k = lid; k < job.n; k += WG) {
      let at = job.offset + k * job.strideK;
      // L y = v, then Lᵀ x = y, in place in x.
      for (var i = 0u; i < r; i++) {
        var s = rhsAt(at + i * job.strideI);
        for (var j = 0u; j < i; j++) { s = fma(-L[tri(i, j)], x[j], s); }
        x[i] = s / L[tri(i, i)];
      }
      for (var ii = 0u; ii < r; ii++) {
        let i = r - 1u - ii;
        var s = x[i];
        for (var j = i + 1u; j < r; j++) { s = fma(-L[tri(j, i)], x[j], s); }
        x[i] = s / L[tri(i, i)];
      }
      for (var i = 0u; i < r; i++) { rhsSet(at + i * job.strideI, x[i]); }
    }
  }
  if (lid == 0u) { statusSet(m, result); }
}
