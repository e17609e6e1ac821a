// The whole optimizer step of a sweep in one dispatch (ALGORITHM.md): one workgroup per (run, adapter).
// Everything one adapter's update reads or writes is that adapter's own blocks of A, B, dA, dB and their
// moments: the Riemannian preconditioner's Gram matrices come from the same adapter's factors. So no
// workgroup needs another's results, and the seven dispatches of the split path (Gram + Cholesky for A's
// side, the A update, the same for B's side, per update rule) become one; within the workgroup, a storage
// barrier orders each phase's global writes before the next phase reads them.
//
// Per job, as the split path orders it:
//   1. Riemannian runs: dA ← (BᵀB + δI)⁻¹ dA from B_t (gram-phase.wgsl, then cholesky-phase.wgsl in place);
//      with the 'old-iterate' order or Riemannian SGD (flag OLD_B) also dB ← dB (AAᵀ + δI)⁻¹ from A_t.
//   2. A's block steps (AdamW or SGD by the run's hyper row: optimizer-math.wgsl's updates, element by element).
//   3. Riemannian AdamW, the paper's order: dB ← dB (AAᵀ + δI)⁻¹ from A_{t+1}, the block step 2 just wrote.
//   4. B's block steps.
// The Gram matrix of side A of job m goes to P slot m, side B's to slot count + m. The job's Cholesky
// fall-backs (status > 0, at most one per side) are added to its run's count in state [R, 4] (column 3) at
// the end, unless the run is frozen (alive = 0): the split path's countFallbacks dispatch, folded in. Jobs of
// one run add to the same float through a compare-and-swap loop; the counts are small integers, so the
// order of the additions does not change the sum.
// A stopped run (training = 0) is still preconditioned, as in the split path, but not stepped.
//
// The phases read the factors and vectors through the hooks below, which pick B and dA (side 0) or A and dB
// (side 1). 12 storage buffers: the host uses the split path where the device allows fewer
// (src/optim/optimizer.ts).

struct Params { count: u32, r: u32 }
struct Job { offset: u32, n: u32, strideI: u32, strideK: u32 }
// One (run, adapter): offA / offB are where its blocks start in A [R, SA] and B [R, SB] (elements).
struct FusedJob {
  run: u32,
  flags: u32,
  offA: u32,
  inDim: u32,
  offB: u32,
  outDim: u32,
  damping: f32,
  pad: u32,
}
// struct Hyper, RULE_ADAMW / RULE_SGD, adamwStep and sgdStep: optimizer-math.wgsl (prepended).
const RIEMANNIAN: u32 = 1u;
const OLD_B: u32 = 2u;

@group(0) @binding(0) var<storage, read_write> A: array<f32>;       // [R, SA]
@group(0) @binding(1) var<storage, read_write> B: array<f32>;       // [R, SB]
@group(0) @binding(2) var<storage, read_write> dA: array<f32>;      // [R, SA], preconditioned in place
@group(0) @binding(3) var<storage, read_write> dB: array<f32>;      // [R, SB]
@group(0) @binding(4) var<storage, read_write> mA: array<f32>;
@group(0) @binding(5) var<storage, read_write> vA: array<f32>;
@group(0) @binding(6) var<storage, read_write> mB: array<f32>;
@group(0) @binding(7) var<storage, read_write> vB: array<f32>;
@group(0) @binding(8) var<storage, read> hyper: array<Hyper>;      // [R]
@group(0) @binding(9) var<storage, read> jobs: array<FusedJob>;    // [count]
@group(0) @binding(10) var<storage, read_write> P: array<f32>;     // [2·count, r, r]
// [R, 4] as f32 bits (sweep.wgsl): alive (column 0) read, Cholesky fall-backs (column 3) added to.
@group(0) @binding(11) var<storage, read_write> state: array<atomic<u32>>;
@group(0) @binding(12) var<uniform> params: Params;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;
var<workgroup> jobFlags: u32;

// The job this workgroup steps, and the side its phases work on (0: B's Gram, dA; 1: A's Gram, dB).
var<private> cur: FusedJob;
var<private> side: u32;
// Thread 0's count of this job's Cholesky fall-backs (choleskyPhase reports to thread 0 only).
var<private> fallbacks: u32;

