// Fused causal multi-head self-attention of HF GPT-2 (flash-attention style): scores / sqrt(D), causal
// mask, float32 softmax, no dropout. Batched over b = n·H + h for the N = R·Bt sequences and H heads.
// No T×T matrix ever reaches global memory: probabilities live in workgroup tiles and the backward
// recomputes them from q, k and the saved per-row logsumexp.
//   qkv [N, T, 3C] (output of c_attn): q, k, v of head h are columns h·D.. of [0,C), [C,2C), [2C,3C).
//   out [N, T, C] (heads merged back), dout like out, dqkv like qkv.
//   lse [N·H, T]: logsumexp of each row's scaled scores (forward output, backward input).
//   delta [N·H, T]: Dᵢ = rowsum(dOᵢ ⊙ Oᵢ) (written by backwardQuery, read by backwardKeyValue).
//
// forward           one workgroup per (query tile, head): loop over key tiles with an online softmax;
//                   writes out and lse.
// backwardQuery     per (query tile, head): Dᵢ, then loop over key tiles: P = exp(s − lse),
//                   dS = P ⊙ (dO·vᵀ − D), dq += dS·k / sqrt(D).
// backwardKeyValue  per (key tile, head): loop over query tiles ≥ the keys: dv += Pᵀ·dO, dk += dSᵀ·q / sqrt(D).
// dq and dk/dv are two kernels because WGSL has no float atomics: a workgroup that owns a key tile
// cannot add into dq rows that other workgroups also own.
//
// Register tiling as in a matmul: WX × WY threads; a score tile is BM = WY·TM rows by BN = WX·TN
// columns, thread (tx, ty) owning rows ty + WY·a (a < TM) and columns tx + WX·c (c < TN). The q·k and
// dO·v products run in chunks of KC channels staged in Xs, Ys. Probability (or dS) tiles go to Ps
// ([column, row]); the second product (P·v, dS·k, ...) reads them against a [BN, HD] tile in Vs, each
// thread owning rows ty + WY·a and channels tx + WX·c (c < CPT = ceil(HD / WX)).

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

/** Head size (equals params.D; the host sets it from the shape). */
override HD: u32 = 64u;
override WX: u32 = 16u;
override WY: u32 = 16u;
override TM: u32 = 4u;
override TN: u32 = 4u;
override KC: u32 = 16u;
const MAXT: u32 = 4u;
const MAXC: u32 = 8u;
// Finite stand-in for −∞ (masked scores), so that no (−∞) − (−∞) is ever computed.
const NEG: f32 = -3.0e38;

override BM: u32 = WY * TM;
override BN: u32 = WX * TN;
override CPT: u32 = (HD + WX - 1u) / WX;

var<workgroup> Xs: array<f32, KC * BM>;      // [KC, BM] chunk of the row operand
var<workgroup> Ys: array<f32, KC * BN>;      // [KC, BN] chunk of the column operand
var<workgroup> Ps: array<f32, BN * BM>;      // [BN, BM] probabilities or dS, transposed
var<workgroup> Vs: array<f32, BN * HD>;      // [BN, HD] v, k, dO or q rows of the column tile
var<workgroup> red: array<f32, BM * WX>;     // [BM, WX] per-thread partial row statistics
var<workgroup> colStat: array<f32, 2u * BN>; // lse and D of the column queries (backwardKeyValue)

struct Head { b: u32, n: u32, h: u32, C: u32, stride: u32, valid: bool }

fn head(wid: vec3u, p: Params) -> Head {
  let b = wid.y + wid.z * 65535u;
  let C = p.H * HD;
  return Head(b, b / p.H, b % p.H, C, 3u * C, b < p.N * p.H);
}

// Stage channels d0..d0+KC of rows r0.. (count rows) of a [T, HD] slice of qkv at `base` (row stride
// `stride`) into Xs (toX) or Ys as [KC, count], zero past T and HD.
fn stageQkv(toX: bool, li: u32, count: u32, r0: u32, d0: u32, T: u32, base: u32, stride: u32) {
  for (var e = li; e < count * KC; e += WX * WY) {
    let r = e / KC;
    let kk = e % KC;
    var v = 0.0;
    if (r0 + r < T && d0 + kk < HD) { v = qkv[base + (r0 + r) * stride + d0 + kk]; }
    if (toX) { Xs[kk * count + r] = v; } else { Ys[kk * count + r] = v; }
  }
}

