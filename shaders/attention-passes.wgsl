// The unfused attention (restored from 74f7e73): kept beside the fused one in attention.wgsl; faster
// for short sequences (bench/RESULTS.md), at the cost of [N, H, T, T] buffers. See attention-variant.ts.
// Causal multi-head self-attention of HF GPT-2 (scale 1/sqrt(D), causal mask, float32 softmax, no
// dropout), batched over b = n·H + h for the N = R·Bt sequences and H heads.
//   qkv [N, T, 3C] (output of c_attn): q, k, v of head h are columns h·D.. of [0,C), [C,2C), [2C,3C).
//   probs [N, H, T, T], out [N, T, C] (heads merged back), dout like out, dqkv like qkv.
//   dscores [N, H, T, T]: backward scratch holding dS on and below the diagonal; bout: the forward's out.
//
// Forward:  scores       probs = softmax_j≤i(q_i·k_j / sqrt(D)), written raw, then normalised in place
//           weightedSum  out = probs · v
// Backward: backwardScores  dS = P ⊙ (dP − Δ), dP = dO · vᵀ, Δ_i = dO_i · O_i (= rowsum(P ⊙ dP), O = P·v)
//           backwardGrads   dq = dS·k / sqrt(D), dk = dSᵀ·q / sqrt(D), dv = Pᵀ·dO (one dispatch, 3 roles)
//
// Every entry point tiles an output block of BM = WY·TM rows by BN = WX·TN columns; thread (tx, ty)
// owns rows ty + WY·a (a < TM) and columns tx + WX·c (c < TN), so the columns a warp touches are
// contiguous in memory. The reduction runs in chunks of KC staged in workgroup memory (Xs, Ys).
// Register tiles are at most MAXT × MAXT (TM, TN ≤ MAXT, checked on the host).

struct Params { N: u32, T: u32, H: u32, D: u32 }

// Forward bindings.
@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
// [N, H, T] rows: (max, Σ exp(s − max)) of the scores. Written for the contract the vec4 kernels share
// (attention-passes-vec4.wgsl keeps the raw scores in probs and forms P from these); unread here.
@group(0) @binding(3) var<storage, read_write> stats: array<vec2f>;
@group(0) @binding(4) var<uniform> params: Params;

// Backward bindings (binding 0 is `qkv` above). Entry points never use both sets.
@group(0) @binding(1) var<storage, read> bprobs: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(4) var<storage, read_write> dscores: array<f32>;
@group(0) @binding(5) var<storage, read> bout: array<f32>;
@group(0) @binding(6) var<storage, read> bstats: array<vec2f>; // bound for the shared contract; unread here
@group(0) @binding(7) var<uniform> bparams: Params;

override WX: u32 = 16u;
override WY: u32 = 16u;
override TM: u32 = 2u;
override TN: u32 = 2u;
override KC: u32 = 16u;
const MAXT: u32 = 4u;
// Finite stand-in for −∞, so that max/rescale of empty partial rows never computes (−∞) − (−∞).
const NEG: f32 = -3.0e38;

var<workgroup> Xs: array<f32, KC * WY * TM>;   // [KC, BM]
var<workgroup> Ys: array<f32, KC * WX * TN>;   // [KC, BN]
var<workgroup> redA: array<f32, WY * TM * WX>; // [BM, WX] per-thread partial row statistics
var<workgroup> redB: array<f32, WY * TM * WX>;
var<private> acc: array<f32, MAXT * MAXT>;

struct Head { b: u32, n: u32, h: u32, C: u32, stride: u32, valid: bool }

fn head(wid: vec3u, p: Params) -> Head {
  let b = wid.y + wid.z * 65535u;
  let C = p.H * p.D;
  return Head(b, b / p.H, b % p.H, C, 3u * C, b < p.N * p.H);
}

fn clearAcc() {
  for (var e = 0u; e < MAXT * MAXT; e++) { acc[e] = 0.0; }
}

// acc += Xs-chunk (rows) × Ys-chunk (columns), reduced over the KC staged entries.
fn fmaChunk(tx: u32, ty: u32) {
  let BM = WY * TM;
  let BN = WX * TN;
  for (var kk = 0u; kk < KC; kk++) {
    var x: array<f32, MAXT>;
    var y: array<f32, MAXT>;
    for (var a = 0u; a < TM; a++) { x[a] = Xs[kk * BM + ty + WY * a]; }
    for (var c = 0u; c < TN; c++) { y[c] = Ys[kk * BN + tx + WX * c]; }
    for (var a = 0u; a < TM; a++) {
      for (var c = 0u; c < TN; c++) { acc[a * MAXT + c] = fma(x[a], y[c], acc[a * MAXT + c]); }
    }
  }
}