fn factorAt(i: u32) -> f32 {
  if (side == 0u) { return B[i]; }
  return A[i];
}
// Side 0: BᵀB over B [out, r] (gram.ts bTbJob); side 1: AAᵀ over A [r, in] (aAtJob).
fn gramJob(m: u32) -> Job {
  if (side == 0u) { return Job(cur.offB, cur.outDim, 1u, params.r); }
  return Job(cur.offA, cur.inDim, cur.inDim, 1u);
}
fn dampingOf(m: u32) -> f32 { return cur.damping; }
// Side 0: the columns of dA [r, in]; side 1: the rows of dB [out, r].
fn solveJob(m: u32) -> Job {
  if (side == 0u) { return Job(cur.offA, cur.inDim, cur.inDim, 1u); }
  return Job(cur.offB, cur.outDim, 1u, params.r);
}
fn rhsAt(i: u32) -> f32 {
  if (side == 0u) { return dA[i]; }
  return dB[i];
}
fn rhsSet(i: u32, v: f32) {
  if (side == 0u) {
    dA[i] = v;
  } else {
    dB[i] = v;
  }
}
fn statusSet(m: u32, v: u32) {
  if (v != 0u) { fallbacks++; }
}

/** state[run, 3] += n for a run still alive (countFallbacks' rule: a frozen run's solves are not its). */
fn addFallbacks(run: u32, n: u32) {
  if (bitcast<f32>(atomicLoad(&state[run * 4u])) <= 0.5) { return; }
  let at = run * 4u + 3u;
  var old = atomicLoad(&state[at]);
  loop {
    let swap = atomicCompareExchangeWeak(&state[at], old, bitcast<u32>(bitcast<f32>(old) + f32(n)));
    if (swap.exchanged) { break; }
    old = swap.old_value;
  }
}

/**
 * One element's step by the run's rule (optimizer-math.wgsl, as the split path's kernels): (p, m, v) after it.
 * SGD leaves m and v as they are; any other rule leaves p too.
 */
fn update(h: Hyper, lr: f32, p: f32, grad: f32, m: f32, v: f32) -> vec3f {
  if (h.rule == RULE_ADAMW) {
    return adamwStep(h, lr, p, grad, m, v);
  }
  if (h.rule == RULE_SGD) {
    return vec3f(sgdStep(h, lr, p, grad), m, v);
  }
  return vec3f(p, m, v);
}

/** Gram + Cholesky + in-place solve of one side, into P slot / status `slot`. */
fn precondition(which: u32, slot: u32, r: u32, lid: u32) {
  side = which;
  gramPhase(slot, r, lid);
  storageBarrier();
  workgroupBarrier();
  choleskyPhase(slot, r, lid);
  storageBarrier();
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x + wid.y * 65535u;
  if (m >= params.count) { return; }   // uniform per workgroup: barriers below stay uniform
  cur = jobs[m];
  if (lid == 0u) { jobFlags = cur.flags; }
  let flags = workgroupUniformLoad(&jobFlags);
  let r = params.r;
  let h = hyper[cur.run];
  let stepping = h.training != 0.0;
  let riemannian = (flags & RIEMANNIAN) != 0u;
  let oldB = (flags & OLD_B) != 0u;

  if (riemannian) {
    precondition(0u, m, r, lid);
    if (oldB) { precondition(1u, params.count + m, r, lid); }
  }

  // A's block, then (below) B's: AdamW as torch.optim.AdamW orders it, or SGD with decoupled decay.
  let nA = r * cur.inDim;
  if (stepping) {
    for (var i = lid; i < nA; i += WG) {
      let e = cur.offA + i;
      let u = update(h, h.lrA, A[e], dA[e], mA[e], vA[e]);
      A[e] = u.x;
      if (h.rule == RULE_ADAMW) {
        mA[e] = u.y;
        vA[e] = u.z;
      }
    }
  }

  if (riemannian && !oldB) {
    // The Gram matrix of A_{t+1}: the other threads' stores of A above must be visible first.
    storageBarrier();
    workgroupBarrier();
    precondition(1u, params.count + m, r, lid);
  }

  let nB = cur.outDim * r;
  if (stepping) {
    for (var i = lid; i < nB; i += WG) {
      let e = cur.offB + i;
      let u = update(h, h.lrB, B[e], dB[e], mB[e], vB[e]);
      B[e] = u.x;
      if (h.rule == RULE_ADAMW) {
        mB[e] = u.y;
        vB[e] = u.z;
      }
    }
  }
  if (lid == 0u && fallbacks > 0u) { addFallbacks(cur.run, fallbacks); }
}
