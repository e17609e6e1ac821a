// LayerNorm over the last dimension C of `rows` rows (pre-LN blocks and the final LN of lab-gpt):
//   y = (x − mean) · rstd · gamma + beta,   rstd = 1 / sqrt(var + eps),  var biased (as PyTorch).
// gamma and beta are frozen and shared by all runs, so the backward gives dx only:
//   g = dy · gamma,  x̂ = (x − mean) · rstd,  dx = rstd · (g − mean(g) − x̂ · mean(g · x̂))
// and adds it to dx when `accumulate` = 1, because the residual stream's gradient is a sum.
// forwardSum is the forward whose x is the residual add of a split-K product (matmul-splitk.ts) not yet
// summed: x = aux + (alpha · Σ_s partial[s] + bias), the float32 operations of matmulSplitKSum with the
// residual epilogue in their order (so the same x, bit for bit), stored to x, then normalized as forward
// does: one dispatch instead of two.
// backwardSum is likewise the backward whose dy is a split-K product: dy = alpha · Σ_s partial[s],
// as matmulSplitKSum without bias or epilogue would store it (not stored: the LayerNorm is its only reader).
// With LORA_R > 0 the sum has one more term, LoRA's du·A_run of an adapted module (run = row / loraRows),
// added last and multiplied-added in j order from zero, as the separate product du·A (matmulWideVec4 NN,
// K = r) wrote it into a last partial: the same dy, one dispatch fewer.
// A workgroup of WG threads takes WG / TPR rows (rows group = wid.x + 65535·wid.y), TPR threads per row;
// thread i of a row holds its elements c = i + TPR·k (k < EPT, coalesced) in registers, so each row is
// read once. A row's sums: every thread adds its row's TPR partials from workgroup memory in the same
// order, so all threads get the same value, with one barrier. The variance is a second pass over the
// registers, Σ (x − mean)², not E[x²] − mean², which cancels badly in float32.

struct ForwardParams { rows: u32, C: u32, eps: f32 }
// forwardEmbed: rows = R·perRun, perRun = Bt·T rows of tokens per run, T positions.
struct EmbedParams { rows: u32, C: u32, eps: f32, perRun: u32, T: u32 }
struct BackwardParams { rows: u32, C: u32, accumulate: u32 }
struct SumParams { rows: u32, C: u32, eps: f32, S: u32, hasBias: u32, alpha: f32 }
struct BackwardSumParams {
  rows: u32, C: u32, accumulate: u32, S: u32, alpha: f32,
  // LORA_R > 0: run 0's A [r, C] at loraOffA of bloraA, the runs' loraStrideA apart; rows per run.
  loraOffA: u32, loraStrideA: u32, loraRows: u32,
}

// Forward bindings.
@group(0) @binding(0) var<storage, read> fx: array<f32>;           // [rows, C]
@group(0) @binding(1) var<storage, read> fgamma: array<f32>;       // [C]
@group(0) @binding(2) var<storage, read> fbeta: array<f32>;        // [C]
@group(0) @binding(3) var<storage, read_write> fy: array<f32>;     // [rows, C]
@group(0) @binding(4) var<storage, read_write> fmean: array<f32>;  // [rows]
@group(0) @binding(5) var<storage, read_write> frstd: array<f32>;  // [rows]
@group(0) @binding(6) var<uniform> fparams: ForwardParams;

// Backward bindings (same slots, other entry point).
@group(0) @binding(0) var<storage, read> bdy: array<f32>;          // [rows, C]
@group(0) @binding(1) var<storage, read> bx: array<f32>;           // [rows, C]
@group(0) @binding(2) var<storage, read> bgamma: array<f32>;       // [C]
@group(0) @binding(3) var<storage, read> bmean: array<f32>;        // [rows]
@group(0) @binding(4) var<storage, read> brstd: array<f32>;        // [rows]
@group(0) @binding(5) var<storage, read_write> bdx: array<f32>;    // [rows, C]
@group(0) @binding(6) var<uniform> bparams: BackwardParams;
// backwardSum: the backward's bindings but dy and the params.
@group(0) @binding(0) var<storage, read> bpartial: array<f32>;     // [S, rows, C]
// LORA_R > 0: du [rows, r] and the concatenated A of the runs (unused otherwise: the host binds partial).
@group(0) @binding(6) var<storage, read> bdu: array<f32>;
@group(0) @binding(7) var<storage, read> bloraA: array<f32>;
@group(0) @binding(8) var<uniform> bsparams: BackwardSumParams;

