// lab-gpt forward and hand-written backward on the GPU, for R runs in lockstep, as lists of prepared
// dispatches (recorded once, encoded every step). The backward mirrors the forward layer by layer in
// reverse (llm.c style). Frozen weights get no weight gradient; only LoRA A and B do.
import type { Dispatch, Gpu } from '../gpu/context';
import { matmul, MATMUL_DEFAULT_WORKGROUP_STORAGE, matmulVariant } from '../kernels/matmul';
import { layerNormBackward, layerNormForward } from '../kernels/layernorm';
import { geluBackward, geluForward } from '../kernels/gelu';
import { embedding } from '../kernels/embedding';
import { crossEntropy } from '../kernels/crossentropy';
import { runSums } from '../kernels/reduce';
import { type AttentionShape, prepareAttentionBackward, prepareAttentionForward } from '../kernels/attention';
import { ELEMENTWISE_OP, elementwise } from '../kernels/elementwise';
import { splitCount, sumSplits } from '../kernels/splitk';
import type { LabGptConfig } from './config';
import type { Adapter, LoraLayout, LoraTarget } from './lora-layout';
import {
  allocateActivations,
  destroyAll,
  type Activations,
  type BaseWeights,
  type BatchInputs,
  type LoraState,
  type StepShape,
} from './buffers';

interface MatmulArgs {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  bias?: GPUBuffer;
  M: number;
  N: number;
  K: number;
  batch?: number;
  offA?: number;
  offB?: number;
  offC?: number;
  strideA?: number;
  strideB?: number;
  strideC?: number;
  alpha?: number;
  beta?: number;
  transA?: boolean;
  transB?: boolean;
}

export class GpuModel {
  readonly acts: Activations;
  readonly rows: number;
  /** Per-run Σ mask·nll of the last forward, and a non-finite flag per run. */
  readonly lossSums: GPUBuffer;
  readonly lossFlags: GPUBuffer;
  /** The cross-entropy dispatch: its invCount (1 / Σ mask of the batch) is set every step. */
  lossDispatch: Dispatch | undefined;
  /** Row chunks of the split-K LoRA weight gradients, and their partial products [R·S, max(out, in)·r]. */
  readonly splits: number;
  readonly splitScratch: GPUBuffer;

  constructor(
    readonly gpu: Gpu,
    readonly cfg: LabGptConfig,
    readonly layout: LoraLayout,
    readonly shape: StepShape,
    readonly weights: BaseWeights,
    readonly lora: LoraState,
    readonly inputs: BatchInputs,
    /** Minimum rows per chunk of the split-K LoRA weight gradients (tests lower it to exercise S > 1). */
    splitMinChunk = 128,
  ) {
    this.rows = shape.R * shape.Bt * shape.T;
    this.acts = allocateActivations(gpu, cfg, layout, shape);
    this.lossSums = gpu.buffer(shape.R * 4, 'lossSums');
    this.lossFlags = gpu.buffer(shape.R * 4, 'lossFlags');
    this.splits = splitCount(shape.Bt * shape.T, splitMinChunk);
    const widest = Math.max(1, ...layout.adapters.map((a) => Math.max(a.inDim, a.outDim)));
    this.splitScratch = gpu.buffer(shape.R * this.splits * widest * layout.r * 4, 'splitScratch');
  }

  private mm(x: MatmulArgs): Dispatch {
    const batch = x.batch ?? 1;
    const params = {
      M: x.M,
      N: x.N,
      K: x.K,
      batch,
      offA: x.offA ?? 0,
      offB: x.offB ?? 0,
      offC: x.offC ?? 0,
      strideA: x.strideA ?? 0,
      strideB: x.strideB ?? 0,
      strideC: x.strideC ?? 0,
      alpha: x.alpha ?? 1,
      beta: x.beta ?? 0,
      hasBias: x.bias ? 1 : 0,
    };
    const trans = { TRANS_A: x.transA ? 1 : 0, TRANS_B: x.transB ? 1 : 0 } as const;
    // The wide tiles need more than WebGPU's guaranteed 16 KiB of workgroup memory: on a device that
    // offers only that, every matmul takes the small-tile kernel.
    const roomy = this.gpu.device.limits.maxComputeWorkgroupStorageSize >= MATMUL_DEFAULT_WORKGROUP_STORAGE;
    const { kernel, constants } = roomy ? matmulVariant(params, trans) : { kernel: matmul, constants: trans };
    return this.gpu.prepare(kernel, { a: x.a, b: x.b, c: x.c, bias: x.bias ?? x.b }, params, constants);
  }

