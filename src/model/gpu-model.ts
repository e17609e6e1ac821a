// lab-gpt forward and hand-written backward on the GPU, for R runs in lockstep, as lists of prepared
// dispatches (recorded once, encoded every step). The backward mirrors the forward layer by layer in
// reverse (llm.c style). Frozen weights get no weight gradient; only LoRA A and B do.
import type { Dispatch, Gpu } from '../gpu/context';
import {
  matmulLoraFoldable,
  prepareMatmul,
  type MatmulBuffers,
  type MatmulEpilogue,
} from '../kernels/matmul';
import {
  matmulSplitCount,
  prepareMatmulSplitK,
  prepareMatmulSplitKDown,
  prepareMatmulSplitKPartials,
  splitKSumDownFits,
  splitSumLoraDownOn,
  splitKScratch,
  splitSumFoldOn,
} from '../kernels/matmul-splitk';
import {
  loraSplitScratch,
  prepareLoraBackward,
  loraFold,
  loraFoldOn,
  loraSkinny,
  prepareLoraDown,
  prepareLoraForward,
  prepareLoraReduceA,
  type LoraChain,
  type LoraEpilogue,
  type LoraPendingA,
  type LoraShape,
} from '../kernels/lora';
import {
  layerNormBackward,
  layerNormBackwardSum,
  layerNormBackwardSumLora,
  type LayerNormLora,
  layerNormConstants,
  layerNormForward,
  layerNormForwardSum,
  layerNormForwardEmbed,
  layerNormEmbedOn,
  layerNormSumConstants,
  layerNormSumFits,
  layerNormSumFold,
} from '../kernels/layernorm';
import { embedding } from '../kernels/embedding';
import { ELEMENTWISE_OP, elementwise } from '../kernels/elementwise';
import { crossEntropy } from '../kernels/crossentropy';
import { runSums } from '../kernels/reduce';
import { type AttentionShape, prepareAttentionBackward, prepareAttentionForward } from '../kernels/attention';
import {
  attentionProjFoldFits,
  attentionProjFoldOn,
  prepareAttentionPassesBackward,
  prepareAttentionPassesForward,
  prepareAttentionPassesForwardProj,
  prepareAttentionPassesRecompute,
  pickAttentionPassesTiles,
} from '../kernels/attention-passes';
import {
  type AttentionChoice,
  type AttentionVariant,
  attentionProbsBuffers,
  attentionProbsSlot,
  resolveAttention,
} from '../kernels/attention-variant';
import { splitCount } from '../kernels/splitk';
import type { LabGptConfig } from './config';
import type { Adapter, LoraLayout, LoraTarget } from './lora-layout';
import {
  allocateActivations,
  destroyAll,
  lmHeadChunkRows,
  lmHeadChunks,
  type Activations,
  type BaseWeights,
  type BatchInputs,
  type LayerWeights,
  type LoraState,
  type StepShape,
} from './buffers';

/**
 * One chunk of rows of the tied LM head: its logits, its loss and the first product of the backward. The
 * chunk's dlogits are overwritten by the next chunk's logits, so dLn is taken before moving on.
 */
export interface LmHeadChunk {
  /** First row (of R·Bt·T) and number of rows of the chunk. */
  start: number;
  rows: number;
  /** logits [rows, V] = lnfOut[start .. start + rows) · wteᵀ: one product per piece of wte, its columns. */
  logits: Dispatch[];
  /**
   * What `loss` reads: `logits`, or, where that product is split (and splitSumFoldOn), only its partial
   * products in productScratch, which `loss` adds up as it reads them (the same logits, one dispatch fewer).
   */
  lossLogits: Dispatch[];
  /** Cross-entropy of the chunk's rows into rowLoss, dlogits in place; `setParams({ invCount })` per batch. */
  loss: Dispatch;
  /**
   * dLn[start .. start + rows) = dlogits · wte: Σ over the pieces of wte of dlogits[:, piece] · piece. Split
   * (GpuModel.dLnSplit), only its partial products in productScratch, which the backward's first dispatch
   * sums: nothing between may use productScratch (lossSums does not).
   */
  dLn: Dispatch[];
}

export interface ForwardPass {
  /** Tokens to the final LayerNorm's output (lnfOut). */
  body: Dispatch[];
  /** The LM head and the loss, chunk by chunk (one chunk when the logits fit: lmHeadChunkRows). */
  head: LmHeadChunk[];
  /** Σ mask·nll per run, and the non-finite flags the guard reads. */
  lossSums: Dispatch;
}

/** Set the batch's invCount = 1 / Σ mask (of the whole batch) on every chunk's loss. */
export function setInvCount(f: ForwardPass, invCount: number): void {
  for (const c of f.head) c.loss.setParams({ invCount });
}

/**
 * Tokens to the per-run loss sums: body, then per chunk logits and loss (and with `gradient` the chunk's
 * dLn, which the backward starts from), then the sums. One chunk: three dispatches for the head, as
 * before chunking. `lossSums` replaces the sums' dispatch (the sweep's lossGuard, which also forms them), or with
 * null leaves it out (the sweep's loraReduceGuard forms them at the backward's end).
 */
export function lossDispatches(
  f: ForwardPass,
  gradient: boolean,
  lossSums: Dispatch | null = f.lossSums,
): Dispatch[] {
  const head = f.head.flatMap((c) =>
    gradient ? [...c.lossLogits, c.loss, ...c.dLn] : [...c.lossLogits, c.loss],
  );
  return [...f.body, ...head, ...(lossSums ? [lossSums] : [])];
}

