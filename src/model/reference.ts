// Float64 CPU reference of lab-gpt (HF GPT2LMHeadModel) with LoRA: forward, masked mean loss, and a
// hand-written backward to the LoRA factors only (llm.c style). The ground truth the GPU engine is tested against.
import type { LabGptConfig, Weights } from './config';
import { findAdapter, type LoraLayout, type LoraTarget } from './lora-layout';
import {
  attentionBackward,
  attentionForward,
  geluBackward,
  geluForward,
  layerNormBackward,
  layerNormForward,
  linearBackward,
  linearForward,
  lmHeadLoss,
  loraBackward,
  loraForwardAdd,
  type LayerNormOut,
  type LoraFactors,
} from './reference-layers';

export interface ReferenceBatch {
  /** [Bt, T] input bytes. */
  tokens: Uint32Array;
  /** [Bt, T] next bytes. */
  targets: Uint32Array;
  /** [Bt, T] loss weight of each position (1 = counted, 0 = ignored). */
  mask: Float32Array;
  Bt: number;
  T: number;
}

export interface ReferenceOptions {
  /** Compute dA, dB (default true). */
  backward?: boolean;
  /** Return the logits [Bt, T, V] (default false). */
  logits?: boolean;
}

export interface ReferenceResult {
  /** Σ mask · rowLoss / Σ mask. */
  loss: number;
  /** [Bt, T] −log p(target) of every position, masked or not. */
  rowLoss: Float64Array;
  /** Gradient of `loss` w.r.t. one run's loraA [SA] (length 0 when backward is false). */
  dA: Float64Array;
  /** Gradient of `loss` w.r.t. one run's loraB [SB] (length 0 when backward is false). */
  dB: Float64Array;
  /** [Bt, T, V], only when asked for. */
  logits?: Float64Array;
}

type Vec = ArrayLike<number>;

/** What one block's backward needs from its forward. */
interface BlockActs {
  hIn: Float64Array;
  ln1: LayerNormOut;
  qkv: Float64Array;
  probs: Float64Array;
  attnOut: Float64Array;
  hMid: Float64Array;
  ln2: LayerNormOut;
  fcPre: Float64Array;
  fcAct: Float64Array;
}

function weight(weights: Weights, name: string, length: number): Float32Array {
  const w = weights.get(name);
  if (!w) throw new Error(`reference: missing weight ${name}`);
  if (w.length !== length) throw new Error(`reference: ${name} has ${w.length} elements, expected ${length}`);
  return w;
}

function validate(cfg: LabGptConfig, layout: LoraLayout, A: Vec, B: Vec, batch: ReferenceBatch): void {
  const { Bt, T } = batch;
  const n = Bt * T;
  if (T < 1 || T > cfg.n_positions) throw new Error(`reference: T=${T} outside 1..${cfg.n_positions}`);
  if (batch.tokens.length !== n || batch.targets.length !== n || batch.mask.length !== n)
    throw new Error(`reference: tokens, targets and mask must have Bt·T = ${n} elements`);
  if (A.length !== layout.SA || B.length !== layout.SB)
    throw new Error(`reference: A, B must have SA=${layout.SA}, SB=${layout.SB} elements`);
  for (let i = 0; i < n; i++) {
    if (batch.tokens[i] >= cfg.vocab_size || batch.targets[i] >= cfg.vocab_size)
      throw new Error(`reference: token or target at ${i} outside the vocabulary`);
  }
}

/**
 * Loss of one run's LoRA (A [SA], B [SB] in the layout of `layout`) on one batch, and its gradients
 * with respect to A and B. Frozen base weights get no gradient.
 */