  private adapter(layer: number, target: LoraTarget): Adapter | undefined {
    return this.layout.adapters.find((a) => a.layer === layer && a.target === target);
  }

  /** y = x·W + b for all runs at once (W shared), then y += s·(x Aᵀ) Bᵀ per run when the module is adapted. */
  private linear(
    layer: number,
    target: LoraTarget,
    x: GPUBuffer,
    W: GPUBuffer,
    b: GPUBuffer,
    y: GPUBuffer,
    inDim: number,
    outDim: number,
  ): Dispatch[] {
    const { R, Bt, T } = this.shape;
    const out: Dispatch[] = [this.mm({ a: x, b: W, c: y, bias: b, M: this.rows, N: outDim, K: inDim })];
    const ad = this.adapter(layer, target);
    if (ad) {
      const r = this.layout.r;
      const u = this.acts.layers[layer].loraU.get(target)!;
      const n = Bt * T;
      // u = x Aᵀ  [n, r] per run
      out.push(
        this.mm({
          a: x,
          b: this.lora.A,
          c: u,
          M: n,
          N: r,
          K: inDim,
          batch: R,
          strideA: n * inDim,
          offB: ad.offA,
          strideB: this.layout.SA,
          strideC: n * r,
          transB: true,
        }),
      );
      // y += s · u Bᵀ  [n, out] per run
      out.push(
        this.mm({
          a: u,
          b: this.lora.B,
          c: y,
          M: n,
          N: outDim,
          K: r,
          batch: R,
          strideA: n * r,
          offB: ad.offB,
          strideB: this.layout.SB,
          strideC: n * outDim,
          transB: true,
          alpha: this.layout.scale,
          beta: 1,
        }),
      );
    }
    return out;
  }

  /** dx = dy·Wᵀ (+ LoRA's du·A), and the LoRA gradients dA, dB of this module. */
  private linearBackward(
    layer: number,
    target: LoraTarget,
    x: GPUBuffer,
    dy: GPUBuffer,
    W: GPUBuffer,
    dx: GPUBuffer,
    inDim: number,
    outDim: number,
  ): Dispatch[] {
    const { R, Bt, T } = this.shape;
    const out: Dispatch[] = [
      this.mm({ a: dy, b: W, c: dx, M: this.rows, N: inDim, K: outDim, transB: true }),
    ];
    const ad = this.adapter(layer, target);
    if (ad) {
      const r = this.layout.r;
      const s = this.layout.scale;
      const n = Bt * T;
      const u = this.acts.layers[layer].loraU.get(target)!;
      const dU = this.acts.dU;
      const { SA, SB } = this.layout;
      // dB = s · dyᵀ u   [out, r], as S partial products over row chunks, then summed (split-K)
      const S = this.splits;
      const c = n / S;
      out.push(
        this.mm({
          a: dy,
          b: u,
          c: this.splitScratch,
          M: outDim,
          N: r,
          K: c,
          batch: R * S,
          strideA: c * outDim,
          strideB: c * r,
          strideC: outDim * r,
          transA: true,
        }),
      );
      out.push(
        this.gpu.prepare(
          sumSplits,
          { partial: this.splitScratch, out: this.lora.dB },
          { R, S, n: outDim * r, offOut: ad.offB, strideOut: SB, alpha: s },
        ),
      );
      // du = s · dy B   [n, r]
      out.push(
        this.mm({
          a: dy,
          b: this.lora.B,
          c: dU,
          M: n,
          N: r,
          K: outDim,
          batch: R,
          strideA: n * outDim,
          offB: ad.offB,
          strideB: SB,
          strideC: n * r,
          alpha: s,
        }),
      );
      // dA = duᵀ x   [r, in], split-K as dB
      out.push(
        this.mm({
          a: dU,
          b: x,
          c: this.splitScratch,
          M: r,
          N: inDim,
          K: c,
          batch: R * S,
          strideA: c * r,
          strideB: c * inDim,
          strideC: r * inDim,
          transA: true,
        }),
      );
      out.push(
        this.gpu.prepare(
          sumSplits,
          { partial: this.splitScratch, out: this.lora.dA },
          { R, S, n: r * inDim, offOut: ad.offA, strideOut: SA, alpha: 1 },
        ),
      );
      // dx += du A   [n, in]
      out.push(
        this.mm({
          a: dU,
          b: this.lora.A,
          c: dx,
          M: n,
          N: inDim,
          K: r,
          batch: R,
          strideA: n * r,
          offB: ad.offA,
          strideB: SA,
          strideC: n * inDim,
          beta: 1,
        }),
      );
    }
    return out;
  }