export interface GpuModelOptions {
  /** Minimum rows per chunk of the split-K LoRA weight gradients (tests lower it to exercise S > 1). */
  splitMinChunk?: number;
  /** Forces the skinny LoRA kernels (true) or the matmul with split-K (false); default: by r. */
  loraSkinny?: boolean;
  /** Attention kernels: 'auto' (default) lets attentionVariant pick by shape and device limits. */
  attention?: AttentionChoice;
  /** At most this many rows per chunk of the LM head (tests force several chunks; default: by memory). */
  lmHeadChunkRows?: number;
  /**
   * Split-K of the frozen-weight products with few output tiles (matmul-splitk.ts): 'auto' (default, by
   * shape: matmulSplitCount), 'off', or a number of chunks forced on every product whose K it divides (tests).
   */
  matmulSplitK?: MatmulSplitK;
}

export type MatmulSplitK = 'auto' | 'off' | number;

/** The B operand of a backward's dx = dy·Wᵀ: W read transposed (NT), or its transposed copy as stored (NN). */
interface DxWeight {
  b: GPUBuffer;
  transB: 0 | 1;
}

/** A layer's adaptable modules in the order the backward reaches them. */
const BACKWARD_ORDER: readonly LoraTarget[] = ['mlp.c_proj', 'mlp.c_fc', 'attn.c_proj', 'c_attn'];

/**
 * Wᵀ as uploadWeights stored it where it did (`setTransposedWeights`), else W with TRANS_B. The two products add
 * the same terms in the same order: the same bits, the NN one without the staging's transposing stores
 * (issue 16).
 */
function dxWeight(lw: LayerWeights, which: 'attnW' | 'projW' | 'fcW' | 'mprojW'): DxWeight {
  return lw.transposed ? { b: lw.transposed[which], transB: 0 } : { b: lw[which], transB: 1 };
}

/** What a LayerNorm's backward reads of its forward: the input x, the frozen gamma, mean and rstd per row. */
interface LayerNormSaved {
  x: GPUBuffer;
  gamma: GPUBuffer;
  mean: GPUBuffer;
  rstd: GPUBuffer;
}

/** A LayerNorm forward's frozen gamma, beta and its outputs (the normalized rows, mean and rstd per row). */
interface LayerNormOut {
  gamma: GPUBuffer;
  beta: GPUBuffer;
  y: GPUBuffer;
  mean: GPUBuffer;
  rstd: GPUBuffer;
}

export class GpuModel {
  readonly acts: Activations;
  readonly rows: number;
  /** Per-run Σ mask·nll of the last forward, and a non-finite flag per run. */
  readonly lossSums: GPUBuffer;
  readonly lossFlags: GPUBuffer;
  /**
   * Row chunks of the split-K LoRA weight gradients, and their partial products [R·S, max(out, in)·r]
   * (one element when every adapter takes the skinny kernels).
   */
  readonly splits: number;
  readonly splitScratch: GPUBuffer;
  /** Partial products of the split-K frozen-weight matmuls (matmul-splitk.ts). */
  readonly productScratch: GPUBuffer;
  private readonly matmulSplitK: MatmulSplitK;
  /** While backward() prepares: the dA a module leaves for the next module's pair (prepareLoraBackward). */
  private chain: LoraChain | null = null;
  /** GpuModelOptions.loraSkinny (undefined: by r). */
  private readonly loraSkinny: boolean | undefined;
  /** The attention kernels this model runs (only their buffers are allocated). */
  readonly attention: AttentionVariant;
  /** Its probability buffers (attentionProbsBuffers): 0 fused, one per layer for the passes, fewer recomputing. */
  readonly probsBuffers: number;
  /** Rows per chunk of the LM head: the logits buffer holds [headRows, V]. */
  readonly headRows: number;

  constructor(
    readonly gpu: Gpu,
    readonly cfg: LabGptConfig,
    readonly layout: LoraLayout,
    readonly shape: StepShape,
    readonly weights: BaseWeights,
    readonly lora: LoraState,
    readonly inputs: BatchInputs,
    options: GpuModelOptions = {},
  ) {
    this.rows = shape.R * shape.Bt * shape.T;
    const { limits } = gpu.device;
    const attentionQuery = { ...this.attentionShape(), limits, layers: cfg.n_layer };
    this.attention = resolveAttention(options.attention, attentionQuery);
    this.probsBuffers = attentionProbsBuffers(this.attention, attentionQuery);
    this.headRows = lmHeadChunkRows(this.rows, cfg.vocab_size, limits, options.lmHeadChunkRows);
    this.acts = allocateActivations(
      gpu,
      cfg,
      layout,
      shape,
      this.attention,
      this.headRows,
      this.probsBuffers,
    );
    this.lossSums = gpu.buffer(shape.R * 4, 'lossSums');
    this.lossFlags = gpu.buffer(shape.R * 4, 'lossFlags');
    this.splits = splitCount(shape.Bt * shape.T, options.splitMinChunk ?? 128);
    this.loraSkinny = options.loraSkinny;
    const scratch = Math.max(1, ...layout.adapters.map((a) => loraSplitScratch(this.loraShape(a))));
    this.splitScratch = gpu.buffer(scratch * 4, 'splitScratch');
    this.matmulSplitK = options.matmulSplitK ?? 'auto';
    // The frozen-weight products [M, N, K] of a step, for the split-K scratch they may need.
    const C = cfg.n_embd;
    const V = cfg.vocab_size;
    const R = this.rows;
    const products: [number, number, number][] = [
      [R, 3 * C, C],
      [R, C, C],
      [R, 4 * C, C],
      [R, C, 4 * C],
      [R, C, 3 * C],
      [shape.Bt * shape.T, 3 * C, C],
      [this.headRows, V, C],
      [this.headRows, C, V],
    ];
    // An adapted c_attn or c_fc whose dx product is split also puts LoRA's du·A in one more slot
    // (linearLnBackward).
    const loraSlot = ([M, N, K]: [number, number, number]) => {
      const S = this.splitOf(M, N, K);
      return S > 1 ? (S + 1) * M * N : 0;
    };
    const splitFloats = Math.max(
      1,
      ...products.map(([M, N, K]) => splitKScratch(M, N, this.splitOf(M, N, K))),
      loraSlot([R, C, 3 * C]),
      loraSlot([R, C, 4 * C]),
    );
    this.productScratch = gpu.buffer(splitFloats * 4, 'productScratch');
  }