// Row statistics of the BM rows: each thread stored its partials in redA/redB at [row, tx]; combine them.
fn rowMaxSum(row: u32) -> vec2f {
  var m = NEG;
  for (var t = 0u; t < WX; t++) { m = max(m, redA[row * WX + t]); }
  var l = 0.0;
  for (var t = 0u; t < WX; t++) { l += redB[row * WX + t] * exp(redA[row * WX + t] - m); }
  return vec2f(m, l);
}

fn rowSum(row: u32) -> f32 {
  var s = 0.0;
  for (var t = 0u; t < WX; t++) { s += redA[row * WX + t]; }
  return s;
}

// Stage rows r0.. (r < rows) of a [T, D]-row matrix held in qkv, columns d0..d0+KC, into Xs (toX) or
// Ys as [KC, rows], zero-padded past T and D.
fn stageQkv(li: u32, toX: bool, rows: u32, r0: u32, d0: u32, T: u32, D: u32, base: u32, stride: u32) {
  for (var e = li; e < rows * KC; e += WX * WY) {
    let r = e / KC;
    let kk = e % KC;
    var v = 0.0;
    if (r0 + r < T && d0 + kk < D) { v = qkv[base + (r0 + r) * stride + d0 + kk]; }
    if (toX) { Xs[kk * rows + r] = v; } else { Ys[kk * rows + r] = v; }
  }
}

// Same for dout, into Xs. Separate from stageQkv so that forward entry points never touch `dout`,
// whose binding number is `probs`'s in the forward layout.
fn stageDout(li: u32, r0: u32, d0: u32, T: u32, D: u32, base: u32, stride: u32) {
  let BM = WY * TM;
  for (var e = li; e < BM * KC; e += WX * WY) {
    let r = e / KC;
    let kk = e % KC;
    var v = 0.0;
    if (r0 + r < T && d0 + kk < D) { v = dout[base + (r0 + r) * stride + d0 + kk]; }
    Xs[kk * BM + r] = v;
  }
}

// One workgroup per (query block, head). Pass 1 writes the scaled scores of j ≤ i and keeps a running
// (max, sum of exp) per row; pass 2 rereads exactly the entries this invocation wrote (so program order
// suffices, no barrier) and writes the whole row: exp(s − max) / sum, and 0 for j > i.
@compute @workgroup_size(WX, WY)
fn scores(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, params);
  if (!hd.valid) { return; }
  let T = params.T;
  let D = params.D;
  let tx = lid.x;
  let ty = lid.y;
  let BM = WY * TM;
  let BN = WX * TN;
  let i0 = wid.x * BM;
  let qBase = hd.n * T * hd.stride + hd.h * params.D;
  let pBase = hd.b * T * T;
  let sqrtD = sqrt(f32(D));
  var m: array<f32, MAXT>;
  var l: array<f32, MAXT>;
  for (var a = 0u; a < TM; a++) { m[a] = NEG; l[a] = 0.0; }
  let kEnd = min(T, i0 + BM);
  for (var j0 = 0u; j0 < kEnd; j0 += BN) {
    clearAcc();
    for (var d0 = 0u; d0 < D; d0 += KC) {
      stageQkv(li, true, BM, i0, d0, T, D, qBase, hd.stride);
      stageQkv(li, false, BN, j0, d0, T, D, qBase + hd.C, hd.stride);
      workgroupBarrier();
      fmaChunk(tx, ty);
      workgroupBarrier();
    }
    for (var a = 0u; a < TM; a++) {
      let i = i0 + ty + WY * a;
      var tileMax = NEG;
      for (var c = 0u; c < TN; c++) {
        let j = j0 + tx + WX * c;
        if (i < T && j <= i) {
          // HF divides the scores by sqrt(D) (rather than multiplying by its inverse).
          let s = acc[a * MAXT + c] / sqrtD;
          acc[a * MAXT + c] = s;
          probs[pBase + i * T + j] = s;
          tileMax = max(tileMax, s);
        }
      }
      let mNew = max(m[a], tileMax);
      var sum = l[a] * exp(m[a] - mNew);
      for (var c = 0u; c < TN; c++) {
        let j = j0 + tx + WX * c;
        if (i < T && j <= i) { sum += exp(acc[a * MAXT + c] - mNew); }
      }
      m[a] = mNew;
      l[a] = sum;
    }
  }
  for (var a = 0u; a < TM; a++) {
    redA[(ty + WY * a) * WX + tx] = m[a];
    redB[(ty + WY * a) * WX + tx] = l[a];
  }
  workgroupBarrier();
  for (var a = 0u; a < TM; a++) {
    let ml = rowMaxSum(ty + WY * a);
    m[a] = ml.x;
    l[a] = ml.y;
    let i = i0 + ty + WY * a;
    if (tx == 0u && i < T) { stats[hd.b * T + i] = ml; }
  }
  for (var j0 = 0u; j0 < T; j0 += BN) {
    for (var a = 0u; a < TM; a++) {
      let i = i0 + ty + WY * a;
      for (var c = 0u; c < TN; c++) {
        let j = j0 + tx + WX * c;
        if (i < T && j < T) {
          let at = pBase + i * T + j;
          var p = 0.0;
          if (j <= i) { p = exp(probs[at] - m[a]) / l[a]; }
          probs[at] = p;
        }
      }
    }
  }
}

