// The unfused attention (restored from 74f7e73): kept beside the fused one in attention.wgsl; faster
// for short sequences (bench/RESULTS.md), at the cost of [N, H, T, T] buffers. See attention-variant.ts.
// Causal multi-head self-attention of HF GPT-2 (scale 1/sqrt(D), causal mask, float32 softmax, no
// dropout), batched over b = n·H + h for the N = R·Bt sequences and H heads.
//   qkv [N, T, 3C] (output of c_attn): q, k, v of head h are columns h·D.. of [0,C), [C,2C), [2C,3C).
//   probs [N, H, T, T], out [N, T, C] (heads merged back), dout like out, dqkv like qkv.
//   dscores [N, H, T, T]: backward scratch holding dS on and below the diagonal.
//
// Forward, split:  scores       probs = softmax_j≤i(q_i·k_j / sqrt(D)), written raw, then normalised in place
//                  weightedSum  out = probs · v
//          merged: forwardRows  both, by row block: the weighted sum stages P from the raw scores
// Backward, split: backwardScores  dS = P ⊙ (dP − rowsum(P ⊙ dP)), dP = dO · vᵀ
//                  backwardGrads   dq = dS·k / sqrt(D), dk = dSᵀ·q / sqrt(D), dv = Pᵀ·dO (roles 0, 1, 2)
//          merged: backwardRows    dS and dq by row block, then backwardGrads for dk, dv (FIRST_ROLE 1)
//
// Causal skipping: a row block [i0, i0 + BM) only computes key tiles / reduces over keys j < i0 + BM
// (scores, dP, weighted sum, dq), and dk, dv of key block [o0, o0 + BM) only reduce over queries ≥ o0, so
// tiles wholly above the diagonal cost nothing (the scores still write their zeros).
//
// Every product tiles an output block of BM = 4·WY rows by BN = 4·WX columns; thread (tx, ty) owns the
// 4×4 register tile of rows 4·ty + a and columns tx + WX·c (a, c < 4): four vec4 accumulators. The
// reduction runs in chunks of KC staged in workgroup memory k-major, as vec4s: Xs[kk] holds the tile's
// rows in order (vec4 ty = rows 4·ty..4·ty + 3), Ys[kk] its columns interleaved (vec4 tx = columns tx +
// WX·c). Per reduction step a thread loads one vec4 of each for 16 FMAs (the 2×2 scalar tiles this
// replaces loaded one float per FMA), and each store of an output row by a warp is WX consecutive floats.
// Each k-row of the staged tiles is padded by one vec4, so that the transposed stores of operands read
// along the reduction (q, k, v, dO rows over d; P, dS rows over j) are at most 2- to 4-way bank
// conflicted. Global loads stay scalar with bounds checks (zero padding past T and D), so T, D and KC are
// arbitrary: tile entries past T or D are computed on zeros and not stored.

struct Params { N: u32, T: u32, H: u32, D: u32 }

// Forward bindings.
@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// Backward bindings (binding 0 is `qkv` above). Entry points never use both sets.
@group(0) @binding(1) var<storage, read> bprobs: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(4) var<storage, read_write> dscores: array<f32>;
@group(0) @binding(5) var<uniform> bparams: Params;

override WX: u32 = 8u;
override WY: u32 = 8u;
override KC: u32 = 16u;
// backwardGrads computes roles FIRST_ROLE.. 2: 0 after backwardScores, 1 after backwardRows (dq done).
override FIRST_ROLE: u32 = 0u;
// Finite stand-in for −∞, so that max/rescale of empty partial rows never computes (−∞) − (−∞).
const NEG: f32 = -3.0e38;

var<workgroup> Xs: array<vec4f, KC * (WY + 1u)>; // [KC][BM + 4] floats
var<workgroup> Ys: array<vec4f, KC * (WX + 1u)>; // [KC][BN + 4] floats
var<workgroup> red: array<f32, 4u * WY * WX>;    // [BM][WX] per-thread partial row statistics
var<workgroup> rowA: array<f32, 4u * WY>;        // merged kernels: per-row statistics of the block
var<workgroup> rowB: array<f32, 4u * WY>;
var<private> acc: array<vec4f, 4>;               // acc[a][c]: row 4·ty + a, column tx + WX·c