export function referenceLoss(
  cfg: LabGptConfig,
  weights: Weights,
  layout: LoraLayout,
  A: Float64Array | Float32Array,
  B: Float64Array | Float32Array,
  batch: ReferenceBatch,
  options: ReferenceOptions = {},
): ReferenceResult {
  validate(cfg, layout, A, B, batch);
  const backward = options.backward ?? true;
  const { Bt, T } = batch;
  const C = cfg.n_embd;
  const H = cfg.n_head;
  const V = cfg.vocab_size;
  const N = Bt * T;
  const eps = cfg.layer_norm_epsilon;
  const w = (name: string, length: number) => weight(weights, name, length);
  const wte = w('transformer.wte.weight', V * C);
  const wpe = w('transformer.wpe.weight', cfg.n_positions * C);

  const factors = (layer: number, target: LoraTarget): LoraFactors | undefined => {
    const ad = findAdapter(layout, layer, target);
    if (!ad) return undefined;
    return { A, B, offA: ad.offA, offB: ad.offB, r: layout.r, scale: layout.scale };
  };
  // A Conv1D of the block, plus its adapter when the layout targets it.
  const project = (x: Vec, layer: number, name: string, target: LoraTarget, I: number, O: number) => {
    const p = `transformer.h.${layer}.${name}`;
    const y = linearForward(x, w(`${p}.weight`, I * O), w(`${p}.bias`, O), N, I, O);
    const f = factors(layer, target);
    if (f) loraForwardAdd(y, x, f, N, I, O);
    return y;
  };

  // h = wte[token] + wpe[position]
  let h = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const tok = batch.tokens[n];
    const pos = n % T;
    for (let c = 0; c < C; c++) h[n * C + c] = wte[tok * C + c] + wpe[pos * C + c];
  }

  const acts: BlockActs[] = [];
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `transformer.h.${l}`;
    const hIn = h;
    const ln1 = layerNormForward(hIn, w(`${p}.ln_1.weight`, C), w(`${p}.ln_1.bias`, C), N, C, eps);
    const qkv = project(ln1.y, l, 'attn.c_attn', 'c_attn', C, 3 * C);
    const { out: attnOut, probs } = attentionForward(qkv, Bt, T, C, H);
    const attnProj = project(attnOut, l, 'attn.c_proj', 'attn.c_proj', C, C);
    const hMid = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) hMid[i] = hIn[i] + attnProj[i];
    const ln2 = layerNormForward(hMid, w(`${p}.ln_2.weight`, C), w(`${p}.ln_2.bias`, C), N, C, eps);
    const fcPre = project(ln2.y, l, 'mlp.c_fc', 'mlp.c_fc', C, 4 * C);
    const fcAct = geluForward(fcPre);
    const mlpOut = project(fcAct, l, 'mlp.c_proj', 'mlp.c_proj', 4 * C, C);
    h = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) h[i] = hMid[i] + mlpOut[i];
    acts.push({ hIn, ln1, qkv, probs, attnOut, hMid, ln2, fcPre, fcAct });
  }

  const lnfW = w('transformer.ln_f.weight', C);
  const lnf = layerNormForward(h, lnfW, w('transformer.ln_f.bias', C), N, C, eps);
  const head = lmHeadLoss(lnf.y, wte, batch.targets, batch.mask, N, C, V, backward);
  const result: ReferenceResult = {
    loss: head.loss,
    rowLoss: head.rowLoss,
    dA: new Float64Array(backward ? layout.SA : 0),
    dB: new Float64Array(backward ? layout.SB : 0),
  };
  if (options.logits) result.logits = head.logits;
  if (!backward) return result;

  const { dA, dB } = result;
  // Input gradient of a Conv1D of the block, plus its adapter's share and the adapter's dA, dB.
  const projectBack = (
    dy: Vec,
    x: Vec,
    layer: number,
    name: string,
    target: LoraTarget,
    I: number,
    O: number,
  ) => {
    const dx = linearBackward(dy, w(`transformer.h.${layer}.${name}.weight`, I * O), N, I, O);
    const f = factors(layer, target);
    if (f) loraBackward(dy, x, f, N, I, O, dx, dA, dB);
    return dx;
  };

  // dh: gradient of the loss w.r.t. the residual stream after the current block.
  let dh = layerNormBackward(head.dx, h, lnfW, lnf, N, C);
  for (let l = cfg.n_layer - 1; l >= 0; l--) {
    const a = acts[l];
    const p = `transformer.h.${l}`;
    // h = hMid + mlp_c_proj(gelu(c_fc(ln_2(hMid))))
    const dFcAct = projectBack(dh, a.fcAct, l, 'mlp.c_proj', 'mlp.c_proj', 4 * C, C);
    const dFcPre = geluBackward(a.fcPre, dFcAct);
    const dLn2 = projectBack(dFcPre, a.ln2.y, l, 'mlp.c_fc', 'mlp.c_fc', C, 4 * C);
    const dHMid = layerNormBackward(dLn2, a.hMid, w(`${p}.ln_2.weight`, C), a.ln2, N, C);
    for (let i = 0; i < N * C; i++) dHMid[i] += dh[i];
    // hMid = hIn + attn_c_proj(attention(c_attn(ln_1(hIn))))
    const dAttnOut = projectBack(dHMid, a.attnOut, l, 'attn.c_proj', 'attn.c_proj', C, C);
    const dQkv = attentionBackward(dAttnOut, a.qkv, a.probs, Bt, T, C, H);
    const dLn1 = projectBack(dQkv, a.ln1.y, l, 'attn.c_attn', 'c_attn', C, 3 * C);
    const dHIn = layerNormBackward(dLn1, a.hIn, w(`${p}.ln_1.weight`, C), a.ln1, N, C);
    for (let i = 0; i < N * C; i++) dHIn[i] += dHMid[i];
    dh = dHIn;
  }
  return result;
}
