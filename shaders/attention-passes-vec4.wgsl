// The attention passes of attention-passes.wgsl (same entry points, bindings, grids and results up to float32
// rounding) for shapes whose rows are 16-byte aligned: D and T multiples of 4 (attentionPassesVec4 in
// src/kernels/attention-passes.ts). There every operand is read and written as vec4, and each thread owns a
// 4 × 4 block of the output tile (rows 4·ty .. 4·ty + 3, columns 4·tx .. 4·tx + 3) that it multiplies from one
// vec4 of each staged operand per reduction step: 2 workgroup-memory reads per 16 multiply-adds, where the
// scalar passes make 8 (bench/RESULTS.md). The reduction loop over the KC staged entries is repeated KC times
// by the host before compilation (`specialize`: WGSL has no unroll attribute, src/gpu/unroll.ts).
//
// Tiles: WX × WY threads, an output tile of BM = 4·WY rows by BN = 4·WX columns; KC (a multiple of 4, ≥ WX)
// reduction entries are staged per step in Xs [KC, BM] and Ys [KC, BN] (vec4 along rows/columns, one vec4 of
// padding per k row against bank conflicts of the transposing stores). After the last step of a tile the
// row statistics of the softmax reuse Xs and Ys (BM × WX floats each, which KC ≥ WX guarantees).
//
// Forward:  scores       probs = the scaled scores s = q_i·k_j / sqrt(D) (the vec4s at or below the diagonal),
//                        stats = each row's softmax statistics (m, l): max_j≤i s and Σ_j≤i exp(s − m)
//           weightedSum  out = P · v
// P = softmax_j≤i(s) is never stored: every reader forms P_ij = exp(s_ij − m_i) / l_i (0 above the diagonal)
// from probs and stats as it loads it (`prob`), the float32 expression the normalising pass of the scalar
// kernels (attention-passes.wgsl) stores. So `probs` means the raw scores here, the probabilities there; a
// model pairs a forward with the backward of the same kernel set (pickAttentionPassesTiles).
// Backward: backwardScores  dS = P ⊙ (dP − Δ), dP = dO · vᵀ, Δ_i = dO_i · O_i (= rowsum(P ⊙ dP) since
//                           O = P·v: FlashAttention's row term, so dS is written in one pass)
//           backwardGrads   dq = dS·k / sqrt(D), dk = dSᵀ·q / sqrt(D), dv = Pᵀ·dO (one dispatch, 3 roles)
//
// DOUT_PARTS > 1: `dout` holds that many partial products of dO (a split-K product's [S, N·T, C] blocks,
// packed from 0), and the backward reads dO as their sum, added from zero in block order: the float32 that
// matmulSplitKSum (alpha 1, no bias) would have stored, without its dispatch (gpu-model.ts).

struct Params { N: u32, T: u32, H: u32, D: u32 }

// Forward bindings.
@group(0) @binding(0) var<storage, read> qkv: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> probs: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> stats: array<vec2f>; // [N, H, T] rows: (m, l)
@group(0) @binding(4) var<uniform> params: Params;
// forwardProj's two more (its Params come after them, at 6; no entry point reads Params itself: the shape is
// in the SHAPE_ overrides). projW [C, C] is attn.c_proj's weight (rows: input channels); projOut [H, N·T, C]
// its H partial products, head h's block the product of O's columns h·D .. h·D + D − 1 with W's rows there.
@group(0) @binding(4) var<storage, read> projW: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> projOut: array<vec4f>;

// Backward bindings (binding 0 is `qkv` above). Entry points never use both sets.
@group(0) @binding(1) var<storage, read> bprobs: array<vec4f>;
@group(0) @binding(2) var<storage, read> dout: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dscores: array<vec4f>;
@group(0) @binding(5) var<storage, read> bout: array<vec4f>; // the forward's `out` (O, heads merged)
@group(0) @binding(6) var<storage, read> bstats: array<vec2f>; // the forward's `stats`
@group(0) @binding(7) var<uniform> bparams: Params;

override WX: u32 = 16u;
override WY: u32 = 16u;
override KC: u32 = 16u;
override DOUT_PARTS: u32 = 1u;
// The shape (Params' N, T, H, D, set by the host from them: loop counts and index arithmetic the compiler
// knows, src/gpu/kernel.ts paramConstants).
override SHAPE_N: u32 = 1u;
override SHAPE_T: u32 = 1u;
override SHAPE_H: u32 = 1u;
override SHAPE_D: u32 = 1u;
// Finite stand-in for −∞, so that max/rescale of empty partial rows never computes (−∞) − (−∞).
const NEG: f32 = -3.0e38;

var<workgroup> Xs: array<vec4f, KC * (WY + 1u)>; // [KC, BM / 4 + 1]
var<workgroup> Ys: array<vec4f, KC * (WX + 1u)>; // [KC, BN / 4 + 1]
// backwardScores: Δ's partial dot products, one per staging slot of dO [BM, KC / 4] (the slot's thread
// adds each d chunk's dO · O as it stages dO, so no other thread touches it until the reduction).
var<workgroup> deltaPart: array<f32, WY * KC>;

