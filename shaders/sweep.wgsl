// Per-run bookkeeping of a sweep, on the GPU so that a step needs no readback:
//   guard:           loss of the step → history ring; a run whose loss is NaN/Inf or above
//                    boundFactor × its first loss is marked diverged at this step and frozen
//                    (active = 0 in its hyper row) BEFORE this step's update.
//   countFallbacks:  adds the Cholesky fall-backs (status > 0) of each run's matrices to its count.
//   keepLastGood:    after the guard, copies each alive run's A and B (the weights this step's loss was
//                    measured on, which passed the guard) to lastA/lastB; a diverged run's lastA/lastB
//                    stay the weights of its last step whose loss passed the guard.
// state [R, 4] = alive (1/0), firstLoss, divergedAtStep (0 = never), choleskyFallbacks.

struct Params { R: u32, step: u32, historyRow: u32, invCount: f32, boundFactor: f32 }
// As HYPER_FIELDS in src/kernels/hyper.ts (checked by hyper.test.ts).
struct Hyper {
  lrA: f32, lrB: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32,
  bc1: f32, bc2: f32, training: f32, rule: f32,
}

@group(0) @binding(0) var<storage, read> lossSums: array<f32>;          // [R]  Σ mask·nll
@group(0) @binding(1) var<storage, read> lossFlags: array<u32>;         // [R]  1 = non-finite seen
@group(0) @binding(2) var<storage, read_write> state: array<f32>;       // [R, 4]
@group(0) @binding(3) var<storage, read_write> hyper: array<Hyper>;     // [R]
@group(0) @binding(4) var<storage, read_write> history: array<f32>;     // [rows, R]
@group(0) @binding(5) var<uniform> params: Params;

fn isFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(64)
fn guard(@builtin(global_invocation_id) gid: vec3u) {
  let run = gid.x;
  if (run >= params.R) { return; }
  let loss = lossSums[run] * params.invCount;
  history[params.historyRow * params.R + run] = loss;
  var alive = state[run * 4u] > 0.5;
  if (alive) {
    if (state[run * 4u + 1u] == 0.0 && isFinite(loss)) { state[run * 4u + 1u] = loss; }
    let first = state[run * 4u + 1u];
    let bad = lossFlags[run] != 0u || !isFinite(loss) || (first > 0.0 && loss > params.boundFactor * first);
    if (bad) {
      alive = false;
      state[run * 4u] = 0.0;
      state[run * 4u + 2u] = f32(params.step);
    }
  }
  if (!alive) { hyper[run].training = 0.0; }
}

// Up to three batched solves per step (A's side; B's side before and after A's update): their per-matrix
// statuses are counted in one dispatch at the end of the step.
struct CountParams { count0: u32, count1: u32, count2: u32, R: u32 }
@group(0) @binding(0) var<storage, read> status0: array<u32>;           // [count0]
@group(0) @binding(1) var<storage, read> jobRun0: array<u32>;           // [count0] run of each matrix
@group(0) @binding(2) var<storage, read> status1: array<u32>;
@group(0) @binding(3) var<storage, read> jobRun1: array<u32>;
@group(0) @binding(4) var<storage, read> status2: array<u32>;
@group(0) @binding(5) var<storage, read> jobRun2: array<u32>;
@group(0) @binding(6) var<storage, read_write> counts: array<f32>;      // state [R, 4]: column 3
@group(0) @binding(7) var<uniform> cparams: CountParams;

@compute @workgroup_size(64)
fn countFallbacks(@builtin(global_invocation_id) gid: vec3u) {
  let run = gid.x;
  if (run >= cparams.R) { return; }
  var n = 0u;
  for (var m = 0u; m < cparams.count0; m++) { if (jobRun0[m] == run && status0[m] != 0u) { n++; } }
  for (var m = 0u; m < cparams.count1; m++) { if (jobRun1[m] == run && status1[m] != 0u) { n++; } }
  for (var m = 0u; m < cparams.count2; m++) { if (jobRun2[m] == run && status2[m] != 0u) { n++; } }
  // A frozen run (diverged) is skipped: its factors no longer move, and solves on them (NaN or not) are not its.
  if (counts[run * 4u] > 0.5) { counts[run * 4u + 3u] += f32(n); }
}

// One dispatch for both factors: i < R·SA indexes A [R, SA], the rest B [R, SB].
struct KeepParams { R: u32, SA: u32, SB: u32 }
@group(0) @binding(0) var<storage, read> kState: array<f32>;            // [R, 4]
@group(0) @binding(1) var<storage, read> kA: array<f32>;                // [R, SA]
@group(0) @binding(2) var<storage, read> kB: array<f32>;                // [R, SB]
@group(0) @binding(3) var<storage, read_write> lastA: array<f32>;       // [R, SA]
@group(0) @binding(4) var<storage, read_write> lastB: array<f32>;       // [R, SB]
@group(0) @binding(5) var<uniform> kparams: KeepParams;

const KEEP_WG: u32 = 256u;

@compute @workgroup_size(KEEP_WG)
fn keepLastGood(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * KEEP_WG;
  let nA = kparams.R * kparams.SA;
  if (i < nA) {
    if (kState[(i / kparams.SA) * 4u] > 0.5) { lastA[i] = kA[i]; }
    return;
  }
  let j = i - nA;
  if (j >= kparams.R * kparams.SB) { return; }
  if (kState[(j / kparams.SB) * 4u] > 0.5) { lastB[j] = kB[j]; }
}
