// Per-run sums for the sweep engine: the loss of each run (Σ rowLoss) and squared norms (Σ x²) of its
// gradients, plus a flag saying whether any element of the run is NaN or ±Inf, so that a diverged run
// is caught and masked without disturbing the others.
//   sums[ρ]  = Σ_i x[ρ·n + i]   (square = 0)   or   Σ_i x[ρ·n + i]²   (square = 1)
//   flags[ρ] = 1 if some x[ρ·n + i] is not finite, else 0
// One workgroup per run: WGSL has no float atomics and the contract has no scratch buffer for a
// second pass, and R is small. Each thread sums a strided slice (coalesced loads) in blocks of at most
// BLOCK terms, adding each block's partial sum to its total: the rounding error then grows with
// BLOCK + n / (BLOCK·WG) instead of n / WG, without relying on compensated summation, which a
// fast-math compiler may legally remove.

struct Params { R: u32, n: u32, square: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;            // [R, n]
@group(0) @binding(1) var<storage, read_write> sums: array<f32>;   // [R]
@group(0) @binding(2) var<storage, read_write> flags: array<u32>;  // [R]
@group(0) @binding(3) var<uniform> params: Params;

override WG: u32 = 256u;  // a power of two (tree reduction)
const BLOCK: u32 = 256u;

var<workgroup> partSum: array<f32, WG>;
var<workgroup> partFlag: array<u32, WG>;

// Bit test rather than `v != v` or comparisons with infinity, which compilers may fold away.
fn nonFinite(v: f32) -> u32 {
  return select(0u, 1u, (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let run = wid.x + wid.y * 65535u;
  if (run >= params.R) { return; }
  let n = params.n;
  let base = run * n;
  let square = params.square == 1u;
  var total = 0.0;
  var bad = 0u;
  var i = lid;
  while (i < n) {
    let end = min(n, i + BLOCK * WG);
    var block = 0.0;
    for (; i < end; i += WG) {
      let v = x[base + i];
      bad |= nonFinite(v);
      block += select(v, v * v, square);
    }
    total += block;
  }
  partSum[lid] = total;
  partFlag[lid] = bad;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partSum[lid] += partSum[lid + s];
      partFlag[lid] |= partFlag[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    sums[run] = partSum[0];
    flags[run] = partFlag[0];
  }
}