// Row a of the thread's 4 × 4 block (acc0 = row 4·ty), columns 4·tx .. 4·tx + 3. Named, not an array: an
// array indexed by a loop counter may live in local memory (src/gpu/unroll.ts).
var<private> acc0: vec4f;
var<private> acc1: vec4f;
var<private> acc2: vec4f;
var<private> acc3: vec4f;

struct Head { b: u32, n: u32, h: u32, C: u32, stride: u32, valid: bool }

fn headOf(b: u32) -> Head {
  let C = SHAPE_H * SHAPE_D;
  return Head(b, b / SHAPE_H, b % SHAPE_H, C, 3u * C, b < SHAPE_N * SHAPE_H);
}

// The order workgroups take their tiles in. 0: as the grid lays them out (x = the tile, y + 65535·z = the
// sequence·head). 1: the same (tile, head) pairs numbered tile-major over the grid, each entry point's tiles
// ranked longest first (`rank` below): the GPU starts workgroups in about that order, so the long ones start
// first and the last wave is of short ones (the causal mask makes a tile's reduction 1 to T / BM blocks long).
override ORDER: u32 = 0u;

// 1: a thread skips the multiply-adds of a staged chunk whose entries are all 0 for its 4 output rows (the
// causal mask: reductions over keys past a query row, or queries before a key row, in weightedSum and
// backwardGrads' diagonal blocks), and in scores and backwardScores those of a 4 × 4 block wholly above the
// diagonal (never stored). fma(0, y, acc) = acc for finite y, so the results are the same bits as 0's; a warp
// whose threads all skip saves the chunk's multiply-adds and workgroup-memory reads.
override SKIP_MASKED: u32 = 1u;

// 1: scores numbers its threads' 4 × 4 blocks in squares of BX × BY threads (8 × 4 where WX and WY allow): a
// warp of 32 consecutive threads then owns a 32-column × 16-row part of the output tile instead of 2 full rows
// of it, so on a diagonal tile whole warps lie above the diagonal and skip their multiply-adds (SKIP_MASKED),
// and a warp reads 4 + 8 staged vec4s a step instead of 2 + 16. Which thread computes an output changes, not
// how: the same bits as 0 (the threads as the grid lays them out). On the H200 (lab-gpt, R = 8) the forward
// took 0.167 ms a step against 0.179; backwardScores, whose stores and loads of a row's vec4s then spread over
// 16 rows a warp, took 0.131 against 0.126, so it keeps its rows of threads.
override SQUARE_WARPS: u32 = 1u;

// The (tx, ty) a thread of scores computes for (see SQUARE_WARPS).
fn squareThread(lid: vec3u, li: u32) -> vec3u {
  if (SQUARE_WARPS == 0u) { return lid; }
  let bx = select(4u, 8u, WX % 8u == 0u);
  let by = select(select(1u, 2u, WY % 2u == 0u), 4u, WY % 4u == 0u);
  let square = li / (bx * by);
  let lane = li % (bx * by);
  return vec3u((square % (WX / bx)) * bx + lane % bx, (square / (WX / bx)) * by + lane / bx, 0u);
}

// (rank of the workgroup's tile among `tiles`, its sequence·head); a head past N·H where the grid has more
// workgroups than tiles × heads (ORDER 1 over a z-folded grid).
fn slotOf(wid: vec3u, nwg: vec3u, tiles: u32) -> vec2u {
  if (ORDER == 0u) { return vec2u(wid.x, wid.y + wid.z * 65535u); }
  let heads = SHAPE_N * SHAPE_H;
  let at = wid.x + nwg.x * (wid.y + nwg.y * wid.z);
  if (at >= tiles * heads) { return vec2u(0u, heads); }
  return vec2u(at / heads, at % heads);
}

// vec4 i of dO (see DOUT_PARTS).
fn doutAt(i: u32) -> vec4f {
  if (DOUT_PARTS == 1u) { return dout[i]; }
  let part = SHAPE_N * SHAPE_T * SHAPE_H * SHAPE_D / 4u;
  var v = vec4f(0.0);
  for (var s = 0u; s < DOUT_PARTS; s++) { v += dout[s * part + i]; }
  return v;
}

fn clearAcc() {
  acc0 = vec4f();
  acc1 = vec4f();
  acc2 = vec4f();
  acc3 = vec4f();
}

fn accRow(a: u32) -> vec4f {
  switch a {
    case 0u: { return acc0; }
    case 1u: { return acc1; }
    case 2u: { return acc2; }
    default: { return acc3; }
  }
}

// acc += Xs (rows) × Ys (columns) over the KC staged entries. The host repeats the loop body KC times.
fn fmaChunk(tx: u32, ty: u32) {
  for (var kk = 0u; kk < KC; kk++) {
    let x = Xs[kk * (WY + 1u) + ty];
    let y = Ys[kk * (WX + 1u) + tx];
    acc0 = fma(vec4f(x.x), y, acc0);
    acc1 = fma(vec4f(x.y), y, acc1);
    acc2 = fma(vec4f(x.z), y, acc2);
    acc3 = fma(vec4f(x.w), y, acc3);
  }
}