struct Head { b: u32, n: u32, h: u32, C: u32, stride: u32, valid: bool }

fn head(wid: vec3u, p: Params) -> Head {
  let b = wid.y + wid.z * 65535u;
  let C = p.H * p.D;
  return Head(b, b / p.H, b % p.H, C, 3u * C, b < p.N * p.H);
}

fn clearAcc() {
  acc[0] = vec4f();
  acc[1] = vec4f();
  acc[2] = vec4f();
  acc[3] = vec4f();
}

fn putX(r: u32, kk: u32, v: f32) {
  Xs[kk * (WY + 1u) + r / 4u][r % 4u] = v;
}

// Columns are interleaved: vec4 tx of a k-row holds columns tx, tx + WX, tx + 2·WX, tx + 3·WX.
fn putY(c: u32, kk: u32, v: f32) {
  Ys[kk * (WX + 1u) + c % WX][c / WX] = v;
}

// acc += Xs-chunk (rows) × Ys-chunk (columns), reduced over the KC staged entries.
fn fmaChunk(tx: u32, ty: u32) {
  for (var kk = 0u; kk < KC; kk++) {
    let x = Xs[kk * (WY + 1u) + ty];
    let y = Ys[kk * (WX + 1u) + tx];
    acc[0] = fma(vec4f(x.x), y, acc[0]);
    acc[1] = fma(vec4f(x.y), y, acc[1]);
    acc[2] = fma(vec4f(x.z), y, acc[2]);
    acc[3] = fma(vec4f(x.w), y, acc[3]);
  }
}

// Row statistics of the BM rows over the WX threads sharing each row: every thread passes its partials
// of rows 4·ty + (0..3) and gets back the combination (max, or sum in t order) over the row.
fn rowMax(v: vec4f, tx: u32, ty: u32) -> vec4f {
  let r = 4u * ty;
  workgroupBarrier();
  red[r * WX + tx] = v.x;
  red[(r + 1u) * WX + tx] = v.y;
  red[(r + 2u) * WX + tx] = v.z;
  red[(r + 3u) * WX + tx] = v.w;
  workgroupBarrier();
  var m = vec4f(NEG);
  for (var t = 0u; t < WX; t++) {
    m = max(m, vec4f(red[r * WX + t], red[(r + 1u) * WX + t], red[(r + 2u) * WX + t], red[(r + 3u) * WX + t]));
  }
  return m;
}

fn rowSum(v: vec4f, tx: u32, ty: u32) -> vec4f {
  let r = 4u * ty;
  workgroupBarrier();
  red[r * WX + tx] = v.x;
  red[(r + 1u) * WX + tx] = v.y;
  red[(r + 2u) * WX + tx] = v.z;
  red[(r + 3u) * WX + tx] = v.w;
  workgroupBarrier();
  var s = vec4f(0.0);
  for (var t = 0u; t < WX; t++) {
    s += vec4f(red[r * WX + t], red[(r + 1u) * WX + t], red[(r + 2u) * WX + t], red[(r + 3u) * WX + t]);
  }
  return s;
}

// Merged kernels: the block's row statistics where the staging threads can read them.
fn shareRows(a: vec4f, b: vec4f, tx: u32, ty: u32) {
  if (tx == 0u) {
    let r = 4u * ty;
    rowA[r] = a.x;
    rowA[r + 1u] = a.y;
    rowA[r + 2u] = a.z;
    rowA[r + 3u] = a.w;
    rowB[r] = b.x;
    rowB[r + 1u] = b.y;
    rowB[r + 2u] = b.z;
    rowB[r + 3u] = b.w;
  }
}