// forwardEmbed bindings (same slots, other entry point).
@group(0) @binding(0) var<storage, read> etokens: array<u32>;      // [Bt, T]
@group(0) @binding(1) var<storage, read> ewte: array<f32>;         // [V, C]
@group(0) @binding(2) var<storage, read> ewpe: array<f32>;         // [P, C], P ≥ T
@group(0) @binding(3) var<storage, read> egamma: array<f32>;       // [C]
@group(0) @binding(4) var<storage, read> ebeta: array<f32>;        // [C]
@group(0) @binding(5) var<storage, read_write> ex: array<f32>;     // [rows, C]
@group(0) @binding(6) var<storage, read_write> ey: array<f32>;     // [rows, C]
@group(0) @binding(7) var<storage, read_write> emean: array<f32>;  // [rows]
@group(0) @binding(8) var<storage, read_write> erstd: array<f32>;  // [rows]
@group(0) @binding(9) var<uniform> eparams: EmbedParams;

// forwardSum bindings (same slots, other entry point); aux and x are distinct buffers.
@group(0) @binding(0) var<storage, read> spartial: array<f32>;     // [S, rows, C]
@group(0) @binding(1) var<storage, read> sbias: array<f32>;        // [C] when hasBias
@group(0) @binding(2) var<storage, read> saux: array<f32>;         // [rows, C]
@group(0) @binding(3) var<storage, read> sgamma: array<f32>;       // [C]
@group(0) @binding(4) var<storage, read> sbeta: array<f32>;        // [C]
@group(0) @binding(5) var<storage, read_write> sx: array<f32>;     // [rows, C]
@group(0) @binding(6) var<storage, read_write> sy: array<f32>;     // [rows, C]
@group(0) @binding(7) var<storage, read_write> smean: array<f32>;  // [rows]
@group(0) @binding(8) var<storage, read_write> srstd: array<f32>;  // [rows]
@group(0) @binding(9) var<uniform> sparams: SumParams;

// Threads per workgroup: a power of two (256; tests take fewer to fold the grid cheaply).
override WG: u32 = 256u;
// Elements per thread at most: the registers of a row.
const MAX_EPT: u32 = 32u;
// backwardSum: LoRA's rank r when dy also has LoRA's du·A term (0: it does not).
override LORA_R: u32 = 0u;
// The Sum variants' S (params.S, set by the host from it: a loop of known count, whose loads the compiler can
// issue together).
override PARTS: u32 = 1u;
// Threads per row: a power of two, 4 ≤ TPR ≤ WG.
override TPR: u32 = 32u;
// Elements per thread: TPR · EPT ≥ C, EPT ≤ MAX_EPT.
override EPT: u32 = 8u;
// Rows per workgroup (derived, not set by the host).
override ROWS: u32 = WG / TPR;

// Partial sums of each thread, by local index; a row's TPR partials are TPR / 4 vec4 from
// part[row · TPR / 4].
var<workgroup> partA: array<vec4f, WG / 4u>;
var<workgroup> partB: array<vec4f, WG / 4u>;

// The sum of the partials of the row whose first thread has local index `first` (a multiple of 4), in
// a fixed order: the same value in every thread of the row.
fn rowSumA(first: u32) -> f32 {
  var s = vec4f(0.0);
  for (var i = 0u; i < TPR / 4u; i++) { s += partA[first / 4u + i]; }
  return (s.x + s.y) + (s.z + s.w);
}

fn rowSumB(first: u32) -> f32 {
  var s = vec4f(0.0);
  for (var i = 0u; i < TPR / 4u; i++) { s += partB[first / 4u + i]; }
  return (s.x + s.y) + (s.z + s.w);
}