// Staging. Each step stages KC reduction entries of both operands; thread li handles the vec4s (slots)
// e = li + s·THREADS, s < SLOTS, of each staged tile. The next step's vec4s are loaded into registers (px, py
// and what a slot needs beside them) between the barrier and this step's multiply-adds, and stored into
// workgroup memory at the top of the next step, as in matmul-wide-vec4.wgsl: the loads' latency overlaps
// the multiply. Loads keep their raw values; masks, P's exp and Δ's dot product are applied as they are
// stored, so no arithmetic waits on a load before the multiply. The loops over s (s < SLOTS) are repeated
// by the host (SLOTS = max(⌈KC / WX⌉, ⌈KC / WY⌉), src/kernels/attention-passes.ts); a slot past its tile's
// count is skipped.
//
// A "row" operand is read along the reduction (a vec4 holds 4 reduction entries of one row r): slot e →
// (r, q) with r = e / (KC / 4), and the vec4 is stored transposed into 4 k rows. A "column" operand is read
// along the rows (a vec4 holds 4 consecutive rows of one reduction entry kk): slot e → (kk, q) with
// q = e % (rows / 4), stored as is. X tiles hold WY·KC vec4s, Y tiles WX·KC.
override THREADS: u32 = WX * WY;
override COUNT_X: u32 = WY * KC;
override COUNT_Y: u32 = WX * KC;
var<private> px: array<vec4f, 4>;
var<private> py: array<vec4f, 4>;
// Beside px: a row's softmax statistics (P formed as it is stored) or, in backwardScores, O for Δ.
var<private> pm: array<vec2f, 4>;
var<private> po: array<vec4f, 4>;

fn slotX(li: u32, s: u32) -> bool { return li + s * THREADS < COUNT_X; }
fn slotY(li: u32, s: u32) -> bool { return li + s * THREADS < COUNT_Y; }

fn putXRow(r: u32, q: u32, v: vec4f) {
  let k = 4u * q;
  Xs[k * (WY + 1u) + r / 4u][r % 4u] = v.x;
  Xs[(k + 1u) * (WY + 1u) + r / 4u][r % 4u] = v.y;
  Xs[(k + 2u) * (WY + 1u) + r / 4u][r % 4u] = v.z;
  Xs[(k + 3u) * (WY + 1u) + r / 4u][r % 4u] = v.w;
}

fn putYRow(r: u32, q: u32, v: vec4f) {
  let k = 4u * q;
  Ys[k * (WX + 1u) + r / 4u][r % 4u] = v.x;
  Ys[(k + 1u) * (WX + 1u) + r / 4u][r % 4u] = v.y;
  Ys[(k + 2u) * (WX + 1u) + r / 4u][r % 4u] = v.z;
  Ys[(k + 3u) * (WX + 1u) + r / 4u][r % 4u] = v.w;
}

// Row-operand vec4 e of rows r0.. of a [T, D]-row matrix held in qkv, entries d0 .., zero past T and D.
// `base` and `stride` are in floats (multiples of 4).
fn loadQkvRow(e: u32, r0: u32, d0: u32, base: u32, stride: u32) -> vec4f {
  let r = e / (KC / 4u);
  let q = e % (KC / 4u);
  if (r0 + r < SHAPE_T && d0 + 4u * q < SHAPE_D) { return qkv[(base + (r0 + r) * stride + d0) / 4u + q]; }
  return vec4f();
}

fn putXRowSlot(e: u32, v: vec4f) { putXRow(e / (KC / 4u), e % (KC / 4u), v); }
fn putYRowSlot(e: u32, v: vec4f) { putYRow(e / (KC / 4u), e % (KC / 4u), v); }

// Column-operand vec4 e of a [T, D] block at base: rows k0 + kk, columns c0 + 4·q (the reduction runs over
// rows), zero past T and D. Where in the buffer it is (or the end of the matrix: none).
fn colAt(e: u32, k0: u32, c0: u32, base: u32, stride: u32) -> u32 {
  let kk = e / WX;
  let q = e % WX;
  if (k0 + kk < SHAPE_T && c0 + 4u * q < SHAPE_D) { return (base + (k0 + kk) * stride + c0) / 4u + q; }
  return 0xffffffffu;
}

// ... read from qkv (the forward and the backward bind it at the same place) ...
fn loadQkvCols(e: u32, k0: u32, c0: u32, base: u32, stride: u32) -> vec4f {
  let at = colAt(e, k0, c0, base, stride);
  if (at == 0xffffffffu) { return vec4f(); }
  return qkv[at];
}

// ... or, in the backward, from dO (doutAt) where `fromDout`.
fn loadBackwardCols(e: u32, k0: u32, c0: u32, base: u32, stride: u32, fromDout: bool) -> vec4f {
  let at = colAt(e, k0, c0, base, stride);
  if (at == 0xffffffffu) { return vec4f(); }
  if (fromDout) { return doutAt(at); }
  return qkv[at];
}

fn putYColSlot(e: u32, v: vec4f) { Ys[(e / WX) * (WX + 1u) + e % WX] = v; }