// ---- Staging. "Rows": a [rows, KC] block read along the reduction (consecutive threads, consecutive
// entries of a row), stored transposed. "Cols": a [KC, BN] block whose tile columns are contiguous.
// Every staging loop runs slots s < slots(n): element e = li + s·WX·WY of n. The trip count is a
// constant once the overrides are set (unlike e = li; e < n; e += WX·WY), so the loop unrolls and its
// global loads are in flight together.
fn slots(n: u32) -> u32 {
  return (n + WX * WY - 1u) / (WX * WY);
}

// Rows r0.. of a [T, D] matrix in qkv (row stride `stride` from `base`), channels d0..d0 + KC.
fn stageRowsQkv(li: u32, toX: bool, rows: u32, r0: u32, d0: u32, T: u32, D: u32, base: u32, stride: u32) {
  for (var s = 0u; s < slots(rows * KC); s++) {
    let e = li + s * WX * WY;
    if (e >= rows * KC) { break; }
    let r = e / KC;
    let kk = e % KC;
    var v = 0.0;
    if (r0 + r < T && d0 + kk < D) { v = qkv[base + (r0 + r) * stride + d0 + kk]; }
    if (toX) { putX(r, kk, v); } else { putY(r, kk, v); }
  }
}

// Ys[kk][c] = M[k0 + kk, c0 + c] of a [T, D] matrix in qkv: positions along the reduction.
fn stageColsQkv(li: u32, k0: u32, c0: u32, T: u32, D: u32, base: u32, stride: u32) {
  let BN = 4u * WX;
  for (var s = 0u; s < slots(BN * KC); s++) {
    let e = li + s * WX * WY;
    if (e >= BN * KC) { break; }
    let kk = e / BN;
    let c = e % BN;
    var v = 0.0;
    if (k0 + kk < T && c0 + c < D) { v = qkv[base + (k0 + kk) * stride + c0 + c]; }
    putY(c, kk, v);
  }
}

// Separate from the qkv ones so that forward entry points never touch `dout`, whose binding number is
// `probs`'s in the forward layout.
fn stageRowsDout(li: u32, r0: u32, d0: u32, T: u32, D: u32, base: u32, stride: u32) {
  let BM = 4u * WY;
  for (var s = 0u; s < slots(BM * KC); s++) {
    let e = li + s * WX * WY;
    if (e >= BM * KC) { break; }
    let r = e / KC;
    let kk = e % KC;
    var v = 0.0;
    if (r0 + r < T && d0 + kk < D) { v = dout[base + (r0 + r) * stride + d0 + kk]; }
    putX(r, kk, v);
  }
}

fn stageColsDout(li: u32, k0: u32, c0: u32, T: u32, D: u32, base: u32, stride: u32) {
  let BN = 4u * WX;
  for (var s = 0u; s < slots(BN * KC); s++) {
    let e = li + s * WX * WY;
    if (e >= BN * KC) { break; }
    let kk = e / BN;
    let c = e % BN;
    var v = 0.0;
    if (k0 + kk < T && c0 + c < D) { v = dout[base + (k0 + kk) * stride + c0 + c]; }
    putY(c, kk, v);
  }
}

// ---- Forward.

struct Stats { m: vec4f, l: vec4f }

// The columns of a thread's register tile in the block starting at j0.
fn colsOf(j0: u32, tx: u32) -> vec4u {
  return j0 + tx + WX * vec4u(0u, 1u, 2u, 3u);
}

// Which of the columns j of row i are on or below the diagonal (and i < T). The row helpers below name
// each component (no dynamic index: a vector indexed by a loop variable can land in local memory when
// the loop does not unroll).
fn below(i: u32, j: vec4u, T: u32) -> vec4<bool> {
  return (j <= vec4u(i)) & vec4<bool>(i < T);
}

// Row i (< T or not) of the scores s at columns j: writes the raw scores j ≤ i into probs and returns
// the running (max, Σ exp) of the row updated with them.
fn scoreRow(s: vec4f, i: u32, j: vec4u, T: u32, pBase: u32, m: f32, l: f32) -> vec2f {
  let ok = below(i, j, T);
  let at = pBase + i * T;
  if (ok.x) { probs[at + j.x] = s.x; }
  if (ok.y) { probs[at + j.y] = s.y; }
  if (ok.z) { probs[at + j.z] = s.z; }
  if (ok.w) { probs[at + j.w] = s.w; }
  let v = select(vec4f(NEG), s, ok);
  let mNew = max(m, max(max(v.x, v.y), max(v.z, v.w)));
  let e = select(vec4f(0.0), exp(v - mNew), ok);
  return vec2f(mNew, l * exp(m - mNew) + (e.x + e.y) + (e.z + e.w));
}