  private adapter(layer: number, target: LoraTarget): Adapter | undefined {
    return this.layout.adapters.find((a) => a.layer === layer && a.target === target);
  }

  /**
   * Whether an adapted split product of M rows takes matmulSplitKSumDown (its sum forms u) rather than loraRows
   * before prepareMatmulSplitK: where loraRows is the down-projection (skinny), up to the rows set for it.
   */
  private sumFormsDown(ad: Adapter, M: number): boolean {
    return splitSumLoraDownOn(M) && loraSkinny(this.loraShape(ad)) && splitKSumDownFits(this.layout.r);
  }

  /** The LoRA shape of an adapter: where its A and B sit in the concatenated buffers. */
  private loraShape(ad: Adapter): LoraShape {
    const { R, Bt, T } = this.shape;
    const { r, scale, SA, SB } = this.layout;
    return {
      R,
      rows: Bt * T,
      inDim: ad.inDim,
      outDim: ad.outDim,
      r,
      scale,
      offA: ad.offA,
      strideA: SA,
      offB: ad.offB,
      strideB: SB,
      splits: this.splits,
      skinny: this.loraSkinny,
    };
  }

  /**
   * y = x·W + b for all runs at once (W shared), then y += s·(x Aᵀ) Bᵀ per run when the module is adapted;
   * `end` (gelu, residual add) is fused into whichever of the two products completes y. Where the base
   * product is one matmulWideVec4 dispatch or split-K, the LoRA term is added in the store of that dispatch
   * or of the sum instead (`loraFold`).
   */
  private linear(
    layer: number,
    target: LoraTarget,
    x: GPUBuffer,
    W: GPUBuffer,
    b: GPUBuffer,
    y: GPUBuffer,
    inDim: number,
    outDim: number,
    end?: LoraEpilogue,
  ): Dispatch[] {
    const ad = this.adapter(layer, target);
    const shared = layer === 0 && target === 'c_attn' ? this.acts.qkvShared : null;
    const p = { M: this.rows, N: outDim, K: inDim };
    if (ad && loraFoldOn()) {
      // LoRA's up-projection in the store of the base product (one matmulWideVec4) or of its split-K sum,
      // which for the shared layer 0 also writes every run's copy: the same y, one or two dispatches fewer.
      const u = this.acts.layers[layer].loraU.get(target)!;
      const lora = loraFold({ u, loraB: this.lora.B }, this.loraShape(ad));
      // Prepared only where the fold is taken (a prepared dispatch holds a bind group and a uniform buffer).
      const down = () => prepareLoraDown(this.gpu, { x, loraA: this.lora.A, u }, this.loraShape(ad));
      const buffers = { a: x, b: W, c: y, bias: b, aux: end?.aux };
      const epilogue = end?.epilogue ?? 'none';
      const perRun = this.shape.Bt * this.shape.T;
      // Unsplit, a foldable product is one dispatch, split two (its sum stores y): ownSum.
      const foldable = !shared && matmulLoraFoldable(this.gpu, p, {}, lora);
      const S = shared ? this.splitOf(perRun, outDim, inDim) : this.splitOf(p.M, p.N, p.K, foldable);
      const scratch = this.productScratch;
      // One run's split product (lab-gpt's c_attn at R = 1): its sum also forms u, bit for bit loraRows'.
      const M = shared ? perRun : p.M;
      if (S > 1 && (!shared || this.shape.R === 1) && this.sumFormsDown(ad, M)) {
        const sumDown = { A: this.lora.A, offA: ad.offA, strideA: this.layout.SA };
        return prepareMatmulSplitKDown(this.gpu, buffers, { ...p, M }, epilogue, S, scratch, lora, sumDown);
      }
      if (shared && S > 1) {
        const one = { M: perRun, N: outDim, K: inDim };
        const copies = this.shape.R;
        return [
          down(),
          ...prepareMatmulSplitK(this.gpu, buffers, one, {}, epilogue, S, scratch, lora, copies),
        ];
      }
      if (!shared && (S > 1 || foldable))
        return [down(), ...prepareMatmulSplitK(this.gpu, buffers, p, {}, epilogue, S, scratch, lora)];
    }
    const base = { a: x, b: W, c: y, bias: b, aux: ad ? undefined : end?.aux };
    const out = shared
      ? this.sharedProduct(x, W, b, shared, y, inDim, outDim)
      : this.product(base, p, 0, ad ? 'none' : end?.epilogue);
    if (ad) {
      const u = this.acts.layers[layer].loraU.get(target)!;
      const { A: loraA, B: loraB } = this.lora;
      out.push(...prepareLoraForward(this.gpu, { x, loraA, loraB, u, y }, this.loraShape(ad), end));
    }
    return out;
  }

  /**
   * Chunks of the reduction of an M×N×K frozen-weight product (1: one matmul); `ownSum`: split, it would take
   * a sum dispatch of its own (matmulSplitCount).
   */
  private splitOf(M: number, N: number, K: number, ownSum = false): number {
    const o = this.matmulSplitK;
    if (o === 'off') return 1;
    if (o === 'auto') return matmulSplitCount(M, N, K, ownSum);
    for (let s = Math.min(o, K); s > 1; s--) if (K % s === 0) return s;
    return 1;
  }

