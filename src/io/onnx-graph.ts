// A GPT-2 ONNX graph written from weights: what onnxruntime-web runs to generate text from a checkpoint
// that came without one (a user's model.safetensors), and the merged model's `.onnx` export.
//
// The graph is that of tools/pretrain.py's export (opset 17): input_ids [batch, sequence] int64 →
// logits [batch, sequence, vocab_size] float32, with Hugging Face GPT-2's weight names as initializers,
// so readOnnxWeights and replaceOnnxWeights read and rewrite it like a shipped model. The vocabulary,
// widths and depth come from the config; nothing assumes bytes. No KV cache (see generate.ts).
import * as onnxModule from 'onnx-proto';
import { parameterShapes, type LabGptConfig, type Weights } from '../model/config';
import { concat, encodeVarint, float32ToLE } from './onnx';

const { onnx } = ((onnxModule as unknown as { default?: typeof onnxModule }).default ??
  onnxModule) as typeof onnxModule;

/** Protobuf, hence ONNX, cannot hold a message of 2 GiB or more (weights included). */
export const ONNX_MAX_BYTES = 2 ** 31 - 1;

/** A model whose ONNX would pass protobuf's 2 GiB limit. */
export class OnnxTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(
      `the model's weights take ${(bytes / 2 ** 30).toFixed(2)} GiB as float32, and an ONNX file holds at most 2 GiB ` +
        '(a protobuf limit): export it as .safetensors instead',
    );
    this.name = 'OnnxTooLargeError';
  }
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const ATTR_FLOAT = onnx.AttributeProto.AttributeType.FLOAT;
const ATTR_INT = onnx.AttributeProto.AttributeType.INT;
const ATTR_INTS = onnx.AttributeProto.AttributeType.INTS;
const GRAPH_INITIALIZER = 5;
const MODEL_GRAPH = 7;
const TENSOR_RAW_DATA = 9;

type Attr = { name: string; type: number; f?: number; i?: number; ints?: number[] };
type Node = { opType: string; input: string[]; output: string[]; name: string; attribute: Attr[] };

/** The nodes of a graph, each output named after the node that makes it. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly constants: { name: string; dataType: number; dims: number[]; values: number[] }[] = [];
  private count = 0;

  op(opType: string, input: string[], attrs: Attr[] = [], name?: string): string {
    const out = name ?? `${opType.toLowerCase()}_${this.count++}`;
    this.nodes.push({ opType, input, output: [out], name: out, attribute: attrs });
    return out;
  }

  int64(name: string, values: number[], scalar = false): string {
    this.constants.push({
      name: `const.${name}`,
      dataType: INT64,
      dims: scalar ? [] : [values.length],
      values,
    });
    return `const.${name}`;
  }

  float(name: string, value: number): string {
    this.constants.push({ name: `const.${name}`, dataType: FLOAT, dims: [], values: [value] });
    return `const.${name}`;
  }
}

const ints = (name: string, v: number[]): Attr => ({ name, type: ATTR_INTS, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: ATTR_INT, i: v });
const float = (name: string, v: number): Attr => ({ name, type: ATTR_FLOAT, f: v });

/** The nodes of GPT2LMHeadModel's forward pass (eval mode), named by the weights they read. */
function gpt2Nodes(cfg: LabGptConfig): GraphBuilder {
  const g = new GraphBuilder();
  const C = cfg.n_embd;
  const H = cfg.n_head;
  const D = C / H;
  const eps = cfg.layer_norm_epsilon;
  const layerNorm = (x: string, prefix: string) =>
    g.op(
      'LayerNormalization',
      [x, `${prefix}.weight`, `${prefix}.bias`],
      [int('axis', -1), float('epsilon', eps)],
    );
  const linear = (x: string, prefix: string) =>
    g.op('Add', [g.op('MatMul', [x, `${prefix}.weight`]), `${prefix}.bias`]); // Conv1D: x·W + b, W [in, out]

  // Positions 0..T-1 and the causal mask (key j visible from query i when j ≤ i), both from T.
  const seqLen = g.op('Squeeze', [g.op('Shape', ['input_ids'], [int('start', 1), int('end', 2)])]);
  const positions = g.op('Range', [g.int64('zero', [0], true), seqLen, g.int64('one', [1], true)]);
  const causal = g.op('LessOrEqual', [
    g.op('Unsqueeze', [positions, g.int64('axes0', [0])]), // [1, T]: key
    g.op('Unsqueeze', [positions, g.int64('axes1', [1])]), // [T, 1]: query
  ]);
  const masked = g.float('masked', -3.4028234663852886e38); // torch.finfo(float32).min, as GPT-2 fills
  const scale = g.float('sqrt_head_dim', Math.sqrt(D));
  const headShape = g.int64('head_shape', [0, 0, H, D]);
  const mergedShape = g.int64('merged_shape', [0, 0, C]);
  const split = g.int64('qkv_split', [C, C, C]);
  const half = g.float('half', 0.5);
  const one = g.float('one_f', 1);
  const cubic = g.float('gelu_cubic', 0.044715);
  const sqrt2OverPi = g.float('sqrt_2_over_pi', Math.sqrt(2 / Math.PI));

  let x = g.op('Add', [
    g.op('Gather', ['transformer.wte.weight', 'input_ids']), // [B, T, C]
    g.op('Gather', ['transformer.wpe.weight', positions]), // [T, C]
  ]);
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `transformer.h.${l}`;
    const qkv = linear(layerNorm(x, `${p}.ln_1`), `${p}.attn.c_attn`); // [B, T, 3C]
    const qkvNode = g.op('Split', [qkv, split], [int('axis', 2)]);
    const node = g.nodes[g.nodes.length - 1];
    node.output = [`${qkvNode}.q`, `${qkvNode}.k`, `${qkvNode}.v`];
    const heads = (t: string, perm: number[]) =>
      g.op('Transpose', [g.op('Reshape', [t, headShape])], [ints('perm', perm)]);
    const q = heads(node.output[0], [0, 2, 1, 3]); // [B, H, T, D]
    const kT = heads(node.output[1], [0, 2, 3, 1]); // [B, H, D, T]
    const v = heads(node.output[2], [0, 2, 1, 3]); // [B, H, T, D]
    const scores = g.op('Div', [g.op('MatMul', [q, kT]), scale]); // [B, H, T, T]
    const probs = g.op('Softmax', [g.op('Where', [causal, scores, masked])], [int('axis', -1)]);
    const y = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [probs, v])], [ints('perm', [0, 2, 1, 3])]),
      mergedShape,
    ]); // [B, T, C]
    x = g.op('Add', [x, linear(y, `${p}.attn.c_proj`)]);
    const h = linear(layerNorm(x, `${p}.ln_2`), `${p}.mlp.c_fc`); // [B, T, 4C]
    // gelu_new: 0.5·h·(1 + tanh(√(2/π)·(h + 0.044715·h³)))
    const h3 = g.op('Mul', [g.op('Mul', [h, h]), h]);
    const inner = g.op('Mul', [g.op('Add', [h, g.op('Mul', [h3, cubic])]), sqrt2OverPi]);
    const gelu = g.op('Mul', [g.op('Mul', [h, half]), g.op('Add', [g.op('Tanh', [inner]), one])]);
    x = g.op('Add', [x, linear(gelu, `${p}.mlp.c_proj`)]);
  }
  // LM head tied to wte: [B·T, C] · wteᵀ (Gemm transB reads wte [V, C] as it is), back to [B, T, V].
  const flat = g.op('Reshape', [layerNorm(x, 'transformer.ln_f'), g.int64('flat_shape', [-1, C])]);
  const logits2d = g.op('Gemm', [flat, 'transformer.wte.weight'], [int('transB', 1)]);
  const outShape = g.op(
    'Concat',
    [g.op('Shape', ['input_ids']), g.int64('vocab', [cfg.vocab_size])],
    [int('axis', 0)],
  );
  g.op('Reshape', [logits2d, outShape], [], 'logits');
  return g;
}