// Pass 1 of the softmax for rows i0.. of head hd: the scaled scores of the key tiles j0 < i0 + BM,
// written raw into probs (j ≤ i), and the (max, Σ exp) of each of the thread's rows over the whole row.
fn scoresRaw(hd: Head, i0: u32, tx: u32, ty: u32, li: u32) -> Stats {
  let T = params.T;
  let D = params.D;
  let BM = 4u * WY;
  let BN = 4u * WX;
  let qBase = hd.n * T * hd.stride + hd.h * D;
  let pBase = hd.b * T * T;
  let sqrtD = sqrt(f32(D));
  let kEnd = min(T, i0 + BM);
  // The q block fits one chunk: staged once for all key tiles.
  let hoist = D <= KC;
  if (hoist) { stageRowsQkv(li, true, BM, i0, 0u, T, D, qBase, hd.stride); }
  var m = vec4f(NEG);
  var l = vec4f(0.0);
  let i = i0 + 4u * ty;
  for (var j0 = 0u; j0 < kEnd; j0 += BN) {
    clearAcc();
    for (var d0 = 0u; d0 < D; d0 += KC) {
      if (!hoist) { stageRowsQkv(li, true, BM, i0, d0, T, D, qBase, hd.stride); }
      stageRowsQkv(li, false, BN, j0, d0, T, D, qBase + hd.C, hd.stride);
      workgroupBarrier();
      fmaChunk(tx, ty);
      workgroupBarrier();
    }
    // HF divides the scores by sqrt(D) (rather than multiplying by its inverse).
    let j = colsOf(j0, tx);
    let r0 = scoreRow(acc[0] / sqrtD, i, j, T, pBase, m.x, l.x);
    let r1 = scoreRow(acc[1] / sqrtD, i + 1u, j, T, pBase, m.y, l.y);
    let r2 = scoreRow(acc[2] / sqrtD, i + 2u, j, T, pBase, m.z, l.z);
    let r3 = scoreRow(acc[3] / sqrtD, i + 3u, j, T, pBase, m.w, l.w);
    m = vec4f(r0.x, r1.x, r2.x, r3.x);
    l = vec4f(r0.y, r1.y, r2.y, r3.y);
  }
  let mRow = rowMax(m, tx, ty);
  return Stats(mRow, rowSum(l * exp(m - mRow), tx, ty));
}

// Pass 2 for one row: the raw scores this thread wrote become probabilities; zeros above the diagonal.
fn normOne(at: u32, ok: bool, inside: bool, m: f32, l: f32) {
  if (inside) {
    var p = 0.0;
    if (ok) { p = exp(probs[at] - m) / l; }
    probs[at] = p;
  }
}

fn normRow(i: u32, j: vec4u, T: u32, pBase: u32, m: f32, l: f32) {
  if (i >= T) { return; }
  let ok = below(i, j, T);
  let inside = j < vec4u(T);
  let at = pBase + i * T;
  normOne(at + j.x, ok.x, inside.x, m, l);
  normOne(at + j.y, ok.y, inside.y, m, l);
  normOne(at + j.z, ok.z, inside.z, m, l);
  normOne(at + j.w, ok.w, inside.w, m, l);
}