// out[i, h·D + d] = Σ_{j ≤ i} P[i, j] v[j, d]. One workgroup per (row block × column block, head).
@compute @workgroup_size(WX, WY)
fn weightedSum(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, params);
  if (!hd.valid) { return; }
  let T = params.T;
  let D = params.D;
  let BM = WY * TM;
  let BN = WX * TN;
  let dTiles = (D + BN - 1u) / BN;
  let i0 = (wid.x / dTiles) * BM;
  let c0 = (wid.x % dTiles) * BN;
  let vBase = hd.n * T * hd.stride + 2u * hd.C + hd.h * D;
  let pBase = hd.b * T * T;
  clearAcc();
  let kEnd = min(T, i0 + BM);
  for (var k0 = 0u; k0 < kEnd; k0 += KC) {
    for (var e = li; e < BM * KC; e += WX * WY) {
      let r = e / KC;
      let kk = e % KC;
      let i = i0 + r;
      let j = k0 + kk;
      var v = 0.0;
      if (i < T && j <= i) { v = probs[pBase + i * T + j]; }
      Xs[kk * BM + r] = v;
    }
    for (var e = li; e < BN * KC; e += WX * WY) {
      let c = e % BN;
      let kk = e / BN;
      var v = 0.0;
      if (k0 + kk < T && c0 + c < D) { v = qkv[vBase + (k0 + kk) * hd.stride + c0 + c]; }
      Ys[kk * BN + c] = v;
    }
    workgroupBarrier();
    fmaChunk(lid.x, lid.y);
    workgroupBarrier();
  }
  for (var a = 0u; a < TM; a++) {
    let i = i0 + lid.y + WY * a;
    for (var c = 0u; c < TN; c++) {
      let d = c0 + lid.x + WX * c;
      if (i < T && d < D) { out[(hd.n * T + i) * hd.C + hd.h * D + d] = acc[a * MAXT + c]; }
    }
  }
}

// Like `scores` with dP = dO·vᵀ, in one pass: Δ_i = dO_i · O_i of the block's rows first (thread tx sums
// d ≡ tx, then the WX partials in order), then per column block dS = P ⊙ (dP − Δ) on and below the diagonal.
@compute @workgroup_size(WX, WY)
fn backwardScores(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, bparams);
  if (!hd.valid) { return; }
  let T = bparams.T;
  let D = bparams.D;
  let tx = lid.x;
  let ty = lid.y;
  let BM = WY * TM;
  let BN = WX * TN;
  let i0 = wid.x * BM;
  let dBase = hd.n * T * hd.C + hd.h * D;
  let vBase = hd.n * T * hd.stride + 2u * hd.C + hd.h * D;
  let pBase = hd.b * T * T;
  var delta: array<f32, MAXT>;
  for (var a = 0u; a < TM; a++) {
    let i = i0 + ty + WY * a;
    var part = 0.0;
    if (i < T) {
      let row = dBase + i * hd.C;
      for (var d = tx; d < D; d += WX) { part = fma(dout[row + d], bout[row + d], part); }
    }
    redA[(ty + WY * a) * WX + tx] = part;
  }
  workgroupBarrier();
  for (var a = 0u; a < TM; a++) { delta[a] = rowSum(ty + WY * a); }
  let kEnd = min(T, i0 + BM);
  for (var j0 = 0u; j0 < kEnd; j0 += BN) {
    clearAcc();
    for (var d0 = 0u; d0 < D; d0 += KC) {
      stageDout(li, i0, d0, T, D, dBase, hd.C);
      stageQkv(li, false, BN, j0, d0, T, D, vBase, hd.stride);
      workgroupBarrier();
      fmaChunk(tx, ty);
      workgroupBarrier();
    }
    for (var a = 0u; a < TM; a++) {
      let i = i0 + ty + WY * a;
      for (var c = 0u; c < TN; c++) {
        let j = j0 + tx + WX * c;
        if (i < T && j <= i) {
          let at = pBase + i * T + j;
          dscores[at] = bprobs[at] * (acc[a * MAXT + c] - delta[a]);
        }
      }
    }
  }
}

