// Float64 layers of the lab-gpt reference (src/model/reference.ts): each forward next to its backward,
// row-major, no batching over runs. Test-only ground truth for the GPU kernels: clarity over speed.

type Vec = ArrayLike<number>;

/** y[N, O] = x[N, I] · W[I, O] + b (HF Conv1D layout). */
export function linearForward(x: Vec, W: Vec, b: Vec, N: number, I: number, O: number): Float64Array {
  const y = new Float64Array(N * O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let acc = b[o];
      for (let i = 0; i < I; i++) acc += x[n * I + i] * W[i * O + o];
      y[n * O + o] = acc;
    }
  }
  return y;
}

/** dx[N, I] = dy[N, O] · Wᵀ. The base weight is frozen: no dW, no db. */
export function linearBackward(dy: Vec, W: Vec, N: number, I: number, O: number): Float64Array {
  const dx = new Float64Array(N * I);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      let acc = 0;
      for (let o = 0; o < O; o++) acc += dy[n * O + o] * W[i * O + o];
      dx[n * I + i] = acc;
    }
  }
  return dx;
}

/** One adapter's factors inside one run's loraA / loraB: A [r, I] at offA, B [O, r] at offB. */
export interface LoraFactors {
  A: Vec;
  B: Vec;
  offA: number;
  offB: number;
  r: number;
  scale: number;
}

/** y[N, O] += s · (x Aᵀ) Bᵀ, as PEFT's LoRA on a fan_in_fan_out Conv1D. */
export function loraForwardAdd(
  y: Float64Array,
  x: Vec,
  f: LoraFactors,
  N: number,
  I: number,
  O: number,
): void {
  const { A, B, offA, offB, r, scale } = f;
  const u = new Float64Array(r);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let i = 0; i < I; i++) acc += x[n * I + i] * A[offA + k * I + i];
      u[k] = acc;
    }
    for (let o = 0; o < O; o++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += u[k] * B[offB + o * r + k];
      y[n * O + o] += scale * acc;
    }
  }
}

/**
 * Backward of loraForwardAdd: dA [r, I] and dB [O, r] accumulate into the run's gradient buffers at the
 * adapter's offsets, and dx[N, I] += the LoRA path's share of the input gradient.
 */
export function loraBackward(
  dy: Vec,
  x: Vec,
  f: LoraFactors,
  N: number,
  I: number,
  O: number,
  dx: Float64Array,
  dA: Float64Array,
  dB: Float64Array,
): void {
  const { A, B, offA, offB, r, scale } = f;
  const u = new Float64Array(r);
  const du = new Float64Array(r);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let i = 0; i < I; i++) acc += x[n * I + i] * A[offA + k * I + i];
      u[k] = acc;
    }
    for (let k = 0; k < r; k++) {
      let acc = 0;
      for (let o = 0; o < O; o++) {
        const g = scale * dy[n * O + o];
        dB[offB + o * r + k] += g * u[k];
        acc += g * B[offB + o * r + k];
      }
      du[k] = acc;
    }
    for (let k = 0; k < r; k++) {
      for (let i = 0; i < I; i++) {
        dA[offA + k * I + i] += du[k] * x[n * I + i];
        dx[n * I + i] += du[k] * A[offA + k * I + i];
      }
    }
  }
}

export interface LayerNormOut {
  y: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

/** PyTorch LayerNorm: biased variance, eps inside the square root. */
export function layerNormForward(
  x: Vec,
  gamma: Vec,
  beta: Vec,
  N: number,
  C: number,
  eps: number,
): LayerNormOut {
  const y = new Float64Array(N * C);
  const mean = new Float64Array(N);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[n * C + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[n * C + c] - m) ** 2;
    const s = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) y[n * C + c] = (x[n * C + c] - m) * s * gamma[c] + beta[c];
    mean[n] = m;
    rstd[n] = s;
  }
  return { y, mean, rstd };
}

/** dx = rstd · (dŷ − mean(dŷ) − x̂ · mean(dŷ · x̂)), dŷ = dy · γ (llm.c's layernorm_backward). */
export function layerNormBackward(
  dy: Vec,
  x: Vec,
  gamma: Vec,
  ln: LayerNormOut,
  N: number,
  C: number,
): Float64Array {
  const dx = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const m = ln.mean[n];
    const s = ln.rstd[n];
    let meanD = 0;
    let meanDX = 0;
    for (let c = 0; c < C; c++) {
      const d = dy[n * C + c] * gamma[c];
      meanD += d;
      meanDX += d * (x[n * C + c] - m) * s;
    }
    meanD /= C;
    meanDX /= C;
    for (let c = 0; c < C; c++) {
      const xhat = (x[n * C + c] - m) * s;
      dx[n * C + c] = s * (dy[n * C + c] * gamma[c] - meanD - xhat * meanDX);
    }
  }
  return dx;
}

const GELU_K = Math.sqrt(2 / Math.PI);