  /** A frozen-weight product (one item, beta 0, packed C), split-K where splitOf says so. */
  private product(
    bufs: MatmulBuffers,
    p: { M: number; N: number; K: number; offA?: number; ldA?: number; offC?: number },
    transB: 0 | 1,
    epilogue: MatmulEpilogue = 'none',
    ownSum = true,
  ): Dispatch[] {
    const S = this.splitOf(p.M, p.N, p.K, ownSum);
    return prepareMatmulSplitK(this.gpu, bufs, p, { TRANS_B: transB }, epilogue, S, this.productScratch);
  }

  /**
   * Layer 0's c_attn base product x·W + b, whose input is the same for every run (one batch, frozen
   * embeddings and LayerNorm): computed on the first run's rows into `shared`, then tiled into y for all
   * R runs (issue 16: at R = 8 one 1,024-row product and a copy instead of an 8,192-row product).
   */
  private sharedProduct(
    x: GPUBuffer,
    W: GPUBuffer,
    b: GPUBuffer,
    shared: GPUBuffer,
    y: GPUBuffer,
    inDim: number,
    outDim: number,
  ): Dispatch[] {
    const perRun = this.shape.Bt * this.shape.T;
    return [
      ...this.product({ a: x, b: W, c: shared, bias: b }, { M: perRun, N: outDim, K: inDim }, 0),
      this.gpu.prepare(
        elementwise,
        { a: shared, b: shared, out: y },
        { n: this.rows * outDim, m: perRun * outDim },
        { OP: ELEMENTWISE_OP.tile },
      ),
    ];
  }

  /**
   * dx = dy·Wᵀ (+ LoRA's du·A), and the LoRA gradients dA, dB of this module; `end` (the gelu gradient)
   * is fused into whichever product completes dx. `withDx: false`: only dA, dB (nothing below needs dx).
   */
  private linearBackward(
    layer: number,
    target: LoraTarget,
    x: GPUBuffer,
    dy: GPUBuffer,
    W: DxWeight,
    dx: GPUBuffer,
    inDim: number,
    outDim: number,
    end?: LoraEpilogue,
    withDx = true,
  ): Dispatch[] {
    const ad = this.adapter(layer, target);
    const base = { a: dy, b: W.b, c: dx, aux: ad ? undefined : end?.aux };
    const p = { M: this.rows, N: inDim, K: outDim };
    const out = withDx ? this.product(base, p, W.transB, ad ? 'none' : end?.epilogue) : [];
    if (ad) out.push(...this.loraBackward(layer, target, x, dy, dx, withDx ? end : undefined, withDx));
    return out;
  }

  /**
   * The LoRA part of a module's backward: dA, dB, and du·A added to dx (or, with dxOffset, written into dx
   * from that float on, beta 0: a partial product for layerNormBackwardSum).
   */
  private loraBackward(
    layer: number,
    target: LoraTarget,
    x: GPUBuffer,
    dy: GPUBuffer,
    dx: GPUBuffer,
    end: LoraEpilogue | undefined,
    withDx: boolean,
    dxOffset?: number,
  ): Dispatch[] {
    const ad = this.adapter(layer, target)!;
    const u = this.acts.layers[layer].loraU.get(target)!;
    const { A: loraA, B: loraB, dA: gradA, dB: gradB } = this.lora;
    const bufs = {
      x,
      loraA,
      loraB,
      u,
      dy,
      du: this.duOf(layer, target),
      dx,
      dxOffset,
      gradA,
      gradB,
      splitScratch: this.splitScratch,
    };
    return prepareLoraBackward(this.gpu, bufs, this.loraShape(ad), end, withDx, this.chain ?? undefined);
  }

  /**
   * The du buffer of an adapted module's backward: dU and dU2 by turns in backward order, so that a module's dA
   * (reading its du) can ride in the next module's pair, which writes the other (prepareLoraBackward's chain).
   */
  private duOf(layer: number, target: LoraTarget): GPUBuffer {
    const order = BACKWARD_ORDER;
    const rank = (a: Adapter) => (this.cfg.n_layer - 1 - a.layer) * order.length + order.indexOf(a.target);
    const mine = rank(this.adapter(layer, target)!);
    const before = this.layout.adapters.filter((a) => rank(a) < mine).length;
    return before % 2 === 0 ? this.acts.dU : this.acts.dU2;
  }

  /**
   * dx = dy·Wᵀ (+ LoRA's du·A) of c_fc or c_attn and their LoRA gradients, then the backward of the
   * LayerNorm below (`ln`: its input x and saved statistics), whose dy dx is, added to dRes; without `ln`,
   * the LoRA gradients only (linearBackward without dx). When the frozen product completes dx (no adapter)
   * and is split, layerNormBackwardSum sums its partial products itself, as matmulSplitKSum would (the same
   * dy; dx, which nothing else reads, is not stored): one dispatch less.
   */
  private linearLnBackward(
    layer: number,
    target: LoraTarget,
    x: GPUBuffer,
    dy: GPUBuffer,
    W: DxWeight,
    inDim: number,
    outDim: number,
    ln: LayerNormSaved | undefined,
  ): Dispatch[] {
    const dx = this.acts.dLn;
    if (!ln) return this.linearBackward(layer, target, x, dy, W, dx, inDim, outDim, undefined, false);
    const S = this.splitOf(this.rows, inDim, outDim);
    const adapted = this.adapter(layer, target) !== undefined;
    // LoRA's du·A as the LayerNorm's last term rather than its own product (issue 16: one dispatch fewer
    // per adapted module, the same dx).
    const foldLora = adapted && loraFoldOn() && layerNormSumFold();
    if (S === 1 && foldLora) {
      // dx = dy·Wᵀ stored whole, then the LayerNorm's dy = dx + du·A: what the += product and the plain
      // backward computed, with the plain backward's constants (the same reduction order).
      return [
        ...this.linearBackward(layer, target, x, dy, W, dx, inDim, outDim, undefined, false),
        ...this.product({ a: dy, b: W.b, c: dx }, { M: this.rows, N: inDim, K: outDim }, W.transB),
        this.lnBackwardSum(1, ln, true, this.lnLora(layer, target), dx, layerNormConstants(this.cfg.n_embd)),
      ];
    }
    if (S === 1 || !layerNormSumFold()) {
      return [
        ...this.linearBackward(layer, target, x, dy, W, dx, inDim, outDim),
        this.lnBackward(dx, ln.x, ln.gamma, ln.mean, ln.rstd, this.acts.dRes, true),
      ];
    }
    const p = { M: this.rows, N: inDim, K: outDim };
    const partials = prepareMatmulSplitKPartials(
      this.gpu,
      { a: dy, b: W.b },
      p,
      { TRANS_B: W.transB },
      S,
      this.productScratch,
    );
    if (!adapted) return [partials, this.lnBackwardSum(S, ln, true)];
    if (foldLora) {
      return [
        partials,
        ...this.loraBackward(layer, target, x, dy, dx, undefined, false),
        this.lnBackwardSum(S, ln, true, this.lnLora(layer, target)),
      ];
    }
    // Adapted: LoRA's du·A is one more partial product (slot S) rather than a read-modify-write of a summed
    // dx, and the LayerNorm adds it last, in the order matmulSplitKSum then the += would (issue 16: at
    // lab-gpt R = 8, the sum dispatch and the += of c_attn's dx, three layers a step).
    const slot = S * this.rows * inDim;
    return [
      partials,
      ...this.loraBackward(layer, target, x, dy, this.productScratch, undefined, true, slot),
      this.lnBackwardSum(S + 1, ln, true),
    ];
  }