// Role 0: dq[o] = Σ_{k ≤ o} dS[o, k] k[k] / sqrt(D)
// Role 1: dk[o] = Σ_{k ≥ o} dS[k, o] q[k] / sqrt(D)
// Role 2: dv[o] = Σ_{k ≥ o} P[k, o] dO[k]
// wid.x = (role · rowBlocks + rowBlock) · colBlocks + colBlock; the role is uniform per workgroup.
@compute @workgroup_size(WX, WY)
fn backwardGrads(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, bparams);
  if (!hd.valid) { return; }
  let T = bparams.T;
  let D = bparams.D;
  let BM = WY * TM;
  let BN = WX * TN;
  let dTiles = (D + BN - 1u) / BN;
  let oTiles = (T + BM - 1u) / BM;
  let role = wid.x / (oTiles * dTiles);
  let tile = wid.x % (oTiles * dTiles);
  let o0 = (tile / dTiles) * BM;
  let c0 = (tile % dTiles) * BN;
  let rowBase = hd.n * T * hd.stride + hd.h * D;
  let pBase = hd.b * T * T;
  // Y rows: k for dq, q for dk (in qkv), dO for dv.
  var yBase = rowBase + hd.C;
  var yStride = hd.stride;
  if (role == 1u) { yBase = rowBase; }
  if (role == 2u) { yBase = hd.n * T * hd.C + hd.h * D; yStride = hd.C; }
  var kBegin = 0u;
  var kEnd = min(T, o0 + BM);
  if (role != 0u) { kBegin = o0; kEnd = T; }
  clearAcc();
  for (var k0 = kBegin; k0 < kEnd; k0 += KC) {
    for (var e = li; e < BM * KC; e += WX * WY) {
      var r: u32;
      var kk: u32;
      // Read along contiguous memory: rows of dS for dq, columns (= rows of the transpose) otherwise.
      if (role == 0u) { r = e / KC; kk = e % KC; } else { r = e % BM; kk = e / BM; }
      let o = o0 + r;
      let k = k0 + kk;
      var v = 0.0;
      if (role == 0u) {
        if (o < T && k <= o) { v = dscores[pBase + o * T + k]; }
      } else if (k < T && o <= k) {
        if (role == 1u) { v = dscores[pBase + k * T + o]; } else { v = bprobs[pBase + k * T + o]; }
      }
      Xs[kk * BM + r] = v;
    }
    for (var e = li; e < BN * KC; e += WX * WY) {
      let c = e % BN;
      let kk = e / BN;
      var v = 0.0;
      if (k0 + kk < T && c0 + c < D) {
        let at = yBase + (k0 + kk) * yStride + c0 + c;
        if (role == 2u) { v = dout[at]; } else { v = qkv[at]; }
      }
      Ys[kk * BN + c] = v;
    }
    workgroupBarrier();
    fmaChunk(lid.x, lid.y);
    workgroupBarrier();
  }
  var sqrtD = sqrt(f32(D));
  if (role == 2u) { sqrtD = 1.0; }
  for (var a = 0u; a < TM; a++) {
    let o = o0 + lid.y + WY * a;
    for (var c = 0u; c < TN; c++) {
      let d = c0 + lid.x + WX * c;
      if (o < T && d < D) { dqkv[rowBase + o * hd.stride + role * hd.C + d] = acc[a * MAXT + c] / sqrtD; }
    }
  }
}