// Row statistics: thread tx of row r left its partial in slot (r, tx) of a [BM, WX] float array laid over Xs
// (first) or Ys; the WX partials of a row are WX / 4 vec4s.
fn putStat(toX: bool, r: u32, tx: u32, v: f32) {
  let at = r * (WX / 4u) + tx / 4u;
  if (toX) { Xs[at][tx % 4u] = v; } else { Ys[at][tx % 4u] = v; }
}

fn statX(r: u32, t: u32) -> f32 { return Xs[r * (WX / 4u) + t / 4u][t % 4u]; }
fn statY(r: u32, t: u32) -> f32 { return Ys[r * (WX / 4u) + t / 4u][t % 4u]; }

// (max, Σ exp(s − max)) of row r from its WX partial (max, sum) pairs.
fn rowMaxSum(r: u32) -> vec2f {
  var m = NEG;
  for (var t = 0u; t < WX; t++) { m = max(m, statX(r, t)); }
  var l = 0.0;
  for (var t = 0u; t < WX; t++) { l += statY(r, t) * exp(statX(r, t) - m); }
  return vec2f(m, l);
}

// 1 where column j0 + 4·tx + c is on or below the diagonal of row i.
fn causal(i: u32, j: u32) -> vec4<bool> {
  return vec4<bool>(j <= i, j + 1u <= i, j + 2u <= i, j + 3u <= i);
}

// P[i, j .. j + 3] from the raw scores s there and row i's statistics ml = (m, l); 0 above the diagonal.
fn prob(s: vec4f, ml: vec2f, i: u32, j: u32) -> vec4f {
  return select(vec4f(0.0), exp(s - ml.x) / ml.y, causal(i, j));
}

fn maxOf(v: vec4f, keep: vec4<bool>) -> f32 {
  let w = select(vec4f(NEG), v, keep);
  return max(max(w.x, w.y), max(w.z, w.w));
}

// scores' step (j0, d0): q rows i0.. into X, k rows j0.. into Y (entries d0 .. d0 + KC).
fn loadScores(li: u32, i0: u32, j0: u32, d0: u32, qBase: u32, C: u32, stride: u32) {
  for (var s = 0u; s < SLOTS; s++) {
    let e = li + s * THREADS;
    if (slotX(li, s)) { px[s] = loadQkvRow(e, i0, d0, qBase, stride); }
    if (slotY(li, s)) { py[s] = loadQkvRow(e, j0, d0, qBase + C, stride); }
  }
}

fn putRows(li: u32) {
  for (var s = 0u; s < SLOTS; s++) {
    let e = li + s * THREADS;
    if (slotX(li, s)) { putXRowSlot(e, px[s]); }
    if (slotY(li, s)) { putYRowSlot(e, py[s]); }
  }
}

// The query block of a row-block pass's workgroup: its rank among the T / BM blocks, the last row blocks (the
// most key blocks) first under ORDER 1.
fn rowBlockStart(rank: u32) -> u32 {
  let oTiles = (SHAPE_T + 4u * WY - 1u) / (4u * WY);
  return select(rank, oTiles - 1u - rank, ORDER == 1u) * 4u * WY;
}

// One workgroup per (query block, head). Writes the scaled scores (the whole vec4 of each column block at or
// below the diagonal; vec4s wholly above it are left as they are, no reader loads them) and keeps a running
// (max, sum of exp) per row over j ≤ i; the WX partials of a row are combined in order into its stats.
@compute @workgroup_size(WX, WY)
fn scores(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let slot = slotOf(wid, nwg, (SHAPE_T + 4u * WY - 1u) / (4u * WY));
  let hd = headOf(slot.y);
  if (!hd.valid) { return; }
  scoresBlock(squareThread(lid, li), li, hd, rowBlockStart(slot.x));
}