/** HF's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluForward(x: Vec): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + Math.tanh(GELU_K * (v + 0.044715 * v * v * v)));
  }
  return y;
}

export function geluBackward(x: Vec, dy: Vec): Float64Array {
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const th = Math.tanh(GELU_K * (v + 0.044715 * v * v * v));
    const dInner = GELU_K * (1 + 3 * 0.044715 * v * v);
    dx[i] = dy[i] * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * dInner);
  }
  return dx;
}

/**
 * Causal multi-head attention over qkv [Bt, T, 3C] (q, k, v are column blocks of C; head h owns columns
 * h·D..h·D+D of each block, as HF's split + _split_heads). Returns the merged heads [Bt, T, C] and the
 * softmax probabilities [Bt, H, T, T] (zero above the diagonal) for the backward.
 */
export function attentionForward(
  qkv: Vec,
  Bt: number,
  T: number,
  C: number,
  H: number,
): { out: Float64Array; probs: Float64Array } {
  const D = C / H;
  const scale = 1 / Math.sqrt(D);
  const out = new Float64Array(Bt * T * C);
  const probs = new Float64Array(Bt * H * T * T);
  const row = (b: number, t: number) => (b * T + t) * 3 * C;
  for (let b = 0; b < Bt; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const p = probs.subarray(((b * H + h) * T + t) * T, ((b * H + h) * T + t + 1) * T);
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qkv[row(b, t) + h * D + d] * qkv[row(b, s) + C + h * D + d];
          p[s] = dot * scale;
          max = Math.max(max, p[s]);
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) {
          p[s] = Math.exp(p[s] - max);
          sum += p[s];
        }
        for (let s = 0; s <= t; s++) p[s] /= sum;
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let s = 0; s <= t; s++) acc += p[s] * qkv[row(b, s) + 2 * C + h * D + d];
          out[(b * T + t) * C + h * D + d] = acc;
        }
      }
    }
  }
  return { out, probs };
}

/** dqkv [Bt, T, 3C] from dout [Bt, T, C], through the softmax's Jacobian. */
export function attentionBackward(
  dout: Vec,
  qkv: Vec,
  probs: Vec,
  Bt: number,
  T: number,
  C: number,
  H: number,
): Float64Array {
  const D = C / H;
  const scale = 1 / Math.sqrt(D);
  const dqkv = new Float64Array(Bt * T * 3 * C);
  const row = (b: number, t: number) => (b * T + t) * 3 * C;
  const dp = new Float64Array(T);
  for (let b = 0; b < Bt; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const pOff = ((b * H + h) * T + t) * T;
        const dOff = (b * T + t) * C + h * D;
        let pdp = 0;
        for (let s = 0; s <= t; s++) {
          let acc = 0;
          for (let d = 0; d < D; d++) {
            acc += dout[dOff + d] * qkv[row(b, s) + 2 * C + h * D + d];
            dqkv[row(b, s) + 2 * C + h * D + d] += probs[pOff + s] * dout[dOff + d];
          }
          dp[s] = acc;
          pdp += probs[pOff + s] * acc;
        }
        for (let s = 0; s <= t; s++) {
          const dScore = probs[pOff + s] * (dp[s] - pdp) * scale;
          for (let d = 0; d < D; d++) {
            dqkv[row(b, t) + h * D + d] += dScore * qkv[row(b, s) + C + h * D + d];
            dqkv[row(b, s) + C + h * D + d] += dScore * qkv[row(b, t) + h * D + d];
          }
        }
      }
    }
  }
  return dqkv;
}

/**
 * Tied LM head and masked mean cross-entropy: logits [N, V] = x · wteᵀ, loss = Σ mask·(−log p[target]) / Σ mask.
 * With Σ mask = 0 the loss is 0 and dx is 0 (nothing to learn from), rather than HF's NaN.
 */
export function lmHeadLoss(
  x: Vec,
  wte: Vec,
  targets: ArrayLike<number>,
  mask: Vec,
  N: number,
  C: number,
  V: number,
  backward: boolean,
): { loss: number; rowLoss: Float64Array; logits: Float64Array; dx: Float64Array } {
  const logits = new Float64Array(N * V);
  const rowLoss = new Float64Array(N);
  const dx = new Float64Array(backward ? N * C : 0);
  let maskSum = 0;
  for (let n = 0; n < N; n++) maskSum += mask[n];
  const invCount = maskSum > 0 ? 1 / maskSum : 0;
  let loss = 0;
  const dLogit = new Float64Array(V);
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) {
      let acc = 0;
      for (let c = 0; c < C; c++) acc += x[n * C + c] * wte[v * C + c];
      logits[n * V + v] = acc;
      max = Math.max(max, acc);
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[n * V + v] - max);
    const logSumExp = max + Math.log(sum);
    rowLoss[n] = logSumExp - logits[n * V + targets[n]];
    loss += mask[n] * rowLoss[n] * invCount;
    if (!backward || mask[n] === 0) continue;
    for (let v = 0; v < V; v++) {
      const p = Math.exp(logits[n * V + v] - logSumExp);
      dLogit[v] = mask[n] * invCount * (p - (v === targets[n] ? 1 : 0));
    }
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let v = 0; v < V; v++) acc += dLogit[v] * wte[v * C + c];
      dx[n * C + c] = acc;
    }
  }
  return { loss, rowLoss, logits, dx };
}
