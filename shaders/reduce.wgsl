// Per-run sums for the sweep engine: the loss of each run (Σ rowLoss) and squared norms (Σ x²) of its
// gradients, plus a flag saying whether any element of the run is NaN or ±Inf, so that a diverged run
// is caught and masked without disturbing the others.
//   sums[ρ]  = Σ_i x[ρ·n + i]   (square = 0)   or   Σ_i x[ρ·n + i]²   (square = 1)
//   flags[ρ] = 1 if some x[ρ·n + i] is not finite, else 0
// One workgroup per run: WGSL has no float atomics and the contract has no scratch buffer for a
// second pass, and R is small. Each thread sums a strided slice (coalesced loads) in blocks of at most
// BLOCK terms, adding each block's partial sum to its total: the rounding error then grows with
// BLOCK + n / (BLOCK·WG) instead of n / WG, without relying on compensated summation, which a
// fast-math compiler may legally remove. The sum itself is reduce-phase.wgsl's runSumPhase (shared with
// loss-guard.wgsl), prepended by src/kernels/reduce.ts.

struct Params { R: u32, n: u32, square: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;            // [R, n]
@group(0) @binding(1) var<storage, read_write> sums: array<f32>;   // [R]
@group(0) @binding(2) var<storage, read_write> flags: array<u32>;  // [R]
@group(0) @binding(3) var<uniform> params: Params;

override WG: u32 = 256u;  // a power of two (tree reduction)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let run = wid.x + wid.y * 65535u;
  if (run >= params.R) { return; }
  runSumPhase(run * params.n, params.n, params.square == 1u, lid);
  if (lid == 0u) {
    sums[run] = partSum[0];
    flags[run] = partFlag[0];
  }
}