  /** Threads per row of a row-wise reduction: enough for C (or V), at most 128 (barriers are costly). */
  private rowThreads(width: number): number {
    return Math.min(128, Math.max(32, 2 ** Math.ceil(Math.log2(width / 2))));
  }

  private ln(x: GPUBuffer, out: LayerNormOut): Dispatch {
    return this.gpu.prepare(
      layerNormForward,
      { x, ...out },
      { rows: this.rows, C: this.cfg.n_embd, eps: this.cfg.layer_norm_epsilon },
      layerNormConstants(this.cfg.n_embd),
    );
  }

  /**
   * y = aux + x·W + b (+ LoRA) of attn.c_proj or mlp.c_proj, then the LayerNorm of y that follows it. When
   * the frozen product completes y (no adapter) and is split, layerNormForwardSum adds its partial
   * products, as matmulSplitKSum with the residual epilogue would (the same y), before normalizing: one
   * dispatch less per LayerNorm.
   */
  private residualLn(
    layer: number,
    target: LoraTarget,
    x: GPUBuffer,
    W: GPUBuffer,
    b: GPUBuffer,
    y: GPUBuffer,
    inDim: number,
    outDim: number,
    aux: GPUBuffer,
    out: LayerNormOut,
    partialsWritten = false,
  ): Dispatch[] {
    const S = this.splitOf(this.rows, outDim, inDim);
    if (!this.lnSumTakes(layer, target, S)) {
      if (partialsWritten) throw new Error(`layer ${layer} ${target}: partial products without their sum`);
      const end = { epilogue: 'residual', aux } as const;
      return [...this.linear(layer, target, x, W, b, y, inDim, outDim, end), this.ln(y, out)];
    }
    const p = { M: this.rows, N: outDim, K: inDim };
    const partial = this.productScratch;
    const C = this.cfg.n_embd;
    return [
      // attentionForwardProj has written attn.c_proj's (projFold).
      ...(partialsWritten ? [] : [prepareMatmulSplitKPartials(this.gpu, { a: x, b: W }, p, {}, S, partial)]),
      this.gpu.prepare(
        layerNormForwardSum,
        { partial, bias: b, aux, x: y, ...out },
        { rows: this.rows, C, eps: this.cfg.layer_norm_epsilon, S, hasBias: 1, alpha: 1 },
        layerNormSumConstants(C, this.rows),
      ),
    ];
  }

  /** Whether residualLn's LayerNorm adds the module's S partial products (no adapter, split, the fold on). */
  private lnSumTakes(layer: number, target: LoraTarget, S: number): boolean {
    return (
      !this.adapter(layer, target) && S > 1 && layerNormSumFold() && layerNormSumFits(this.gpu.device.limits)
    );
  }

  /**
   * Whether layer l's attention forward also writes attn.c_proj's partial products (attentionForwardProj), which
   * residualLn's LayerNorm then adds: the vec4 passes' fused forward runs, and that product is split by heads
   * into partials the LayerNorm sums (no adapter). One dispatch fewer per layer, the same partials.
   */
  private projFold(l: number): boolean {
    const C = this.cfg.n_embd;
    const S = this.splitOf(this.rows, C, C);
    return (
      this.acts.attention.variant !== 'fused' &&
      attentionProjFoldOn() &&
      attentionProjFoldFits(this.attentionShape(), S) &&
      this.lnSumTakes(l, 'attn.c_proj', S)
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
      layerNormConstants(this.cfg.n_embd),
    );
  }

  /**
   * lnBackward of dy = Σ_s partial[s] (+ LoRA's du·A, `lora`), S products [S, rows, C] in `partial`
   * (default productScratch; layerNormBackwardSum). `constants`: layerNormSumConstants unless given.
   */
  private lnBackwardSum(
    S: number,
    ln: LayerNormSaved,
    accumulate: boolean,
    lora?: LayerNormLora,
    partial = this.productScratch,
    constants?: Record<string, number>,
  ): Dispatch {
    const C = this.cfg.n_embd;
    const term = layerNormBackwardSumLora(partial, lora);
    return this.gpu.prepare(
      layerNormBackwardSum,
      {
        partial,
        x: ln.x,
        gamma: ln.gamma,
        mean: ln.mean,
        rstd: ln.rstd,
        dx: this.acts.dRes,
        ...term.buffers,
      },
      { rows: this.rows, C, accumulate: accumulate ? 1 : 0, S, alpha: 1, ...term.params },
      { ...(constants ?? layerNormSumConstants(C, this.rows)), ...term.constants },
    );
  }