  private add(a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, n: number): Dispatch {
    return this.gpu.prepare(elementwise, { a, b, out }, { n }, { OP: ELEMENTWISE_OP.add });
  }

  /** Threads per row of a row-wise reduction: enough for C (or V), at most 128 (barriers are costly). */
  private rowThreads(width: number): number {
    return Math.min(128, Math.max(32, 2 ** Math.ceil(Math.log2(width / 2))));
  }

  private ln(
    x: GPUBuffer,
    g: GPUBuffer,
    b: GPUBuffer,
    y: GPUBuffer,
    mean: GPUBuffer,
    rstd: GPUBuffer,
  ): Dispatch {
    return this.gpu.prepare(
      layerNormForward,
      { x, gamma: g, beta: b, y, mean, rstd },
      { rows: this.rows, C: this.cfg.n_embd, eps: this.cfg.layer_norm_epsilon },
      { WG: this.rowThreads(this.cfg.n_embd) },
    );
  }

  private lnBackward(
    dy: GPUBuffer,
    x: GPUBuffer,
    g: GPUBuffer,
    mean: GPUBuffer,
    rstd: GPUBuffer,
    dx: GPUBuffer,
    accumulate: boolean,
  ): Dispatch {
    return this.gpu.prepare(
      layerNormBackward,
      { dy, x, gamma: g, mean, rstd, dx },
      { rows: this.rows, C: this.cfg.n_embd, accumulate: accumulate ? 1 : 0 },
      { WG: this.rowThreads(this.cfg.n_embd) },
    );
  }

  private attentionShape(): AttentionShape {
    const { R, Bt, T } = this.shape;
    return { N: R * Bt, T, H: this.cfg.n_head, D: this.cfg.n_embd / this.cfg.n_head };
  }

  /** Fused causal attention of layer l: qkv → attnOut, and the per-row logsumexp its backward needs. */
  private attentionForward(l: number): Dispatch[] {
    const la = this.acts.layers[l];
    return prepareAttentionForward(
      this.gpu,
      { qkv: la.qkv, out: la.attnOut, lse: la.attnLse },
      this.attentionShape(),
    );
  }

  /** dAttnOut → dQkv of layer l (probabilities recomputed from qkv and attnLse). */
  private attentionBackward(l: number): Dispatch[] {
    const { acts } = this;
    const la = acts.layers[l];
    return prepareAttentionBackward(
      this.gpu,
      {
        qkv: la.qkv,
        out: la.attnOut,
        lse: la.attnLse,
        dout: acts.dAttnOut,
        dqkv: acts.dQkv,
        delta: acts.dAttnDelta,
      },
      this.attentionShape(),
    );
  }

  destroy(): void {
    destroyAll(this.acts);
    this.lossSums.destroy();
    this.lossFlags.destroy();
    this.splitScratch.destroy();
  }

