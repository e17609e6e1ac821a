// The per-run sum of reduce.wgsl (see there for the blocking), shared with loss-guard.wgsl so both give the
// same float32 sums: every thread of the workgroup calls runSumPhase; afterwards partSum[0] holds Σ x (or
// Σ x² with `square`) over x[base .. base + n) and partFlag[0] is 1 if one of them is NaN or ±Inf.
// The including shader declares `x` (read) and the override WG (a power of two).

const BLOCK: u32 = 256u;

var<workgroup> partSum: array<f32, WG>;
var<workgroup> partFlag: array<u32, WG>;

fn nonFinite(v: f32) -> u32 {
  return select(0u, 1u, (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u);
}

fn runSumPhase(base: u32, n: u32, square: bool, lid: u32) {
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
}