// Same for dout (row stride C). Separate from stageQkv so that `forward` never touches `dout`,
// whose binding number is `params`'s in the forward layout.
fn stageDout(toX: bool, li: u32, count: u32, r0: u32, d0: u32, T: u32, base: u32, stride: u32) {
  for (var e = li; e < count * KC; e += WX * WY) {
    let r = e / KC;
    let kk = e % KC;
    var v = 0.0;
    if (r0 + r < T && d0 + kk < HD) { v = dout[base + (r0 + r) * stride + d0 + kk]; }
    if (toX) { Xs[kk * count + r] = v; } else { Ys[kk * count + r] = v; }
  }
}

// Vs ← BN whole rows (positions r0..) of a slice of qkv, zero past T.
fn tileQkv(li: u32, r0: u32, T: u32, base: u32, stride: u32) {
  for (var e = li; e < BN * HD; e += WX * WY) {
    let r = e / HD;
    var v = 0.0;
    if (r0 + r < T) { v = qkv[base + (r0 + r) * stride + e % HD]; }
    Vs[e] = v;
  }
}

fn tileDout(li: u32, r0: u32, T: u32, base: u32, stride: u32) {
  for (var e = li; e < BN * HD; e += WX * WY) {
    let r = e / HD;
    var v = 0.0;
    if (r0 + r < T) { v = dout[base + (r0 + r) * stride + e % HD]; }
    Vs[e] = v;
  }
}

// acc[a, c] += Σ_kk Xs[kk, row a] · Ys[kk, column c] over the staged chunk.
fn fmaChunk(tx: u32, ty: u32, acc: ptr<function, array<f32, 16>>) {
  for (var kk = 0u; kk < KC; kk++) {
    var x: array<f32, MAXT>;
    var y: array<f32, MAXT>;
    for (var a = 0u; a < TM; a++) { x[a] = Xs[kk * BM + ty + WY * a]; }
    for (var c = 0u; c < TN; c++) { y[c] = Ys[kk * BN + tx + WX * c]; }
    for (var a = 0u; a < TM; a++) {
      for (var c = 0u; c < TN; c++) { (*acc)[a * MAXT + c] = fma(x[a], y[c], (*acc)[a * MAXT + c]); }
    }
  }
}

// o[a, c] += Σ_kk Ps[kk, row a] · Vs[kk, channel c] over the BN staged columns.
fn fmaTile(tx: u32, ty: u32, o: ptr<function, array<f32, 32>>) {
  for (var kk = 0u; kk < BN; kk++) {
    var p: array<f32, MAXT>;
    var v: array<f32, MAXC>;
    for (var a = 0u; a < TM; a++) { p[a] = Ps[kk * BM + ty + WY * a]; }
    for (var c = 0u; c < CPT; c++) {
      let d = tx + WX * c;
      v[c] = select(0.0, Vs[kk * HD + min(d, HD - 1u)], d < HD);
    }
    for (var a = 0u; a < TM; a++) {
      for (var c = 0u; c < CPT; c++) { (*o)[a * MAXC + c] = fma(p[a], v[c], (*o)[a * MAXC + c]); }
    }
  }
}

fn clear16(x: ptr<function, array<f32, 16>>) {
  for (var e = 0u; e < 16u; e++) { (*x)[e] = 0.0; }
}

fn clear32(x: ptr<function, array<f32, 32>>) {
  for (var e = 0u; e < 32u; e++) { (*x)[e] = 0.0; }
}