  /** An adapted module's du·A for layerNormBackwardSum (after its LoRA backward without dx). */
  private lnLora(layer: number, target: LoraTarget): LayerNormLora {
    const s = this.loraShape(this.adapter(layer, target)!);
    return {
      du: this.duOf(layer, target),
      loraA: this.lora.A,
      r: s.r,
      offA: s.offA,
      strideA: s.strideA,
      rowsPerRun: s.rows,
    };
  }

  /** Layer l's probability buffer and whether its backward recomputes it ('passes-recompute'). */
  private probsSlot(l: number): { slot: number; recompute: boolean } {
    return attentionProbsSlot(l, this.cfg.n_layer, this.probsBuffers);
  }

  private attentionShape(): AttentionShape {
    const { R, Bt, T } = this.shape;
    return { N: R * Bt, T, H: this.cfg.n_head, D: this.cfg.n_embd / this.cfg.n_head };
  }

  /**
   * Causal attention of layer l: qkv → attnOut, and what its backward needs (lse or probabilities); with `proj`
   * (projFold), attn.c_proj's partial products by head into productScratch too.
   */
  private attentionForward(l: number, proj = false): Dispatch[] {
    const { qkv, attnOut: out } = this.acts.layers[l];
    const a = this.acts.attention;
    if (a.variant === 'fused')
      return prepareAttentionForward(this.gpu, { qkv, out, lse: a.attnLse[l] }, this.attentionShape());
    const at = a.variant === 'passes' ? l : this.probsSlot(l).slot;
    const probs = a.attnProbs[at];
    const stats = a.attnStats[at];
    if (proj) {
      const projW = this.weights.layers[l].projW;
      const buffers = { qkv, out, probs, stats, projW, partial: this.productScratch };
      return [prepareAttentionPassesForwardProj(this.gpu, buffers, this.attentionShape())];
    }
    return prepareAttentionPassesForward(this.gpu, { qkv, out, probs, stats }, this.attentionShape());
  }

  /**
   * dAttnOut → dQkv of layer l (fused: probabilities recomputed from qkv and the lse; passes: saved;
   * passes-recompute: saved where layer l has its own buffer or was the last to write the shared one, else
   * attentionScores writes layer l's again: attentionProbsSlot).
   */
  private attentionBackward(l: number, doutParts = 1): Dispatch[] {
    const { acts } = this;
    const { qkv, attnOut: out } = acts.layers[l];
    const a = acts.attention;
    const dout = doutParts > 1 ? this.productScratch : acts.dAttnOut;
    const dqkv = acts.dQkv;
    const shape = this.attentionShape();
    if (a.variant === 'fused') {
      const buffers = { qkv, out, lse: a.attnLse[l], dout, dqkv, delta: a.dAttnDelta };
      return prepareAttentionBackward(this.gpu, buffers, shape);
    }
    const tiles = pickAttentionPassesTiles(shape);
    if (a.variant === 'passes') {
      const buffers = {
        qkv,
        probs: a.attnProbs[l],
        stats: a.attnStats[l],
        dout,
        dqkv,
        dscores: a.dScores,
        out,
      };
      return prepareAttentionPassesBackward(this.gpu, buffers, shape, tiles, doutParts);
    }
    const { slot, recompute } = this.probsSlot(l);
    const [probs, stats] = [a.attnProbs[slot], a.attnStats[slot]];
    return [
      ...(recompute ? prepareAttentionPassesRecompute(this.gpu, { qkv, out, probs, stats }, shape) : []),
      ...prepareAttentionPassesBackward(
        this.gpu,
        { qkv, probs, stats, dout, dqkv, dscores: a.dScores, out },
        shape,
        tiles,
        doutParts,
      ),
    ];
  }

  /**
   * Layer l's dAttnOut = dRes·Wᵀ of attn.c_proj as this many partial products that the attention backward sums
   * as it reads them (issue 16: one matmulSplitKSum dispatch fewer per layer, the same dO), or 1: where that
   * product is split, attn.c_proj has no adapter (whose du·A would add to dO) and the vec4 passes run.
   */
  private attentionDoutParts(l: number): number {
    const C = this.cfg.n_embd;
    const S = this.splitOf(this.rows, C, C);
    const passes = this.acts.attention.variant !== 'fused';
    const vec4 = pickAttentionPassesTiles(this.attentionShape()).VEC4 === 1;
    return S > 1 && splitSumFoldOn() && passes && vec4 && !this.adapter(l, 'attn.c_proj') ? S : 1;
  }

  destroy(): void {
    destroyAll(this.acts);
    this.lossSums.destroy();
    this.lossFlags.destroy();
    this.splitScratch.destroy();
    this.productScratch.destroy();
  }

