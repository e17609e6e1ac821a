// Softmax cross-entropy of the LM head, fused with its gradient, for a chunk of the sweep's rows:
//   rowLoss[ρ, i]   = mask[i] · (logsumexp(logits[ρ, i, :]) − logits[ρ, i, targets[i]])
//   dlogits[ρ, i, j] = (softmax(logits[ρ, i, :])_j − [j = targets[i]]) · mask[i] · invCount
// with invCount = 1 / Σ mask over the whole batch, so that the gradient is that of the mean loss over
// unmasked tokens. Job = ρ·rows + i; the dispatch covers jobs first .. first + jobs − 1, whose logits
// are the chunk's rows 0 .. jobs − 1 (the LM head is computed chunk by chunk: gpu-model.ts).
// The logits are overwritten by dlogits in place: the forward's logits are not needed afterwards.
// One workgroup per job of the chunk, local job = wid.x + 65535·wid.y; the maximum is subtracted
// before exp, so logits of any (finite) magnitude give finite results.
// PARTS > 1: the logits are not in `logits` but in `partial`, PARTS partial products of a split-K LM head
// ([PARTS, jobs, V] packed from 0), read as their sum added from zero in part order: the float32 that
// matmulSplitKSum (alpha 1, no bias) would have stored in `logits` (gpu-model.ts). dlogits still go to
// `logits`.

struct Params { rows: u32, V: u32, first: u32, jobs: u32, invCount: f32 }

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;  // [jobs, V]: logits in, dlogits out
@group(0) @binding(1) var<storage, read> targets: array<u32>;       // [rows]
@group(0) @binding(2) var<storage, read> mask: array<f32>;          // [rows]
@group(0) @binding(3) var<storage, read_write> rowLoss: array<f32>; // [R, rows], indexed by job
@group(0) @binding(4) var<storage, read> partial: array<f32>;      // PARTS > 1: [PARTS, jobs, V]
@group(0) @binding(5) var<uniform> params: Params;

override WG: u32 = 256u;  // a power of two (tree reduction)
override PARTS: u32 = 1u;

// Logit i of the chunk (local job · V + j).
fn logitAt(i: u32) -> f32 {
  if (PARTS == 1u) { return logits[i]; }
  let part = params.jobs * params.V;
  var v = 0.0;
  for (var s = 0u; s < PARTS; s++) { v += partial[s * part + i]; }
  return v;
}

var<workgroup> part: array<f32, WG>;

// Max (isMax) or sum of v over the workgroup, returned to every thread; `part` is free on return.
fn workgroupReduce(v: f32, lid: u32, isMax: bool) -> f32 {
  part[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = part[lid];
      let b = part[lid + s];
      part[lid] = select(a + b, max(a, b), isMax);
    }
    workgroupBarrier();
  }
  let total = part[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let local = wid.x + wid.y * 65535u;
  if (local >= params.jobs) { return; }
  let job = params.first + local;
  let V = params.V;
  let base = local * V;
  let row = job % params.rows;
  let targetIndex = targets[row];
  // Read before the first barrier: thread (targetIndex mod WG) overwrites it with its gradient later.
  let targetLogit = logitAt(base + targetIndex);

  var m = -3.4028234e38;  // lowest finite f32: threads past V must not win the max
  for (var j = lid; j < V; j += WG) { m = max(m, logitAt(base + j)); }
  m = workgroupReduce(m, lid, true);
  var s = 0.0;
  for (var j = lid; j < V; j += WG) { s += exp(logitAt(base + j) - m); }
  // Kept apart from m: (logit − m) − logS and (m − targetLogit) + logS are small differences of
  // exact values, while lse = m + logS would round at the scale of |m|.
  let logS = log(workgroupReduce(s, lid, false));

  let w = mask[row];
  let scale = w * params.invCount;
  for (var j = lid; j < V; j += WG) {
    let p = exp((logitAt(base + j) - m) - logS);
    logits[base + j] = (p - select(0.0, 1.0, j == targetIndex)) * scale;
  }
  if (lid == 0u) { rowLoss[job] = w * ((m - targetLogit) + logS); }
}
