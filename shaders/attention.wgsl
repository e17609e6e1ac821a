// Fused causal multi-head self-attention of HF GPT-2 (flash-attention style): scores / sqrt(D), causal
// mask, float32 softmax, no dropout. Batched over b = n·H + h for the N = R·Bt sequences and H heads.
// No T×T matrix ever reaches global memory: probabilities live in workgroup tiles and the backward
// recomputes them from q, k and the saved per-row logsumexp.
//   qkv [N, T, 3C] (output of c_attn): q, k, v of head h are columns h·D.. of [0,C), [C,2C), [2C,3C).
//   out [N, T, C] (heads merged back), dout like out, dqkv like qkv.
//   lse [N·H, T]: logsumexp of each row's scaled scores (forward output, backward input).
//   delta [N·H, T]: Dᵢ = rowsum(dOᵢ ⊙ Oᵢ) (written by backwardQuery, read by backwardKeyValue).
//
// forward           one workgroup per (query tile, head): Q tile staged once, loop over key tiles with
//                   an online softmax; writes out and lse.
// backwardQuery     per (query tile, head): Dᵢ, then loop over key tiles: P = exp(s − lse),
//                   dS = P ⊙ (dO·vᵀ − D), dq = dS·k / sqrt(D).
// backwardKeyValue  per (key tile, head): loop over query tiles ≥ the keys: dv = Pᵀ·dO, dk = dSᵀ·q / sqrt(D).
// dq and dk/dv are two kernels because WGSL has no float atomics: one kernel that owns a key tile
// cannot add into dq rows that other workgroups also own.
//
// Workgroup = TX × BR threads. Thread (tx, ty) owns row ty of the tile (a query, or a key in
// backwardKeyValue) and, of the BC = TX·KPT columns of a score tile, columns tx + TX·k (k < KPT); of the
// HD channels of its row's accumulators, channels tx + TX·c (c < ceil(HD / TX)). Rows of HD floats are
// staged with a stride of HD + 1 so that threads reading different rows hit different banks.

struct Params { N: u32, T: u32, H: u32, D: u32 }

// Forward bindings.
@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// Backward bindings (binding 0 is `qkv` above). Entry points never use both sets.
@group(0) @binding(1) var<storage, read> bout: array<f32>;
@group(0) @binding(2) var<storage, read> blse: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(5) var<storage, read_write> delta: array<f32>;
@group(0) @binding(6) var<uniform> bparams: Params;

/** Head size (must equal params.D; the host sets it from the shape). */
override HD: u32 = 64u;
override TX: u32 = 16u;
override BR: u32 = 16u;
override KPT: u32 = 1u;
const MAXK: u32 = 4u;
const MAXC: u32 = 32u;
// Finite stand-in for −∞ (masked scores), so that no (−∞) − (−∞) is ever computed.
const NEG: f32 = -3.0e38;

override BC: u32 = TX * KPT;
override RS: u32 = HD + 1u;
override CPT: u32 = (HD + TX - 1u) / TX;

var<workgroup> rowsA: array<f32, BR * RS>;   // tile rows: q (forward, backwardQuery) or k (backwardKeyValue)
var<workgroup> rowsB: array<f32, BR * RS>;   // dO (backwardQuery) or v (backwardKeyValue)
var<workgroup> colsA: array<f32, BC * RS>;   // k (forward, backwardQuery) or q (backwardKeyValue)
var<workgroup> colsB: array<f32, BC * RS>;   // v (forward, backwardQuery) or dO (backwardKeyValue)
var<workgroup> tileP: array<f32, BR * BC>;   // [BR, BC] scores / probabilities / dS
var<workgroup> tileS: array<f32, BR * BC>;
var<workgroup> colStat: array<f32, 2u * BC>; // lse and D of the column queries (backwardKeyValue)

struct Head { b: u32, n: u32, h: u32, C: u32, stride: u32, valid: bool }

fn head(wid: vec3u, p: Params) -> Head {
  let b = wid.y + wid.z * 65535u;
  let C = p.H * HD;
  return Head(b, b / p.H, b % p.H, C, 3u * C, b < p.N * p.H);
}

fn put(dst: u32, at: u32, v: f32) {
  switch dst {
    case 0u: { rowsA[at] = v; }
    case 1u: { rowsB[at] = v; }
    case 2u: { colsA[at] = v; }
    default: { colsB[at] = v; }
  }
}

// Stage `count` rows (positions r0..) of a [T, HD] slice of qkv at `base` (row stride `stride`) into
// workgroup array `dst` (0 rowsA, 1 rowsB, 2 colsA, 3 colsB), zero past T.
fn stageQkv(dst: u32, li: u32, count: u32, r0: u32, T: u32, base: u32, stride: u32) {
  for (var e = li; e < count * HD; e += TX * BR) {
    let r = e / HD;
    let d = e % HD;
    var v = 0.0;
    if (r0 + r < T) { v = qkv[base + (r0 + r) * stride + d]; }
    put(dst, r * RS + d, v);
  }
}