  /**
   * The forward in three parts: `body` (embeddings, L blocks, final LN), `head` (per chunk of rows: the
   * tied LM head's logits, the cross-entropy with dlogits in place — its invCount = 1 / Σ mask of the
   * whole batch, set per batch — and dLn = dlogits · wte for the backward) and `lossSums` (per run).
   */
  forward(invCount: number): ForwardPass {
    const { cfg, acts, weights: w, shape } = this;
    const C = cfg.n_embd;
    const V = cfg.vocab_size;
    const d: Dispatch[] = [];
    // The LayerNorm that reads residual stream l: layer l's first, or the final one.
    const lnOf = (l: number): LayerNormOut =>
      l < cfg.n_layer
        ? {
            gamma: w.layers[l].ln1g,
            beta: w.layers[l].ln1b,
            y: acts.layers[l].ln1Out,
            mean: acts.layers[l].ln1Mean,
            rstd: acts.layers[l].ln1Rstd,
          }
        : { gamma: w.lnfg, beta: w.lnfb, y: acts.lnfOut, mean: acts.lnfMean, rstd: acts.lnfRstd };
    const embedLn = layerNormEmbedOn() && w.wte.length === 1 && layerNormSumFits(this.gpu.device.limits);
    if (embedLn)
      d.push(
        this.gpu.prepare(
          layerNormForwardEmbed,
          { tokens: this.inputs.tokens, wte: w.wte[0].buffer, wpe: w.wpe, x: acts.residual[0], ...lnOf(0) },
          { rows: this.rows, C, eps: cfg.layer_norm_epsilon, perRun: shape.Bt * shape.T, T: shape.T },
          layerNormConstants(C),
        ),
      );
    // One dispatch per piece of wte (model/buffers.ts), each writing the rows of its tokens.
    for (const piece of embedLn ? [] : w.wte)
      d.push(
        this.gpu.prepare(
          embedding,
          { tokens: this.inputs.tokens, wte: piece.buffer, wpe: w.wpe, out: acts.residual[0] },
          { R: shape.R, Bt: shape.Bt, T: shape.T, C, first: piece.first, count: piece.rows },
        ),
      );
    if (!embedLn) d.push(this.ln(acts.residual[0], lnOf(0)));
    for (let l = 0; l < cfg.n_layer; l++) {
      const lw = w.layers[l];
      const la = acts.layers[l];
      d.push(...this.linear(l, 'c_attn', la.ln1Out, lw.attnW, lw.attnB, la.qkv, C, 3 * C));
      const proj = this.projFold(l);
      d.push(...this.attentionForward(l, proj));
      // The residual adds and gelu are the epilogues of the products that complete each module's output
      // (or, for the residual adds, of the LayerNorms that follow them: residualLn).
      const ln2 = { gamma: lw.ln2g, beta: lw.ln2b, y: la.ln2Out, mean: la.ln2Mean, rstd: la.ln2Rstd };
      const res = acts.residual[l];
      d.push(
        ...this.residualLn(l, 'attn.c_proj', la.attnOut, lw.projW, lw.projB, la.resMid, C, C, res, ln2, proj),
      );
      const gelu = { epilogue: 'gelu', aux: la.fcOut } as const;
      d.push(...this.linear(l, 'mlp.c_fc', la.ln2Out, lw.fcW, lw.fcB, la.fcSlope, C, 4 * C, gelu));
      const next = acts.residual[l + 1];
      d.push(
        ...this.residualLn(
          l,
          'mlp.c_proj',
          la.fcOut,
          lw.mprojW,
          lw.mprojB,
          next,
          4 * C,
          C,
          la.resMid,
          lnOf(l + 1),
        ),
      );
    }
    const dLnSplit = this.dLnSplit();
    const head = lmHeadChunks(this.rows, this.headRows).map(({ start, rows }): LmHeadChunk => {
      // Each piece of wte gives its columns of the logits rows (ldC = V); unsplit, one product as ever.
      // One piece (ldC = V = N): the packed product that split-K takes.
      const logits =
        w.wte.length === 1
          ? this.product(
              { a: acts.lnfOut, b: w.wte[0].buffer, c: acts.logits },
              { M: rows, N: V, K: C, offA: start * C },
              1,
              'none',
              // The loss sums a split product's partials itself where splitSumFoldOn.
              !splitSumFoldOn(),
            )
          : w.wte.map((piece) =>
              prepareMatmul(
                this.gpu,
                { a: acts.lnfOut, b: piece.buffer, c: acts.logits },
                { M: rows, N: piece.rows, K: C, offA: start * C, offC: piece.first, ldC: V },
                { TRANS_B: 1 },
              ),
            );
      // Split, the loss can read the partial products itself (`mask` stands in for them otherwise).
      const parts = w.wte.length === 1 && splitSumFoldOn() ? this.splitOf(rows, V, C) : 1;
      const { targets, mask } = this.inputs;
      const loss = this.gpu.prepare(
        crossEntropy,
        {
          logits: acts.logits,
          targets,
          mask,
          rowLoss: acts.rowLoss,
          partial: parts > 1 ? this.productScratch : mask,
        },
        { rows: shape.Bt * shape.T, V, first: start, jobs: rows, invCount },
        { WG: this.rowThreads(V / 2), ...(parts > 1 ? { PARTS: parts } : {}) },
      );
      // Split, `logits` is [partial products, their sum] (prepareMatmulSplitK): the loss runs the first alone.
      if (parts > 1 && logits.length !== 2)
        throw new Error('LM head: a split product is not partials and sum');
      const lossLogits = parts > 1 ? logits.slice(0, 1) : logits;
      // One piece of wte: one product, or, split (dLnSplit), only its partial products, for ln_f's backward.
      const one = { a: acts.logits, b: w.wte[0].buffer };
      const p = { M: rows, N: C, K: V };
      const onePiece = (): Dispatch[] =>
        dLnSplit > 1
          ? [prepareMatmulSplitKPartials(this.gpu, one, p, {}, dLnSplit, this.productScratch)]
          : this.product({ ...one, c: acts.dLn }, { ...p, offC: start * C }, 0);
      // Else K = V split by the pieces: the first product writes dLn's rows, the others add to them (beta 1).
      const dLn =
        w.wte.length === 1
          ? onePiece()
          : w.wte.map((piece, i) =>
              prepareMatmul(
                this.gpu,
                { a: acts.logits, b: piece.buffer, c: acts.dLn },
                {
                  M: rows,
                  N: C,
                  K: piece.rows,
                  offA: piece.first,
                  ldA: V,
                  offC: start * C,
                  beta: i === 0 ? 0 : 1,
                },
              ),
            );
      return { start, rows, logits, lossLogits, loss, dLn };
    });
    const lossSums = this.gpu.prepare(
      runSums,
      { x: acts.rowLoss, sums: this.lossSums, flags: this.lossFlags },
      { R: shape.R, n: shape.Bt * shape.T, square: 0 },
    );
    return { body: d, head, lossSums };
  }