/** Bytes of the tensor header (name, dims, type) of a float initializer, raw_data to follow. */
function tensorHead(name: string, dims: number[]): Uint8Array {
  return onnx.TensorProto.encode({ name, dims, dataType: FLOAT }).finish();
}

/**
 * The ONNX model of a GPT-2 with these weights (every parameter of `parameterShapes(cfg)`). Written
 * straight into one buffer: a gpt2-medium is 1.4 GB. Above 2 GiB: OnnxTooLargeError.
 */
export function writeGpt2Onnx(cfg: LabGptConfig, weights: Weights): Uint8Array {
  // Before anything is built: a model this large should fail at once, not after a copy of its weights.
  let weightBytes = 0;
  for (const shape of parameterShapes(cfg).values()) weightBytes += 4 * shape.reduce((a, b) => a * b, 1);
  if (weightBytes > ONNX_MAX_BYTES) throw new OnnxTooLargeError(weightBytes);
  const g = gpt2Nodes(cfg);
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const valueInfo = (name: string, elemType: number, dims: (number | string)[]) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map(dim) } } },
  });
  const graphHead = onnx.GraphProto.encode({
    name: 'gpt2',
    node: g.nodes,
    input: [valueInfo('input_ids', INT64, ['batch', 'sequence'])],
    output: [valueInfo('logits', FLOAT, ['batch', 'sequence', cfg.vocab_size])],
    initializer: g.constants.map((c) =>
      c.dataType === INT64
        ? { name: c.name, dims: c.dims, dataType: INT64, int64Data: c.values }
        : { name: c.name, dims: c.dims, dataType: FLOAT, floatData: c.values },
    ),
  }).finish();
  const modelHead = onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'lora-lab',
    opsetImport: [{ domain: '', version: 17 }],
  }).finish();

  // Each weight: [initializer tag + length][tensor head][raw_data tag + length][float32 LE bytes].
  const parts: (Uint8Array | Float32Array)[] = [];
  let graphBytes = graphHead.length;
  for (const [name, shape] of parameterShapes(cfg)) {
    const data = weights.get(name);
    if (!data) throw new Error(`onnx: the weights have no ${name}`);
    const head = tensorHead(name, shape);
    const rawField = concat([encodeVarint(TENSOR_RAW_DATA * 8 + 2), encodeVarint(data.byteLength)]);
    const tensorBytes = head.length + rawField.length + data.byteLength;
    const initField = concat([encodeVarint(GRAPH_INITIALIZER * 8 + 2), encodeVarint(tensorBytes)]);
    parts.push(initField, head, rawField, data);
    graphBytes += initField.length + tensorBytes;
  }
  const graphField = concat([encodeVarint(MODEL_GRAPH * 8 + 2), encodeVarint(graphBytes)]);
  const total = modelHead.length + graphField.length + graphBytes;
  if (total > ONNX_MAX_BYTES) throw new OnnxTooLargeError(total);

  const out = new Uint8Array(total);
  let at = 0;
  const put = (p: Uint8Array | Float32Array) => {
    out.set(p instanceof Uint8Array ? p : float32ToLE(p), at);
    at += p.byteLength;
  };
  put(modelHead);
  put(graphField);
  put(graphHead);
  for (const p of parts) put(p);
  return out;
}