// Same for dout (row stride C). Separate from stageQkv so that `forward` never touches `dout`,
// whose binding number is `params`'s in the forward layout.
fn stageDout(dst: u32, li: u32, count: u32, r0: u32, T: u32, base: u32, stride: u32) {
  for (var e = li; e < count * HD; e += TX * BR) {
    let r = e / HD;
    let d = e % HD;
    var v = 0.0;
    if (r0 + r < T) { v = dout[base + (r0 + r) * stride + d]; }
    put(dst, r * RS + d, v);
  }
}

// Σ_d rowsX[row, d] · colsX[col, d] over the staged tiles (a: 0 → rowsA·colsA, 1 → rowsB·colsB).
fn dotRowCol(a: u32, row: u32, col: u32) -> f32 {
  var s = 0.0;
  if (a == 0u) {
    for (var d = 0u; d < HD; d++) { s = fma(rowsA[row * RS + d], colsA[col * RS + d], s); }
  } else {
    for (var d = 0u; d < HD; d++) { s = fma(rowsB[row * RS + d], colsB[col * RS + d], s); }
  }
  return s;
}

@compute @workgroup_size(TX, BR)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
           @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, params);
  if (!hd.valid) { return; }
  let T = params.T;
  let tx = lid.x;
  let ty = lid.y;
  let i0 = wid.x * BR;
  let i = i0 + ty;
  let qBase = hd.n * T * hd.stride + hd.h * HD;
  // HF divides the scores by sqrt(D) (rather than multiplying by its inverse).
  let sqrtD = sqrt(f32(HD));
  stageQkv(0u, li, BR, i0, T, qBase, hd.stride);
  var m = NEG;
  var l = 0.0;
  var o: array<f32, MAXC>;
  for (var c = 0u; c < CPT; c++) { o[c] = 0.0; }
  var s: array<f32, MAXK>;
  let kEnd = min(T, i0 + BR);
  for (var j0 = 0u; j0 < kEnd; j0 += BC) {
    stageQkv(2u, li, BC, j0, T, qBase + hd.C, hd.stride);
    stageQkv(3u, li, BC, j0, T, qBase + 2u * hd.C, hd.stride);
    workgroupBarrier();
    for (var k = 0u; k < KPT; k++) {
      let jj = tx + TX * k;
      var v = NEG;
      if (i < T && j0 + jj <= i) { v = dotRowCol(0u, ty, jj) / sqrtD; }
      s[k] = v;
      tileS[ty * BC + jj] = v;
    }
    workgroupBarrier();
    var mNew = m;
    for (var jj = 0u; jj < BC; jj++) { mNew = max(mNew, tileS[ty * BC + jj]); }
    for (var k = 0u; k < KPT; k++) {
      var p = 0.0;
      if (s[k] != NEG) { p = exp(s[k] - mNew); }
      tileP[ty * BC + tx + TX * k] = p;
    }
    workgroupBarrier();
    let alpha = exp(m - mNew);
    var rowSum = 0.0;
    for (var c = 0u; c < CPT; c++) { o[c] *= alpha; }
    for (var jj = 0u; jj < BC; jj++) {
      let p = tileP[ty * BC + jj];
      rowSum += p;
      for (var c = 0u; c < CPT; c++) {
        let d = tx + TX * c;
        if (d < HD) { o[c] = fma(p, colsB[jj * RS + d], o[c]); }
      }
    }
    l = l * alpha + rowSum;
    m = mNew;
    workgroupBarrier();
  }
  if (i < T) {
    let oBase = (hd.n * T + i) * hd.C + hd.h * HD;
    for (var c = 0u; c < CPT; c++) {
      let d = tx + TX * c;
      if (d < HD) { out[oBase + d] = o[c] / l; }
    }
    if (tx == 0u) { lse[hd.b * T + i] = m + log(l); }
  }
}