  /**
   * Chunks of the LM head's dLn = dlogits · wte (K = V) whose partial products the head leaves for the
   * backward's ln_f to sum (layerNormBackwardSum: one dispatch less), or 1 when the head stores dLn: split
   * only with one chunk of rows and one piece of wte, where dLn is one packed product.
   */
  private dLnSplit(): number {
    if (this.headRows < this.rows || this.weights.wte.length > 1 || !layerNormSumFold()) return 1;
    return this.splitOf(this.rows, this.cfg.n_embd, this.cfg.vocab_size);
  }

  /**
   * Backward from dLn (the gradient at the final LayerNorm's output, which the forward's head leaves, chunk
   * by chunk, or as partial products right before: lossDispatches with `gradient`) to dA, dB of every
   * adapter. `last`, given the dA that no pair took (the backward's last dispatch), may return a dispatch that
   * does it and more (the sweep's loraReduceGuard); null or absent leaves it a loraReduce of its own.
   */
  backward(last?: (pending: LoraPendingA) => Dispatch | null): Dispatch[] {
    this.chain = { pending: null };
    try {
      const d = this.backwardModules();
      // The last module's dA (in backward order), which no pair after it took.
      const pending = this.chain.pending;
      if (pending) d.push(last?.(pending) ?? prepareLoraReduceA(this.gpu, pending));
      return d;
    } finally {
      this.chain = null;
    }
  }

  private backwardModules(): Dispatch[] {
    const { cfg, acts, weights: w } = this;
    const C = cfg.n_embd;
    const d: Dispatch[] = [];
    const lnf = { x: acts.residual[cfg.n_layer], gamma: w.lnfg, mean: acts.lnfMean, rstd: acts.lnfRstd };
    const dLnSplit = this.dLnSplit();
    d.push(
      dLnSplit > 1
        ? this.lnBackwardSum(dLnSplit, lnf, false)
        : this.lnBackward(acts.dLn, lnf.x, lnf.gamma, lnf.mean, lnf.rstd, acts.dRes, false),
    );
    const lowest = Math.min(...this.layout.adapters.map((a) => a.layer));
    // In the lowest adapted layer the backward stops at its last adapted module (in backward order):
    // below it only frozen weights remain, so no dx is needed there (issue 16: at lab-gpt's c_attn,
    // one base product and one LoRA product less per step).
    const order = BACKWARD_ORDER;
    const lastAdapted = Math.max(...order.map((t, i) => (this.adapter(lowest, t) ? i : -1)));
    for (let l = cfg.n_layer - 1; l >= lowest; l--) {
      const lw = w.layers[l];
      const la = acts.layers[l];
      // Whether module `order[i]` of this layer must pass its gradient on to its input.
      const dxOf = (i: number) => l > lowest || i < lastAdapted;
      // h_{l+1} = resMid + mlp(ln2(resMid)): dRes flows to both.
      // dFcPre = (dRes·Wᵀ) ⊙ gelu'(fcPre): the gelu gradient is the epilogue of the product completing it,
      // with gelu' as c_fc's forward epilogue stored it (fcSlope).
      const geluGrad = { epilogue: 'geluGrad', aux: la.fcSlope } as const;
      d.push(
        ...this.linearBackward(
          l,
          'mlp.c_proj',
          la.fcOut,
          acts.dRes,
          dxWeight(lw, 'mprojW'),
          acts.dFcPre,
          4 * C,
          C,
          geluGrad,
          dxOf(0),
        ),
      );
      if (!dxOf(0)) break;
      const ln2 = { x: la.resMid, gamma: lw.ln2g, mean: la.ln2Mean, rstd: la.ln2Rstd };
      const fcLn = dxOf(1) ? ln2 : undefined;
      d.push(
        ...this.linearLnBackward(l, 'mlp.c_fc', la.ln2Out, acts.dFcPre, dxWeight(lw, 'fcW'), C, 4 * C, fcLn),
      );
      if (!dxOf(1)) break;
      // resMid = h_l + c_proj(attn(ln1(h_l)))
      const doutParts = dxOf(2) ? this.attentionDoutParts(l) : 1;
      if (doutParts > 1) {
        // dAttnOut's partial products only: the attention backward adds them up as it reads dO.
        const p = { M: this.rows, N: C, K: C };
        const W = dxWeight(lw, 'projW');
        const one = { a: acts.dRes, b: W.b };
        d.push(
          prepareMatmulSplitKPartials(
            this.gpu,
            one,
            p,
            { TRANS_B: W.transB },
            doutParts,
            this.productScratch,
          ),
        );
      } else
        d.push(
          ...this.linearBackward(
            l,
            'attn.c_proj',
            la.attnOut,
            acts.dRes,
            dxWeight(lw, 'projW'),
            acts.dAttnOut,
            C,
            C,
            undefined,
            dxOf(2),
          ),
        );
      if (!dxOf(2)) break;
      d.push(...this.attentionBackward(l, doutParts));
      // dxOf(3) is l > lowest: the lowest layer's c_attn passes no dx down, only its LoRA gradients.
      const ln1 = { x: acts.residual[l], gamma: lw.ln1g, mean: la.ln1Mean, rstd: la.ln1Rstd };
      const attnLn = dxOf(3) ? ln1 : undefined;
      d.push(
        ...this.linearLnBackward(l, 'c_attn', la.ln1Out, acts.dQkv, dxWeight(lw, 'attnW'), C, 3 * C, attnLn),
      );
    }
    return d;
  }
}