@compute @workgroup_size(WX, WY)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
           @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, params);
  if (!hd.valid) { return; }
  let T = params.T;
  let tx = lid.x;
  let ty = lid.y;
  let i0 = wid.x * BM;
  let qBase = hd.n * T * hd.stride + hd.h * HD;
  // HF divides the scores by sqrt(D) (rather than multiplying by its inverse).
  let sqrtD = sqrt(f32(HD));
  var m: array<f32, MAXT>;
  var l: array<f32, MAXT>; // this thread's share of the row sums, all scaled to the row's running max
  for (var a = 0u; a < TM; a++) { m[a] = NEG; l[a] = 0.0; }
  var o: array<f32, 32>;
  clear32(&o);
  var s: array<f32, 16>;
  let kEnd = min(T, i0 + BM);
  for (var j0 = 0u; j0 < kEnd; j0 += BN) {
    clear16(&s);
    for (var d0 = 0u; d0 < HD; d0 += KC) {
      stageQkv(true, li, BM, i0, d0, T, qBase, hd.stride);
      stageQkv(false, li, BN, j0, d0, T, qBase + hd.C, hd.stride);
      workgroupBarrier();
      fmaChunk(tx, ty, &s);
      workgroupBarrier();
    }
    tileQkv(li, j0, T, qBase + 2u * hd.C, hd.stride);
    for (var a = 0u; a < TM; a++) {
      let i = i0 + ty + WY * a;
      var tileMax = NEG;
      for (var c = 0u; c < TN; c++) {
        let j = j0 + tx + WX * c;
        var v = NEG;
        if (i < T && j <= i) { v = s[a * MAXT + c] / sqrtD; }
        s[a * MAXT + c] = v;
        tileMax = max(tileMax, v);
      }
      red[(ty + WY * a) * WX + tx] = tileMax;
    }
    workgroupBarrier();
    for (var a = 0u; a < TM; a++) {
      let row = ty + WY * a;
      var mNew = m[a];
      for (var t = 0u; t < WX; t++) { mNew = max(mNew, red[row * WX + t]); }
      let alpha = exp(m[a] - mNew);
      var sum = l[a] * alpha;
      for (var c = 0u; c < CPT; c++) { o[a * MAXC + c] *= alpha; }
      for (var c = 0u; c < TN; c++) {
        var p = 0.0;
        if (s[a * MAXT + c] != NEG) { p = exp(s[a * MAXT + c] - mNew); }
        sum += p;
        Ps[(tx + WX * c) * BM + row] = p;
      }
      l[a] = sum;
      m[a] = mNew;
    }
    workgroupBarrier();
    fmaTile(tx, ty, &o);
    // The next tile's first barrier (after staging Xs, Ys, which this loop does not read) orders these
    // reads of Ps, Vs and red before their next writes.
  }
  workgroupBarrier();
  for (var a = 0u; a < TM; a++) { red[(ty + WY * a) * WX + tx] = l[a]; }
  workgroupBarrier();
  for (var a = 0u; a < TM; a++) {
    let row = ty + WY * a;
    let i = i0 + row;
    if (i >= T) { continue; }
    var sum = 0.0;
    for (var t = 0u; t < WX; t++) { sum += red[row * WX + t]; }
    let oBase = (hd.n * T + i) * hd.C + hd.h * HD;
    for (var c = 0u; c < CPT; c++) {
      let d = tx + WX * c;
      if (d < HD) { out[oBase + d] = o[a * MAXC + c] / sum; }
    }
    if (tx == 0u) { lse[hd.b * T + i] = m[a] + log(sum); }
  }
}

@compute @workgroup_size(WX, WY)
fn backwardQuery(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, bparams);
  if (!hd.valid) { return; }
  let T = bparams.T;
  let tx = lid.x;
  let ty = lid.y;
  let i0 = wid.x * BM;
  let qBase = hd.n * T * hd.stride + hd.h * HD;
  let oBase = hd.n * T * hd.C + hd.h * HD;
  let sqrtD = sqrt(f32(HD));
  // Dᵢ = Σ_d dOᵢ,d Oᵢ,d: partial sums per thread, combined through red.
  for (var a = 0u; a < TM; a++) {
    let i = i0 + ty + WY * a;
    var part = 0.0;
    if (i < T) {
      for (var c = 0u; c < CPT; c++) {
        let d = tx + WX * c;
        if (d < HD) { part = fma(dout[oBase + i * hd.C + d], bout[oBase + i * hd.C + d], part); }
      }
    }
    red[(ty + WY * a) * WX + tx] = part;
  }
  workgroupBarrier();
  var Di: array<f32, MAXT>;
  var rowLse: array<f32, MAXT>;
  for (var a = 0u; a < TM; a++) {
    let row = ty + WY * a;
    var sum = 0.0;
    for (var t = 0u; t < WX; t++) { sum += red[row * WX + t]; }
    Di[a] = sum;
    rowLse[a] = 0.0;
    if (i0 + row < T) {
      rowLse[a] = blse[hd.b * T + i0 + row];
      if (tx == 0u) { delta[hd.b * T + i0 + row] = sum; }
    }
  }
  var dq: array<f32, 32>;
  clear32(&dq);
  var s: array<f32, 16>;
  var dp: array<f32, 16>;
  let kEnd = min(T, i0 + BM);
  for (var j0 = 0u; j0 < kEnd; j0 += BN) {
    clear16(&s);
    clear16(&dp);
    for (var d0 = 0u; d0 < HD; d0 += KC) {
      stageQkv(true, li, BM, i0, d0, T, qBase, hd.stride);
      stageQkv(false, li, BN, j0, d0, T, qBase + hd.C, hd.stride);
      workgroupBarrier();
      fmaChunk(tx, ty, &s);
      workgroupBarrier();
      stageDout(true, li, BM, i0, d0, T, oBase, hd.C);
      stageQkv(false, li, BN, j0, d0, T, qBase + 2u * hd.C, hd.stride);
      workgroupBarrier();
      fmaChunk(tx, ty, &dp);
      workgroupBarrier();
    }
    tileQkv(li, j0, T, qBase + hd.C, hd.stride);
    for (var a = 0u; a < TM; a++) {
      let i = i0 + ty + WY * a;
      for (var c = 0u; c < TN; c++) {
        let j = j0 + tx + WX * c;
        var ds = 0.0;
        if (i < T && j <= i) {
          let p = exp(s[a * MAXT + c] / sqrtD - rowLse[a]);
          ds = p * (dp[a * MAXT + c] - Di[a]);
        }
        Ps[(tx + WX * c) * BM + ty + WY * a] = ds;
      }
    }
    workgroupBarrier();
    fmaTile(tx, ty, &dq);
  }
  for (var a = 0u; a < TM; a++) {
    let i = i0 + ty + WY * a;
    if (i >= T) { continue; }
    for (var c = 0u; c < CPT; c++) {
      let d = tx + WX * c;
      if (d < HD) { dqkv[qBase + i * hd.stride + d] = dq[a * MAXC + c] / sqrtD; }
    }
  }
}