// Mean and rstd of the row whose thread `lid` holds elements v (zeros past C or past the last row); v
// becomes x − mean. Called by every thread of the workgroup: it holds the barriers.
fn rowStats(v: ptr<function, array<f32, MAX_EPT>>, lid: u32, C: u32, eps: f32) -> vec2f {
  let lane = lid % TPR;
  let first = lid - lane;
  var s = 0.0;
  for (var k = 0u; k < EPT; k++) {
    s += (*v)[k];
  }
  partA[lid / 4u][lid % 4u] = s;
  workgroupBarrier();
  let mean = rowSumA(first) / f32(C);
  var q = 0.0;
  for (var k = 0u; k < EPT; k++) {
    if (lane + k * TPR < C) {
      (*v)[k] -= mean;
      q = fma((*v)[k], (*v)[k], q);
    }
  }
  partB[lid / 4u][lid % 4u] = q;
  workgroupBarrier();
  return vec2f(mean, 1.0 / sqrt(rowSumB(first) / f32(C) + eps));
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C = fparams.C;
  let lane = lid % TPR;
  let row = (wid.x + wid.y * 65535u) * ROWS + lid / TPR;
  // Threads past the last row still reach the barriers; they load zeros and write nothing.
  let live = row < fparams.rows;
  let base = row * C;
  var v = array<f32, MAX_EPT>();
  for (var k = 0u; k < EPT; k++) {
    let c = lane + k * TPR;
    if (live && c < C) {
      v[k] = fx[base + c];
    }
  }
  let stats = rowStats(&v, lid, C, fparams.eps);
  if (!live) {
    return;
  }
  for (var k = 0u; k < EPT; k++) {
    let c = lane + k * TPR;
    if (c < C) {
      fy[base + c] = fma(v[k] * stats.y, fgamma[c], fbeta[c]);
    }
  }
  if (lane == 0u) {
    fmean[row] = stats.x;
    frstd[row] = stats.y;
  }
}

// forward of x = wte[token] + wpe[position] (embedding.wgsl's float32 add, one piece of wte), x stored too:
// the embedding and the first LayerNorm in one dispatch (issue 16). Row ρ·perRun + b·T + t of every run ρ
// reads token (b, t): the runs share the batch.
@compute @workgroup_size(WG)
fn forwardEmbed(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C = eparams.C;
  let lane = lid % TPR;
  let row = (wid.x + wid.y * 65535u) * ROWS + lid / TPR;
  let live = row < eparams.rows;
  let base = row * C;
  let bt = row % eparams.perRun;
  var tok = 0u;
  if (live) {
    tok = etokens[bt];
  }
  let t = bt % eparams.T;
  var v = array<f32, MAX_EPT>();
  for (var k = 0u; k < EPT; k++) {
    let c = lane + k * TPR;
    if (live && c < C) {
      let x = ewte[tok * C + c] + ewpe[t * C + c];
      ex[base + c] = x;
      v[k] = x;
    }
  }
  let stats = rowStats(&v, lid, C, eparams.eps);
  if (!live) {
    return;
  }
  for (var k = 0u; k < EPT; k++) {
    let c = lane + k * TPR;
    if (c < C) {
      ey[base + c] = fma(v[k] * stats.y, egamma[c], ebeta[c]);
    }
  }
  if (lane == 0u) {
    emean[row] = stats.x;
    erstd[row] = stats.y;
  }
}

@compute @workgroup_size(WG)
fn forwardSum(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C = sparams.C;
  let lane = lid % TPR;
  let row = (wid.x + wid.y * 65535u) * ROWS + lid / TPR;
  let live = row < sparams.rows;
  let base = row * C;
  let size = sparams.rows * C;
  var v = array<f32, MAX_EPT>();
  for (var k = 0u; k < EPT; k++) {
    let c = lane + k * TPR;
    if (live && c < C) {
      let i = base + c;
      // matmul-splitk-sum.wgsl's operations, in its order.
      var acc = 0.0;
      for (var s = 0u; s < PARTS; s++) {
        acc += spartial[s * size + i];
      }
      var t = sparams.alpha * acc;
      if (sparams.hasBias != 0u) {
        t += sbias[c];
      }
      v[k] = saux[i] + t;
      sx[i] = v[k];
    }
  }
  let stats = rowStats(&v, lid, C, sparams.eps);
  if (!live) {
    return;
  }
  for (var k = 0u; k < EPT; k++) {
    let c = lane + k * TPR;
    if (c < C) {
      sy[base + c] = fma(v[k] * stats.y, sgamma[c], sbeta[c]);
    }
  }
  if (lane == 0u) {
    smean[row] = stats.x;
    srstd[row] = stats.y;
  }
}