// scores' work for the query rows i0 .. i0 + BM of head hd.
// `lid`: the (tx, ty) the thread computes (squareThread).
fn scoresBlock(lid: vec3u, li: u32, hd: Head, i0: u32) {
  let T = SHAPE_T;
  let D = SHAPE_D;
  let tx = lid.x;
  let ty = lid.y;
  let BM = 4u * WY;
  let BN = 4u * WX;
  let qBase = hd.n * T * hd.stride + hd.h * D;
  let pBase = hd.b * T * T;
  let sqrtD = sqrt(f32(D));
  var m = vec4f(NEG);
  var l = vec4f(0.0);
  let kEnd = min(T, i0 + BM);
  loadScores(li, i0, 0u, 0u, qBase, hd.C, hd.stride);
  for (var j0 = 0u; j0 < kEnd; j0 += BN) {
    clearAcc();
    for (var d0 = 0u; d0 < D; d0 += KC) {
      putRows(li);
      workgroupBarrier();
      let last = d0 + KC >= D;
      let nj = select(j0, j0 + BN, last);
      if (nj < kEnd) { loadScores(li, i0, nj, select(d0 + KC, 0u, last), qBase, hd.C, hd.stride); }
      // The thread's 4 × 4 block wholly above the diagonal: nothing of it is stored.
      if (SKIP_MASKED == 0u || j0 + 4u * tx <= i0 + 4u * ty + 3u) { fmaChunk(tx, ty); }
      workgroupBarrier();
    }
    let j = j0 + 4u * tx;
    for (var a = 0u; a < 4u; a++) {
      let i = i0 + 4u * ty + a;
      if (i < T && j <= i) {
        // HF divides the scores by sqrt(D) (rather than multiplying by its inverse).
        let s = accRow(a) / sqrtD;
        probs[(pBase + i * T + j) / 4u] = s;
        let keep = causal(i, j);
        let mNew = max(m[a], maxOf(s, keep));
        let e = select(vec4f(0.0), exp(s - mNew), keep);
        l[a] = l[a] * exp(m[a] - mNew) + ((e.x + e.y) + (e.z + e.w));
        m[a] = mNew;
      }
    }
  }
  for (var a = 0u; a < 4u; a++) {
    putStat(true, 4u * ty + a, tx, m[a]);
    putStat(false, 4u * ty + a, tx, l[a]);
  }
  workgroupBarrier();
  if (tx == 0u) {
    for (var a = 0u; a < 4u; a++) {
      let i = i0 + 4u * ty + a;
      if (i < T) { stats[hd.b * T + i] = rowMaxSum(4u * ty + a); }
    }
  }
}

// weightedSum's step k0: P rows i0.. (raw scores and their row's statistics) and v rows k0.. (columns c0..).
fn loadWeighted(li: u32, i0: u32, k0: u32, c0: u32, pBase: u32, sBase: u32, vBase: u32, stride: u32) {
  for (var s = 0u; s < SLOTS; s++) {
    let e = li + s * THREADS;
    if (slotX(li, s)) {
      let i = i0 + e / (KC / 4u);
      let k = k0 + 4u * (e % (KC / 4u));
      if (i < SHAPE_T && k <= i) {
        px[s] = probs[(pBase + i * SHAPE_T + k) / 4u];
        pm[s] = stats[sBase + i];
      }
    }
    if (slotY(li, s)) { py[s] = loadQkvCols(e, k0, c0, vBase, stride); }
  }
}

// out[i, h·D + d] = Σ_{j ≤ i} P[i, j] v[j, d]. One workgroup per (row block × column block, head). P is formed
// as it is staged (0 above the diagonal), so the reduction stops at the block's last row.
@compute @workgroup_size(WX, WY)
fn weightedSum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let oTiles = (SHAPE_T + 4u * WY - 1u) / (4u * WY);
  let dTiles = (SHAPE_D + 4u * WX - 1u) / (4u * WX);
  let slot = slotOf(wid, nwg, oTiles * dTiles);
  let hd = headOf(slot.y);
  if (!hd.valid) { return; }
  // ORDER 1: the last row blocks (the longest reductions) first.
  weightedBlock(lid, li, hd, rowBlockStart(slot.x / dTiles), (slot.x % dTiles) * 4u * WX);
}

// weightedSum's work for the output rows i0 .. i0 + BM, columns c0 .. c0 + BN of head hd.
fn weightedBlock(lid: vec3u, li: u32, hd: Head, i0: u32, c0: u32) {
  let T = SHAPE_T;
  let D = SHAPE_D;
  let BM = 4u * WY;
  let vBase = hd.n * T * hd.stride + 2u * hd.C + hd.h * D;
  let pBase = hd.b * T * T;
  clearAcc();
  let kEnd = min(T, i0 + BM);
  loadWeighted(li, i0, 0u, c0, pBase, hd.b * T, vBase, hd.stride);
  for (var k0 = 0u; k0 < kEnd; k0 += KC) {
    for (var s = 0u; s < SLOTS; s++) {
      let e = li + s * THREADS;
      if (slotX(li, s)) {
        let i = i0 + e / (KC / 4u);
        let k = k0 + 4u * (e % (KC / 4u));
        var v = vec4f();
        if (i < T && k <= i) { v = prob(px[s], pm[s], i, k); }
        putXRowSlot(e, v);
      }
      if (slotY(li, s)) { putYColSlot(e, py[s]); }
    }
    workgroupBarrier();
    if (k0 + KC < kEnd) { loadWeighted(li, i0, k0 + KC, c0, pBase, hd.b * T, vBase, hd.stride); }
    // P[i, k] = 0 for k > i: the chunk is all 0 for rows i0 + 4·ty .. + 3 when k0 is past the last.
    if (SKIP_MASKED == 0u || i0 + 4u * lid.y + 3u >= k0) { fmaChunk(lid.x, lid.y); }
    workgroupBarrier();
  }
  let d = c0 + 4u * lid.x;
  for (var a = 0u; a < 4u; a++) {
    let i = i0 + 4u * lid.y + a;
    if (i < T && d < D) { out[((hd.n * T + i) * hd.C + hd.h * D + d) / 4u] = accRow(a); }
  }
}