// One workgroup per (query block, head). Pass 2 rereads exactly the entries this invocation wrote in
// pass 1 (so program order suffices, no barrier) and writes the whole row.
@compute @workgroup_size(WX, WY)
fn scores(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, params);
  if (!hd.valid) { return; }
  let T = params.T;
  let i0 = wid.x * 4u * WY;
  let st = scoresRaw(hd, i0, lid.x, lid.y, li);
  let pBase = hd.b * T * T;
  let i = i0 + 4u * lid.y;
  for (var j0 = 0u; j0 < T; j0 += 4u * WX) {
    let j = colsOf(j0, lid.x);
    normRow(i, j, T, pBase, st.m.x, st.l.x);
    normRow(i + 1u, j, T, pBase, st.m.y, st.l.y);
    normRow(i + 2u, j, T, pBase, st.m.z, st.l.z);
    normRow(i + 3u, j, T, pBase, st.m.w, st.l.w);
  }
}

// One row of a [T, D] output tile (rows of out, or one third of dqkv's) from its start `at`: channels
// d (< D stored).
fn storeOut(v: vec4f, at: u32, d: vec4u, D: u32) {
  if (d.x < D) { out[at + d.x] = v.x; }
  if (d.y < D) { out[at + d.y] = v.y; }
  if (d.z < D) { out[at + d.z] = v.z; }
  if (d.w < D) { out[at + d.w] = v.w; }
}

fn storeGrad(v: vec4f, at: u32, d: vec4u, D: u32) {
  if (d.x < D) { dqkv[at + d.x] = v.x; }
  if (d.y < D) { dqkv[at + d.y] = v.y; }
  if (d.z < D) { dqkv[at + d.z] = v.z; }
  if (d.w < D) { dqkv[at + d.w] = v.w; }
}

// out rows i0.., channels c0.. of head hd from the reduction so far.
fn storeOutTile(hd: Head, i0: u32, c0: u32, tx: u32, ty: u32) {
  let T = params.T;
  let D = params.D;
  let i = i0 + 4u * ty;
  let d = colsOf(c0, tx);
  let at = (hd.n * T + i) * hd.C + hd.h * D;
  if (i < T) { storeOut(acc[0], at, d, D); }
  if (i + 1u < T) { storeOut(acc[1], at + hd.C, d, D); }
  if (i + 2u < T) { storeOut(acc[2], at + 2u * hd.C, d, D); }
  if (i + 3u < T) { storeOut(acc[3], at + 3u * hd.C, d, D); }
}

// out[i, h·D + d] = Σ_{j ≤ i} P[i, j] v[j, d]. One workgroup per (row block × column block, head).
@compute @workgroup_size(WX, WY)
fn weightedSum(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, params);
  if (!hd.valid) { return; }
  let T = params.T;
  let D = params.D;
  let BM = 4u * WY;
  let BN = 4u * WX;
  let dTiles = (D + BN - 1u) / BN;
  let i0 = (wid.x / dTiles) * BM;
  let c0 = (wid.x % dTiles) * BN;
  let vBase = hd.n * T * hd.stride + 2u * hd.C + hd.h * D;
  let pBase = hd.b * T * T;
  clearAcc();
  let kEnd = min(T, i0 + BM);
  for (var k0 = 0u; k0 < kEnd; k0 += KC) {
    for (var s = 0u; s < slots(BM * KC); s++) {
      let e = li + s * WX * WY;
      if (e >= BM * KC) { break; }
      let r = e / KC;
      let kk = e % KC;
      let i = i0 + r;
      let j = k0 + kk;
      var v = 0.0;
      if (i < T && j <= i) { v = probs[pBase + i * T + j]; }
      putX(r, kk, v);
    }
    stageColsQkv(li, k0, c0, T, D, vBase, hd.stride);
    workgroupBarrier();
    fmaChunk(lid.x, lid.y);
    workgroupBarrier();
  }
  storeOutTile(hd, i0, c0, lid.x, lid.y);
}

