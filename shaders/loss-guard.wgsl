// A sweep step's loss bookkeeping in one dispatch, one workgroup per run: reduce.wgsl's per-run loss sum
// (the same runSumPhase, so the same float32 sums), then sweep.wgsl's guard on it, where two dispatches did
// it before (runSums, then guard).
//   lossSums[ρ] = Σ rowLoss[ρ, :]; lossFlags[ρ] = 1 if one is NaN / ±Inf          (runSums)
//   loss → history; a run whose loss is NaN/Inf or above boundFactor × its first loss is marked diverged
//   at this step and frozen (hyper training = 0) before this step's update          (sweep.wgsl guard)
// Placed right after the loss (before the backward): nothing in the backward reads what it writes, and
// keepLastGood and the optimizer, which read state and hyper, come after.
//
// keepLastGood's copy stays a dispatch of its own: done here, by the one workgroup of a run, it took the
// H200 about 30 µs a step (16,384 floats a run at lab-gpt, 64 dependent load-store rounds per thread,
// against one per thread over R·(SA + SB) / 256 workgroups).

struct Params { R: u32, n: u32, step: u32, historyRow: u32, invCount: f32, boundFactor: f32 }
// As HYPER_FIELDS in src/kernels/hyper.ts (checked by hyper.test.ts).
struct Hyper {
  lrA: f32, lrB: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32,
  bc1: f32, bc2: f32, training: f32, rule: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;                 // rowLoss [R, n]
@group(0) @binding(1) var<storage, read_write> lossSums: array<f32>;    // [R]
@group(0) @binding(2) var<storage, read_write> lossFlags: array<u32>;   // [R]
@group(0) @binding(3) var<storage, read_write> state: array<f32>;       // [R, 4]
@group(0) @binding(4) var<storage, read_write> hyper: array<Hyper>;     // [R]
@group(0) @binding(5) var<storage, read_write> history: array<f32>;     // [rows, R]
@group(0) @binding(6) var<uniform> params: Params;

override WG: u32 = 256u;

fn isFinite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let run = wid.x + wid.y * 65535u;
  if (run >= params.R) { return; }
  runSumPhase(run * params.n, params.n, false, lid);
  if (lid == 0u) {
    let sum = partSum[0];
    let flag = partFlag[0];
    lossSums[run] = sum;
    lossFlags[run] = flag;
    // sweep.wgsl's guard, on the sum just formed.
    let loss = sum * params.invCount;
    history[params.historyRow * params.R + run] = loss;
    var alive = state[run * 4u] > 0.5;
    if (alive) {
      if (state[run * 4u + 1u] == 0.0 && isFinite(loss)) { state[run * 4u + 1u] = loss; }
      let first = state[run * 4u + 1u];
      let bad = flag != 0u || !isFinite(loss) || (first > 0.0 && loss > params.boundFactor * first);
      if (bad) {
        alive = false;
        state[run * 4u] = 0.0;
        state[run * 4u + 2u] = f32(params.step);
      }
    }
    if (!alive) { hyper[run].training = 0.0; }
  }
}