// scores then weightedSum in one dispatch: one workgroup per (query block, head) writes the block's scores and
// statistics, then its rows of out, column block by column block. weightedSum's rows i0.. read only the scores
// and statistics of rows i0.., which this workgroup wrote: the storage barrier makes them visible to its other
// threads, so no grid-wide barrier (a second dispatch) is needed between the two. The same float32 operations
// in the same order as the two passes: the same bits.
@compute @workgroup_size(WX, WY)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let slot = slotOf(wid, nwg, (SHAPE_T + 4u * WY - 1u) / (4u * WY));
  let hd = headOf(slot.y);
  if (!hd.valid) { return; }
  forwardBlock(lid, li, hd, rowBlockStart(slot.x));
}

// forward's work for the query rows i0 .. i0 + BM of head hd.
fn forwardBlock(lid: vec3u, li: u32, hd: Head, i0: u32) {
  scoresBlock(squareThread(lid, li), li, hd, i0);
  // The scores and stats stored, and the statistics' reads of Xs and Ys done, before weightedBlock stages.
  storageBarrier();
  workgroupBarrier();
  for (var c0 = 0u; c0 < SHAPE_D; c0 += 4u * WX) {
    weightedBlock(lid, li, hd, i0, c0);
    // weightedBlock's last reads of Xs and Ys are behind its last barrier; the next column block may stage.
  }
}

// forward, then attn.c_proj's partial product of the block's rows for its head (projBlock): the split-K
// product whose chunks are the heads (prepareMatmulSplitKPartials with S = H) without its dispatch. Its rows
// of O are those this workgroup has just written: the storage barrier makes them visible to its threads.
@compute @workgroup_size(WX, WY)
fn forwardProj(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let slot = slotOf(wid, nwg, (SHAPE_T + 4u * WY - 1u) / (4u * WY));
  let hd = headOf(slot.y);
  if (!hd.valid) { return; }
  let i0 = rowBlockStart(slot.x);
  forwardBlock(lid, li, hd, i0);
  storageBarrier();
  workgroupBarrier();
  projBlock(lid, li, hd, i0);
}

// projBlock's step (k0, c0): O rows i0.. of the head (entries k0 .. k0 + KC of its D) into X, W rows h·D + k0..
// (columns c0 .. c0 + BN) into Y; zero past T, D and C.
fn loadProj(li: u32, i0: u32, k0: u32, c0: u32, oBase: u32, wBase: u32, C: u32) {
  for (var s = 0u; s < SLOTS; s++) {
    let e = li + s * THREADS;
    if (slotX(li, s)) {
      let r = e / (KC / 4u);
      let q = e % (KC / 4u);
      px[s] = vec4f();
      if (i0 + r < SHAPE_T && k0 + 4u * q < SHAPE_D) { px[s] = out[(oBase + (i0 + r) * C + k0) / 4u + q]; }
    }
    if (slotY(li, s)) {
      let kk = e / WX;
      let q = e % WX;
      py[s] = vec4f();
      if (k0 + kk < SHAPE_D && c0 + 4u * q < C) { py[s] = projW[(wBase + (k0 + kk) * C + c0) / 4u + q]; }
    }
  }
}

// projOut[h, n·T + i, c] = Σ_d O[n, i, h·D + d] · W[h·D + d, c] for the rows i0 .. i0 + BM, every c, column
// block by column block. Each output is fma'd from 0 over d in increasing order, as matmulWideVec4 computes a
// split product's chunk (and stores alpha 1 × it): the same float32.
fn projBlock(lid: vec3u, li: u32, hd: Head, i0: u32) {
  let C = hd.C;
  let oBase = hd.n * SHAPE_T * C + hd.h * SHAPE_D;
  let wBase = hd.h * SHAPE_D * C;
  let rowBase = (hd.h * SHAPE_N + hd.n) * SHAPE_T;
  for (var c0 = 0u; c0 < C; c0 += 4u * WX) {
    clearAcc();
    loadProj(li, i0, 0u, c0, oBase, wBase, C);
    for (var k0 = 0u; k0 < SHAPE_D; k0 += KC) {
      for (var s = 0u; s < SLOTS; s++) {
        let e = li + s * THREADS;
        if (slotX(li, s)) { putXRowSlot(e, px[s]); }
        if (slotY(li, s)) { putYColSlot(e, py[s]); }
      }
      workgroupBarrier();
      if (k0 + KC < SHAPE_D) { loadProj(li, i0, k0 + KC, c0, oBase, wBase, C); }
      fmaChunk(lid.x, lid.y);
      workgroupBarrier();
    }
    let c = c0 + 4u * lid.x;
    for (var a = 0u; a < 4u; a++) {
      let i = i0 + 4u * lid.y + a;
      if (i < SHAPE_T && c < C) { projOut[((rowBase + i) * C + c) / 4u] = accRow(a); }
    }
  }
}