// scores and weightedSum in one workgroup per (query block, head): pass 1 as in scores, then the weighted
// sum stages P[i, j] = exp(s − max) / sum from the raw scores (written by other invocations of the
// workgroup: storageBarrier), and its last column block stores P over them. Zeros above the diagonal.
@compute @workgroup_size(WX, WY)
fn forwardRows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, params);
  if (!hd.valid) { return; }
  let T = params.T;
  let D = params.D;
  let BM = 4u * WY;
  let BN = 4u * WX;
  let i0 = wid.x * BM;
  let st = scoresRaw(hd, i0, lid.x, lid.y, li);
  shareRows(st.m, st.l, lid.x, lid.y);
  storageBarrier();
  workgroupBarrier();
  let vBase = hd.n * T * hd.stride + 2u * hd.C + hd.h * D;
  let pBase = hd.b * T * T;
  let kEnd = min(T, i0 + BM);
  for (var c0 = 0u; c0 < D; c0 += BN) {
    // Every column block rereads the raw scores; only the last overwrites them.
    let last = c0 + BN >= D;
    clearAcc();
    for (var k0 = 0u; k0 < kEnd; k0 += KC) {
      for (var s = 0u; s < slots(BM * KC); s++) {
        let e = li + s * WX * WY;
        if (e >= BM * KC) { break; }
        let r = e / KC;
        let kk = e % KC;
        let i = i0 + r;
        let j = k0 + kk;
        var p = 0.0;
        if (i < T && j < T) {
          let at = pBase + i * T + j;
          if (j <= i) { p = exp(probs[at] - rowA[r]) / rowB[r]; }
          if (last) { probs[at] = p; }
        }
        putX(r, kk, p);
      }
      stageColsQkv(li, k0, c0, T, D, vBase, hd.stride);
      workgroupBarrier();
      fmaChunk(lid.x, lid.y);
      workgroupBarrier();
    }
    storeOutTile(hd, i0, c0, lid.x, lid.y);
  }
  // The key tiles wholly above the block's diagonal (past the last staged chunk).
  let z0 = min(T, ((kEnd + KC - 1u) / KC) * KC);
  let width = T - z0;
  for (var s = 0u; s < slots(BM * width); s++) {
    let e = li + s * WX * WY;
    if (e >= BM * width) { break; }
    let i = i0 + e / width;
    if (i < T) { probs[pBase + i * T + z0 + e % width] = 0.0; }
  }
}

// ---- Backward.

// Row i of dP at columns j: stores dP (j ≤ i) in dscores, returns dot + Σ P ⊙ dP over them.
fn gradOne(dp: f32, at: u32, ok: bool, dot: f32) -> f32 {
  if (ok) {
    dscores[at] = dp;
    return fma(bprobs[at], dp, dot);
  }
  return dot;
}

fn gradRow(dp: vec4f, i: u32, j: vec4u, T: u32, pBase: u32, dot: f32) -> f32 {
  let ok = below(i, j, T);
  let at = pBase + i * T;
  let s = gradOne(dp.y, at + j.y, ok.y, gradOne(dp.x, at + j.x, ok.x, dot));
  return gradOne(dp.w, at + j.w, ok.w, gradOne(dp.z, at + j.z, ok.z, s));
}

// Pass 1 of the backward for rows i0..: dP = dO·vᵀ of the key tiles j0 < i0 + BM into dscores (j ≤ i),
// and rowsum(P ⊙ dP) of the thread's rows over the whole row.
fn gradScoresRaw(hd: Head, i0: u32, tx: u32, ty: u32, li: u32) -> vec4f {
  let T = bparams.T;
  let D = bparams.D;
  let BM = 4u * WY;
  let BN = 4u * WX;
  let dBase = hd.n * T * hd.C + hd.h * D;
  let vBase = hd.n * T * hd.stride + 2u * hd.C + hd.h * D;
  let pBase = hd.b * T * T;
  let kEnd = min(T, i0 + BM);
  let hoist = D <= KC;
  if (hoist) { stageRowsDout(li, i0, 0u, T, D, dBase, hd.C); }
  var dot = vec4f(0.0);
  let i = i0 + 4u * ty;
  for (var j0 = 0u; j0 < kEnd; j0 += BN) {
    clearAcc();
    for (var d0 = 0u; d0 < D; d0 += KC) {
      if (!hoist) { stageRowsDout(li, i0, d0, T, D, dBase, hd.C); }
      stageRowsQkv(li, false, BN, j0, d0, T, D, vBase, hd.stride);
      workgroupBarrier();
      fmaChunk(tx, ty);
      workgroupBarrier();
    }
    let j = colsOf(j0, tx);
    dot = vec4f(
      gradRow(acc[0], i, j, T, pBase, dot.x),
      gradRow(acc[1], i + 1u, j, T, pBase, dot.y),
      gradRow(acc[2], i + 2u, j, T, pBase, dot.z),
      gradRow(acc[3], i + 3u, j, T, pBase, dot.w),
    );
  }
  return rowSum(dot, tx, ty);
}