// The row's mean and rstd saved by the forward (zeros past the last row).
fn savedStats(row: u32, live: bool) -> vec2f {
  if (live) {
    return vec2f(bmean[row], brstd[row]);
  }
  return vec2f(0.0);
}

// dx of the row whose thread `lid` holds g = dy · gamma and x̂ of its elements (zeros past C or past the
// last row), written or added to bdx. Called by every thread of the workgroup: it holds the barrier.
fn backwardRow(
  g: ptr<function, array<f32, MAX_EPT>>,
  xhat: ptr<function, array<f32, MAX_EPT>>,
  lid: u32,
  row: u32,
  live: bool,
  rstd: f32,
  C: u32,
  add: bool,
) {
  let lane = lid % TPR;
  var acc = vec2f(0.0);
  for (var k = 0u; k < EPT; k++) {
    acc += vec2f((*g)[k], (*g)[k] * (*xhat)[k]);
  }
  partA[lid / 4u][lid % 4u] = acc.x;
  partB[lid / 4u][lid % 4u] = acc.y;
  workgroupBarrier();
  // (mean(g), mean(g · x̂))
  let first = lid - lane;
  let m = vec2f(rowSumA(first), rowSumB(first)) / f32(C);
  if (!live) {
    return;
  }
  let base = row * C;
  for (var k = 0u; k < EPT; k++) {
    let c = lane + k * TPR;
    if (c < C) {
      let d = rstd * ((*g)[k] - m.x - (*xhat)[k] * m.y);
      bdx[base + c] = select(d, bdx[base + c] + d, add);
    }
  }
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C = bparams.C;
  let lane = lid % TPR;
  let row = (wid.x + wid.y * 65535u) * ROWS + lid / TPR;
  let live = row < bparams.rows;
  let base = row * C;
  let stats = savedStats(row, live);
  // g = dy · gamma and x̂ of this thread's elements, kept for the output.
  var g = array<f32, MAX_EPT>();
  var xhat = array<f32, MAX_EPT>();
  for (var k = 0u; k < EPT; k++) {
    let c = lane + k * TPR;
    if (live && c < C) {
      g[k] = bdy[base + c] * bgamma[c];
      xhat[k] = (bx[base + c] - stats.x) * stats.y;
    }
  }
  backwardRow(&g, &xhat, lid, row, live, stats.y, C, bparams.accumulate == 1u);
}

@compute @workgroup_size(WG)
fn backwardSum(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let C = bsparams.C;
  let lane = lid % TPR;
  let row = (wid.x + wid.y * 65535u) * ROWS + lid / TPR;
  let live = row < bsparams.rows;
  let base = row * C;
  let size = bsparams.rows * C;
  let stats = savedStats(row, live);
  var g = array<f32, MAX_EPT>();
  var xhat = array<f32, MAX_EPT>();
  for (var k = 0u; k < EPT; k++) {
    let c = lane + k * TPR;
    if (live && c < C) {
      let i = base + c;
      // matmul-splitk-sum.wgsl's operations, in its order.
      var acc = 0.0;
      for (var s = 0u; s < PARTS; s++) {
        acc += bpartial[s * size + i];
      }
      if (LORA_R > 0u) {
        let a = bsparams.loraOffA + (row / bsparams.loraRows) * bsparams.loraStrideA + c;
        var t = 0.0;
        for (var j = 0u; j < LORA_R; j++) {
          t = fma(bdu[row * LORA_R + j], bloraA[a + j * C], t);
        }
        acc += t;
      }
      let dy = bsparams.alpha * acc;
      g[k] = dy * bgamma[c];
      xhat[k] = (bx[i] - stats.x) * stats.y;
    }
  }
  backwardRow(&g, &xhat, lid, row, live, stats.y, C, bsparams.accumulate == 1u);
}