@compute @workgroup_size(TX, BR)
fn backwardQuery(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, bparams);
  if (!hd.valid) { return; }
  let T = bparams.T;
  let tx = lid.x;
  let ty = lid.y;
  let i0 = wid.x * BR;
  let i = i0 + ty;
  let qBase = hd.n * T * hd.stride + hd.h * HD;
  let oBase = hd.n * T * hd.C + hd.h * HD;
  let sqrtD = sqrt(f32(HD));
  stageQkv(0u, li, BR, i0, T, qBase, hd.stride);
  stageDout(1u, li, BR, i0, T, oBase, hd.C);
  workgroupBarrier();
  // Dᵢ = Σ_d dOᵢ,d Oᵢ,d: partial sums per thread, combined through tileS.
  var part = 0.0;
  if (i < T) {
    for (var c = 0u; c < CPT; c++) {
      let d = tx + TX * c;
      if (d < HD) { part = fma(rowsB[ty * RS + d], bout[oBase + i * hd.C + d], part); }
    }
  }
  tileS[ty * BC + tx] = part;
  workgroupBarrier();
  var Di = 0.0;
  for (var t = 0u; t < TX; t++) { Di += tileS[ty * BC + t]; }
  var rowLse = 0.0;
  if (i < T) {
    rowLse = blse[hd.b * T + i];
    if (tx == 0u) { delta[hd.b * T + i] = Di; }
  }
  workgroupBarrier();
  var dq: array<f32, MAXC>;
  for (var c = 0u; c < CPT; c++) { dq[c] = 0.0; }
  let kEnd = min(T, i0 + BR);
  for (var j0 = 0u; j0 < kEnd; j0 += BC) {
    stageQkv(2u, li, BC, j0, T, qBase + hd.C, hd.stride);
    stageQkv(3u, li, BC, j0, T, qBase + 2u * hd.C, hd.stride);
    workgroupBarrier();
    for (var k = 0u; k < KPT; k++) {
      let jj = tx + TX * k;
      var ds = 0.0;
      if (i < T && j0 + jj <= i) {
        let p = exp(dotRowCol(0u, ty, jj) / sqrtD - rowLse);
        ds = p * (dotRowCol(1u, ty, jj) - Di);
      }
      tileP[ty * BC + jj] = ds;
    }
    workgroupBarrier();
    for (var jj = 0u; jj < BC; jj++) {
      let ds = tileP[ty * BC + jj];
      for (var c = 0u; c < CPT; c++) {
        let d = tx + TX * c;
        if (d < HD) { dq[c] = fma(ds, colsA[jj * RS + d], dq[c]); }
      }
    }
    workgroupBarrier();
  }
  if (i < T) {
    for (var c = 0u; c < CPT; c++) {
      let d = tx + TX * c;
      if (d < HD) { dqkv[qBase + i * hd.stride + d] = dq[c] / sqrtD; }
    }
  }
}

@compute @workgroup_size(TX, BR)
fn backwardKeyValue(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                    @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, bparams);
  if (!hd.valid) { return; }
  let T = bparams.T;
  let tx = lid.x;
  let ty = lid.y;
  let j0 = wid.x * BR;
  let j = j0 + ty;
  let qBase = hd.n * T * hd.stride + hd.h * HD;
  let oBase = hd.n * T * hd.C + hd.h * HD;
  let sqrtD = sqrt(f32(HD));
  stageQkv(0u, li, BR, j0, T, qBase + hd.C, hd.stride);
  stageQkv(1u, li, BR, j0, T, qBase + 2u * hd.C, hd.stride);
  var dk: array<f32, MAXC>;
  var dv: array<f32, MAXC>;
  for (var c = 0u; c < CPT; c++) {
    dk[c] = 0.0;
    dv[c] = 0.0;
  }
  // Queries i ≥ j0 only: the causal mask zeroes every earlier one.
  for (var i0 = j0; i0 < T; i0 += BC) {
    stageQkv(2u, li, BC, i0, T, qBase, hd.stride);
    stageDout(3u, li, BC, i0, T, oBase, hd.C);
    for (var e = li; e < BC; e += TX * BR) {
      var a = 0.0;
      var b = 0.0;
      if (i0 + e < T) {
        a = blse[hd.b * T + i0 + e];
        b = delta[hd.b * T + i0 + e];
      }
      colStat[e] = a;
      colStat[BC + e] = b;
    }
    workgroupBarrier();
    for (var k = 0u; k < KPT; k++) {
      let ii = tx + TX * k;
      var p = 0.0;
      var ds = 0.0;
      if (j < T && i0 + ii < T && j <= i0 + ii) {
        p = exp(dotRowCol(0u, ty, ii) / sqrtD - colStat[ii]);
        ds = p * (dotRowCol(1u, ty, ii) - colStat[BC + ii]);
      }
      tileP[ty * BC + ii] = p;
      tileS[ty * BC + ii] = ds;
    }
    workgroupBarrier();
    for (var ii = 0u; ii < BC; ii++) {
      let p = tileP[ty * BC + ii];
      let ds = tileS[ty * BC + ii];
      for (var c = 0u; c < CPT; c++) {
        let d = tx + TX * c;
        if (d < HD) {
          dv[c] = fma(p, colsB[ii * RS + d], dv[c]);
          dk[c] = fma(ds, colsA[ii * RS + d], dk[c]);
        }
      }
    }
    workgroupBarrier();
  }
  if (j < T) {
    for (var c = 0u; c < CPT; c++) {
      let d = tx + TX * c;
      if (d < HD) {
        dqkv[qBase + hd.C + j * hd.stride + d] = dk[c] / sqrtD;
        dqkv[qBase + 2u * hd.C + j * hd.stride + d] = dv[c];
      }
    }
  }
}