fn dsOne(at: u32, ok: bool, dot: f32) {
  if (ok) { dscores[at] = bprobs[at] * (dscores[at] - dot); }
}

fn dsRow(i: u32, j: vec4u, T: u32, pBase: u32, dot: f32) {
  let ok = below(i, j, T);
  let at = pBase + i * T;
  dsOne(at + j.x, ok.x, dot);
  dsOne(at + j.y, ok.y, dot);
  dsOne(at + j.z, ok.z, dot);
  dsOne(at + j.w, ok.w, dot);
}

// Like `scores`: pass 1 stores dP (j ≤ i) in dscores, pass 2 (the same invocation's entries) turns it
// into dS. Entries j > i of dscores are left untouched (backwardGrads masks them).
@compute @workgroup_size(WX, WY)
fn backwardScores(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, bparams);
  if (!hd.valid) { return; }
  let T = bparams.T;
  let i0 = wid.x * 4u * WY;
  let dot = gradScoresRaw(hd, i0, lid.x, lid.y, li);
  let pBase = hd.b * T * T;
  let kEnd = min(T, i0 + 4u * WY);
  let i = i0 + 4u * lid.y;
  for (var j0 = 0u; j0 < kEnd; j0 += 4u * WX) {
    let j = colsOf(j0, lid.x);
    dsRow(i, j, T, pBase, dot.x);
    dsRow(i + 1u, j, T, pBase, dot.y);
    dsRow(i + 2u, j, T, pBase, dot.z);
    dsRow(i + 3u, j, T, pBase, dot.w);
  }
}

// dqkv rows o0.., channels c0.. of one role (0 dq, 1 dk, 2 dv) from the reduction so far, divided by s.
fn storeGradTile(hd: Head, role: u32, o0: u32, c0: u32, s: f32, tx: u32, ty: u32) {
  let T = bparams.T;
  let D = bparams.D;
  let o = o0 + 4u * ty;
  let d = colsOf(c0, tx);
  let at = hd.n * T * hd.stride + hd.h * D + o * hd.stride + role * hd.C;
  if (o < T) { storeGrad(acc[0] / s, at, d, D); }
  if (o + 1u < T) { storeGrad(acc[1] / s, at + hd.stride, d, D); }
  if (o + 2u < T) { storeGrad(acc[2] / s, at + 2u * hd.stride, d, D); }
  if (o + 3u < T) { storeGrad(acc[3] / s, at + 3u * hd.stride, d, D); }
}

// backwardScores and dq (role 0 of backwardGrads) in one workgroup per (query block, head): dq's
// reduction stages dS = P ⊙ (dP − rowsum) from the dP of pass 1 (other invocations': storageBarrier), and
// its last column block stores dS over dP. Entries j > i of dscores are left untouched.
@compute @workgroup_size(WX, WY)
fn backwardRows(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, bparams);
  if (!hd.valid) { return; }
  let T = bparams.T;
  let D = bparams.D;
  let BM = 4u * WY;
  let BN = 4u * WX;
  let i0 = wid.x * BM;
  let dot = gradScoresRaw(hd, i0, lid.x, lid.y, li);
  shareRows(dot, dot, lid.x, lid.y);
  storageBarrier();
  workgroupBarrier();
  let kBase = hd.n * T * hd.stride + hd.C + hd.h * D;
  let pBase = hd.b * T * T;
  let kEnd = min(T, i0 + BM);
  let sqrtD = sqrt(f32(D));
  for (var c0 = 0u; c0 < D; c0 += BN) {
    let last = c0 + BN >= D;
    clearAcc();
    for (var k0 = 0u; k0 < kEnd; k0 += KC) {
      for (var s = 0u; s < slots(BM * KC); s++) {
        let e = li + s * WX * WY;
        if (e >= BM * KC) { break; }
        let r = e / KC;
        let kk = e % KC;
        let i = i0 + r;
        let j = k0 + kk;
        var g = 0.0;
        if (i < T && j <= i) {
          let at = pBase + i * T + j;
          g = bprobs[at] * (dscores[at] - rowA[r]);
          if (last) { dscores[at] = g; }
        }
        putX(r, kk, g);
      }
      stageColsQkv(li, k0, c0, T, D, kBase, hd.stride);
      workgroupBarrier();
      fmaChunk(lid.x, lid.y);
      workgroupBarrier();
    }
    storeGradTile(hd, 0u, i0, c0, sqrtD, lid.x, lid.y);
  }
}