// backwardScores' step (j0, d0): dO rows i0.. (and, for the first column block, O there for Δ) into X, v rows
// j0.. into Y.
fn loadBackwardScores(li: u32, i0: u32, j0: u32, d0: u32, dBase: u32, C: u32, vBase: u32, stride: u32) {
  for (var s = 0u; s < SLOTS; s++) {
    let e = li + s * THREADS;
    if (slotX(li, s)) {
      let r = e / (KC / 4u);
      let q = e % (KC / 4u);
      px[s] = vec4f();
      if (i0 + r < SHAPE_T && d0 + 4u * q < SHAPE_D) {
        let at = (dBase + (i0 + r) * C + d0) / 4u + q;
        px[s] = doutAt(at);
        if (j0 == 0u) { po[s] = bout[at]; }
      }
    }
    if (slotY(li, s)) { py[s] = loadQkvRow(e, j0, d0, vBase, stride); }
  }
}

// Like `scores` with dP = dO·vᵀ, in one pass. Δ_i = dO_i · O_i of the block's rows is summed as the first
// column block stages dO (each slot's vec4s of dO · O over the d chunks, then the KC / 4 slots of a row in
// order), so it is known before that block's dS; then per column block dS = P ⊙ (dP − Δ) for the vec4s at or
// below the diagonal (0 above it within them). Vec4s wholly above the diagonal are left untouched
// (backwardGrads masks them).
@compute @workgroup_size(WX, WY)
fn backwardScores(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let oTiles = (SHAPE_T + 4u * WY - 1u) / (4u * WY);
  let slot = slotOf(wid, nwg, oTiles);
  let hd = headOf(slot.y);
  if (!hd.valid) { return; }
  let T = SHAPE_T;
  let D = SHAPE_D;
  let tx = lid.x;
  let ty = lid.y;
  let BM = 4u * WY;
  let BN = 4u * WX;
  // ORDER 1: the last row blocks (the most key blocks) first.
  let i0 = select(slot.x, oTiles - 1u - slot.x, ORDER == 1u) * BM;
  let dBase = hd.n * T * hd.C + hd.h * D;
  let vBase = hd.n * T * hd.stride + 2u * hd.C + hd.h * D;
  let pBase = hd.b * T * T;
  for (var e = li; e < WY * KC; e += WX * WY) { deltaPart[e] = 0.0; }
  var delta = vec4f(0.0);
  let kEnd = min(T, i0 + BM);
  loadBackwardScores(li, i0, 0u, 0u, dBase, hd.C, vBase, hd.stride);
  for (var j0 = 0u; j0 < kEnd; j0 += BN) {
    clearAcc();
    for (var d0 = 0u; d0 < D; d0 += KC) {
      for (var s = 0u; s < SLOTS; s++) {
        let e = li + s * THREADS;
        if (slotX(li, s)) {
          putXRowSlot(e, px[s]);
          if (j0 == 0u && i0 + e / (KC / 4u) < T && d0 + 4u * (e % (KC / 4u)) < D) {
            deltaPart[e] += dot(px[s], po[s]);
          }
        }
        if (slotY(li, s)) { putYRowSlot(e, py[s]); }
      }
      workgroupBarrier();
      let last = d0 + KC >= D;
      let nj = select(j0, j0 + BN, last);
      if (nj < kEnd) { loadBackwardScores(li, i0, nj, select(d0 + KC, 0u, last), dBase, hd.C, vBase, hd.stride); }
      // The thread's 4 × 4 block wholly above the diagonal: nothing of it is stored.
      if (SKIP_MASKED == 0u || j0 + 4u * tx <= i0 + 4u * ty + 3u) { fmaChunk(tx, ty); }
      workgroupBarrier();
    }
    if (j0 == 0u) {
      // Every slot is final (the barrier above); slot (r, q) is deltaPart[r · KC / 4 + q].
      for (var a = 0u; a < 4u; a++) {
        var sum = 0.0;
        for (var q = 0u; q < KC / 4u; q++) { sum += deltaPart[(4u * ty + a) * (KC / 4u) + q]; }
        delta[a] = sum;
      }
    }
    let j = j0 + 4u * tx;
    for (var a = 0u; a < 4u; a++) {
      let i = i0 + 4u * ty + a;
      if (i < T && j <= i) {
        let at = (pBase + i * T + j) / 4u;
        let dp = accRow(a) - delta[a];
        dscores[at] = select(vec4f(0.0), prob(bprobs[at], bstats[hd.b * T + i], i, j) * dp, causal(i, j));
      }
    }
  }
}

// backwardGrads' step k0 for `role`: raw X (dS rows, dS columns, or P's raw scores and statistics) and the Y
// rows k0.. (k, q or dO).
fn loadGrads(li: u32, role: u32, o0: u32, k0: u32, c0: u32, pBase: u32, sBase: u32, yBase: u32, yStride: u32) {
  for (var s = 0u; s < SLOTS; s++) {
    let e = li + s * THREADS;
    if (slotX(li, s)) {
      if (role == 0u) {
        let o = o0 + e / (KC / 4u);
        let k = k0 + 4u * (e % (KC / 4u));
        if (o < SHAPE_T && k <= o) { px[s] = dscores[(pBase + o * SHAPE_T + k) / 4u]; }
      } else {
        let k = k0 + e / WY;
        let o = o0 + 4u * (e % WY);
        if (k < SHAPE_T && o < SHAPE_T && o <= k) {
          let at = (pBase + k * SHAPE_T + o) / 4u;
          if (role == 1u) {
            px[s] = dscores[at];
          } else {
            px[s] = bprobs[at];
            pm[s] = bstats[sBase + k];
          }
        }
      }
    }
    if (slotY(li, s)) { py[s] = loadBackwardCols(e, k0, c0, yBase, yStride, role == 2u); }
  }
}