// Rows of the tiles are keys here, columns are queries.
@compute @workgroup_size(WX, WY)
fn backwardKeyValue(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                    @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, bparams);
  if (!hd.valid) { return; }
  let T = bparams.T;
  let tx = lid.x;
  let ty = lid.y;
  let j0 = wid.x * BM;
  let qBase = hd.n * T * hd.stride + hd.h * HD;
  let oBase = hd.n * T * hd.C + hd.h * HD;
  let sqrtD = sqrt(f32(HD));
  var dk: array<f32, 32>;
  var dv: array<f32, 32>;
  clear32(&dk);
  clear32(&dv);
  var s: array<f32, 16>;
  var dp: array<f32, 16>;
  // Queries i ≥ j0 only: the causal mask zeroes every earlier one.
  for (var i0 = j0; i0 < T; i0 += BN) {
    clear16(&s);
    clear16(&dp);
    for (var d0 = 0u; d0 < HD; d0 += KC) {
      stageQkv(true, li, BM, j0, d0, T, qBase + hd.C, hd.stride);
      stageQkv(false, li, BN, i0, d0, T, qBase, hd.stride);
      workgroupBarrier();
      fmaChunk(tx, ty, &s);
      workgroupBarrier();
      stageQkv(true, li, BM, j0, d0, T, qBase + 2u * hd.C, hd.stride);
      stageDout(false, li, BN, i0, d0, T, oBase, hd.C);
      workgroupBarrier();
      fmaChunk(tx, ty, &dp);
      workgroupBarrier();
    }
    for (var e = li; e < BN; e += WX * WY) {
      var a = 0.0;
      var b = 0.0;
      if (i0 + e < T) {
        a = blse[hd.b * T + i0 + e];
        b = delta[hd.b * T + i0 + e];
      }
      colStat[e] = a;
      colStat[BN + e] = b;
    }
    tileDout(li, i0, T, oBase, hd.C);
    workgroupBarrier();
    for (var a = 0u; a < TM; a++) {
      let j = j0 + ty + WY * a;
      for (var c = 0u; c < TN; c++) {
        let col = tx + WX * c;
        let i = i0 + col;
        var p = 0.0;
        var ds = 0.0;
        if (j < T && i < T && j <= i) {
          p = exp(s[a * MAXT + c] / sqrtD - colStat[col]);
          ds = p * (dp[a * MAXT + c] - colStat[BN + col]);
        }
        Ps[col * BM + ty + WY * a] = p;
        s[a * MAXT + c] = ds;
      }
    }
    workgroupBarrier();
    fmaTile(tx, ty, &dv);
    workgroupBarrier();
    tileQkv(li, i0, T, qBase, hd.stride);
    for (var a = 0u; a < TM; a++) {
      for (var c = 0u; c < TN; c++) { Ps[(tx + WX * c) * BM + ty + WY * a] = s[a * MAXT + c]; }
    }
    workgroupBarrier();
    fmaTile(tx, ty, &dk);
  }
  for (var a = 0u; a < TM; a++) {
    let j = j0 + ty + WY * a;
    if (j >= T) { continue; }
    for (var c = 0u; c < CPT; c++) {
      let d = tx + WX * c;
      if (d < HD) {
        dqkv[qBase + hd.C + j * hd.stride + d] = dk[a * MAXC + c] / sqrtD;
        dqkv[qBase + 2u * hd.C + j * hd.stride + d] = dv[a * MAXC + c];
      }
    }
  }
}