// Role 0: dq[o] = Σ_{k ≤ o} dS[o, k] k[k] / sqrt(D)
// Role 1: dk[o] = Σ_{k ≥ o} dS[k, o] q[k] / sqrt(D)
// Role 2: dv[o] = Σ_{k ≥ o} P[k, o] dO[k]
// wid.x = ((role − FIRST_ROLE) · rowBlocks + rowBlock) · colBlocks + colBlock; the role is uniform per
// workgroup.
@compute @workgroup_size(WX, WY)
fn backwardGrads(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let hd = head(wid, bparams);
  if (!hd.valid) { return; }
  let T = bparams.T;
  let D = bparams.D;
  let BM = 4u * WY;
  let BN = 4u * WX;
  let dTiles = (D + BN - 1u) / BN;
  let oTiles = (T + BM - 1u) / BM;
  let role = FIRST_ROLE + wid.x / (oTiles * dTiles);
  let tile = wid.x % (oTiles * dTiles);
  let o0 = (tile / dTiles) * BM;
  let c0 = (tile % dTiles) * BN;
  let rowBase = hd.n * T * hd.stride + hd.h * D;
  let pBase = hd.b * T * T;
  var kBegin = 0u;
  var kEnd = min(T, o0 + BM);
  if (role != 0u) { kBegin = o0; kEnd = T; }
  clearAcc();
  for (var k0 = kBegin; k0 < kEnd; k0 += KC) {
    if (role == 0u) {
      // Rows of dS, read along them.
      for (var s = 0u; s < slots(BM * KC); s++) {
        let e = li + s * WX * WY;
        if (e >= BM * KC) { break; }
        let r = e / KC;
        let kk = e % KC;
        let o = o0 + r;
        let k = k0 + kk;
        var v = 0.0;
        if (o < T && k <= o) { v = dscores[pBase + o * T + k]; }
        putX(r, kk, v);
      }
      stageColsQkv(li, k0, c0, T, D, rowBase + hd.C, hd.stride);
    } else {
      // Columns of dS or P (rows of the transpose), read along them.
      for (var s = 0u; s < slots(BM * KC); s++) {
        let e = li + s * WX * WY;
        if (e >= BM * KC) { break; }
        let kk = e / BM;
        let r = e % BM;
        let o = o0 + r;
        let k = k0 + kk;
        var v = 0.0;
        if (k < T && o <= k) {
          if (role == 1u) { v = dscores[pBase + k * T + o]; } else { v = bprobs[pBase + k * T + o]; }
        }
        putX(r, kk, v);
      }
      if (role == 1u) {
        stageColsQkv(li, k0, c0, T, D, rowBase, hd.stride);
      } else {
        stageColsDout(li, k0, c0, T, D, hd.n * T * hd.C + hd.h * D, hd.C);
      }
    }
    workgroupBarrier();
    fmaChunk(lid.x, lid.y);
    workgroupBarrier();
  }
  var s = sqrt(f32(D));
  if (role == 2u) { s = 1.0; }
  storeGradTile(hd, role, o0, c0, s, lid.x, lid.y);
}