// Role 0: dq[o] = Σ_{k ≤ o} dS[o, k] k[k] / sqrt(D)
// Role 1: dk[o] = Σ_{k ≥ o} dS[k, o] q[k] / sqrt(D)
// Role 2: dv[o] = Σ_{k ≥ o} P[k, o] dO[k]
// ORDER 0: wid.x = (role · rowBlocks + rowBlock) · colBlocks + colBlock; ORDER 1: the tile of rank t is
// (rank t / (3 · colBlocks), role (t / colBlocks) % 3, colBlock t % colBlocks), rank 0 the longest: role 0's last
// row block and roles 1 and 2's first. The role is uniform per workgroup.
@compute @workgroup_size(WX, WY)
fn backwardGrads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let oTiles = (SHAPE_T + 4u * WY - 1u) / (4u * WY);
  let dTiles = (SHAPE_D + 4u * WX - 1u) / (4u * WX);
  let slot = slotOf(wid, nwg, 3u * oTiles * dTiles);
  let hd = headOf(slot.y);
  if (!hd.valid) { return; }
  let T = SHAPE_T;
  let D = SHAPE_D;
  let BM = 4u * WY;
  let BN = 4u * WX;
  var role = slot.x / (oTiles * dTiles);
  var oBlock = (slot.x % (oTiles * dTiles)) / dTiles;
  if (ORDER == 1u) {
    let rank = slot.x / (3u * dTiles);
    role = (slot.x / dTiles) % 3u;
    oBlock = select(rank, oTiles - 1u - rank, role == 0u);
  }
  let o0 = oBlock * BM;
  let c0 = (slot.x % dTiles) * BN;
  let rowBase = hd.n * T * hd.stride + hd.h * D;
  let pBase = hd.b * T * T;
  let sBase = hd.b * T;
  // Y rows: k for dq, q for dk (in qkv), dO for dv.
  var yBase = rowBase + hd.C;
  var yStride = hd.stride;
  if (role == 1u) { yBase = rowBase; }
  if (role == 2u) { yBase = hd.n * T * hd.C + hd.h * D; yStride = hd.C; }
  var kBegin = 0u;
  var kEnd = min(T, o0 + BM);
  if (role != 0u) { kBegin = o0; kEnd = T; }
  clearAcc();
  loadGrads(li, role, o0, kBegin, c0, pBase, sBase, yBase, yStride);
  for (var k0 = kBegin; k0 < kEnd; k0 += KC) {
    for (var s = 0u; s < SLOTS; s++) {
      let e = li + s * THREADS;
      if (slotX(li, s)) {
        if (role == 0u) {
          // Rows of dS, read along k (contiguous); entries above the diagonal masked.
          let o = o0 + e / (KC / 4u);
          let k = k0 + 4u * (e % (KC / 4u));
          var v = vec4f();
          if (o < T && k <= o) { v = select(vec4f(0.0), px[s], causal(o, k)); }
          putXRowSlot(e, v);
        } else {
          // Columns of dS (or P): row k of the stored matrix, entries o0 .. (contiguous), kept where o ≤ k.
          let k = k0 + e / WY;
          let o = o0 + 4u * (e % WY);
          var v = vec4f();
          if (k < T && o < T && o <= k) {
            let keep = vec4<bool>(o <= k, o + 1u <= k, o + 2u <= k, o + 3u <= k);
            if (role == 1u) {
              v = select(vec4f(0.0), px[s], keep);
            } else {
              v = prob(px[s], pm[s], k, o);
            }
          }
          Xs[(e / WY) * (WY + 1u) + e % WY] = v;
        }
      }
      if (slotY(li, s)) { putYColSlot(e, py[s]); }
    }
    workgroupBarrier();
    if (k0 + KC < kEnd) { loadGrads(li, role, o0, k0 + KC, c0, pBase, sBase, yBase, yStride); }
    // Role 0 sums k ≤ o, roles 1 and 2 k ≥ o: the chunk k0 .. k0 + KC − 1 is all 0 for rows o0 + 4·ty .. + 3
    // past the first's end or before the last's start.
    let firstRow = o0 + 4u * lid.y;
    let masked = select(firstRow > k0 + KC - 1u, firstRow + 3u < k0, role == 0u);
    if (SKIP_MASKED == 0u || !masked) { fmaChunk(lid.x, lid.y); }
    workgroupBarrier();
  }
  var sqrtD = sqrt(f32(D));
  if (role == 2u) { sqrtD = 1.0; }
  let d = c0 + 4u * lid.x;
  for (var a = 0u; a < 4u; a++) {
    let o = o0 + 4u * lid.y + a;
    if (o < T && d < D) { dqkv[(rowBase + o * hd.stride + role * hd.C + d) / 4u] = accRow(a) / sqrtD; }
  }
}