  /** Forward to per-run loss sums: embeddings, L blocks, final LN, tied LM head, cross-entropy (dlogits in place). */
  forward(invCount: number): Dispatch[] {
    const { cfg, acts, weights: w, shape } = this;
    const C = cfg.n_embd;
    const n = this.rows * C;
    const d: Dispatch[] = [];
    d.push(
      this.gpu.prepare(
        embedding,
        { tokens: this.inputs.tokens, wte: w.wte, wpe: w.wpe, out: acts.residual[0] },
        { R: shape.R, Bt: shape.Bt, T: shape.T, C },
      ),
    );
    for (let l = 0; l < cfg.n_layer; l++) {
      const lw = w.layers[l];
      const la = acts.layers[l];
      const res = acts.residual[l];
      d.push(this.ln(res, lw.ln1g, lw.ln1b, la.ln1Out, la.ln1Mean, la.ln1Rstd));
      d.push(...this.linear(l, 'c_attn', la.ln1Out, lw.attnW, lw.attnB, la.qkv, C, 3 * C));
      d.push(...this.attentionForward(l));
      d.push(...this.linear(l, 'attn.c_proj', la.attnOut, lw.projW, lw.projB, acts.scratch, C, C));
      d.push(this.add(res, acts.scratch, la.resMid, n));
      d.push(this.ln(la.resMid, lw.ln2g, lw.ln2b, la.ln2Out, la.ln2Mean, la.ln2Rstd));
      d.push(...this.linear(l, 'mlp.c_fc', la.ln2Out, lw.fcW, lw.fcB, la.fcPre, C, 4 * C));
      d.push(this.gpu.prepare(geluForward, { x: la.fcPre, y: la.fcOut }, { n: this.rows * 4 * C }));
      d.push(...this.linear(l, 'mlp.c_proj', la.fcOut, lw.mprojW, lw.mprojB, acts.scratch, 4 * C, C));
      d.push(this.add(la.resMid, acts.scratch, acts.residual[l + 1], n));
    }
    d.push(this.ln(acts.residual[cfg.n_layer], w.lnfg, w.lnfb, acts.lnfOut, acts.lnfMean, acts.lnfRstd));
    // logits = x · wteᵀ (tied head)
    d.push(
      this.mm({
        a: acts.lnfOut,
        b: w.wte,
        c: acts.logits,
        M: this.rows,
        N: cfg.vocab_size,
        K: C,
        transB: true,
      }),
    );
    this.lossDispatch = this.gpu.prepare(
      crossEntropy,
      { logits: acts.logits, targets: this.inputs.targets, mask: this.inputs.mask, rowLoss: acts.rowLoss },
      { R: shape.R, rows: shape.Bt * shape.T, V: cfg.vocab_size, invCount },
      { WG: this.rowThreads(cfg.vocab_size / 2) },
    );
    d.push(this.lossDispatch);
    d.push(
      this.gpu.prepare(
        runSums,
        { x: acts.rowLoss, sums: this.lossSums, flags: this.lossFlags },
        { R: shape.R, n: shape.Bt * shape.T, square: 0 },
      ),
    );
    return d;
  }

  /** Backward from dlogits (left in place by the loss) to dA, dB of every adapter. */
  backward(): Dispatch[] {
    const { cfg, acts, weights: w } = this;
    const C = cfg.n_embd;
    const d: Dispatch[] = [];
    // dlnf = dlogits · wte
    d.push(this.mm({ a: acts.logits, b: w.wte, c: acts.dLn, M: this.rows, N: C, K: cfg.vocab_size }));
    d.push(
      this.lnBackward(
        acts.dLn,
        acts.residual[cfg.n_layer],
        w.lnfg,
        acts.lnfMean,
        acts.lnfRstd,
        acts.dRes,
        false,
      ),
    );
    const lowest = Math.min(...this.layout.adapters.map((a) => a.layer));
    for (let l = cfg.n_layer - 1; l >= lowest; l--) {
      const lw = w.layers[l];
      const la = acts.layers[l];
      // h_{l+1} = resMid + mlp(ln2(resMid)): dRes flows to both.
      d.push(...this.linearBackward(l, 'mlp.c_proj', la.fcOut, acts.dRes, lw.mprojW, acts.dFc, 4 * C, C));
      d.push(
        this.gpu.prepare(
          geluBackward,
          { x: la.fcPre, dy: acts.dFc, dx: acts.dFcPre },
          { n: this.rows * 4 * C },
        ),
      );
      d.push(...this.linearBackward(l, 'mlp.c_fc', la.ln2Out, acts.dFcPre, lw.fcW, acts.dLn, C, 4 * C));
      d.push(this.lnBackward(acts.dLn, la.resMid, lw.ln2g, la.ln2Mean, la.ln2Rstd, acts.dRes, true));
      // resMid = h_l + c_proj(attn(ln1(h_l)))
      d.push(...this.linearBackward(l, 'attn.c_proj', la.attnOut, acts.dRes, lw.projW, acts.dAttnOut, C, C));
      d.push(...this.attentionBackward(l));
      d.push(...this.linearBackward(l, 'c_attn', la.ln1Out, acts.dQkv, lw.attnW, acts.dLn, C, 3 * C));
      if (l > lowest)
        d.push(this.lnBackward(acts.dLn, acts.residual[l], lw.ln1g, la.ln1Mean, la.ln1Rstd, acts.dRes, true));
    }
    return d;
  }
}
