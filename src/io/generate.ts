// Text generation with onnxruntime-web from a GPT-2 ONNX graph: a shipped (or merged) lab-gpt, or one
// written from a checkpoint's weights (onnx-graph.ts).
//
// The graph maps input_ids [batch, seq] int64 to logits [batch, seq, vocab] float32 (tools/pretrain.py).
// Generation works on the model's token ids (UTF-8 bytes for the built-in models, a tokenizer.json's ids
// for a user's checkpoint) and decodes once at the end: a character cut by maxTokens or a sampled invalid
// byte sequence shows as U+FFFD instead of throwing.
//
// There is no KV cache in the graph: each new token re-runs the whole (cropped) window. That is O(T²) per
// token, acceptable for the small models and short samples this project shows.
//
// `onnxruntime-web/wasm` is ORT's CPU-only build, the one the page ships (src/train/ort-page.ts): Node
// (the CLI, the tests) runs the same JavaScript and the same ort-wasm-simd-threaded.wasm as the page.
import * as ort from 'onnxruntime-web/wasm';
import { readOnnxWeights } from './onnx';
import { mulberry32 } from '../util/random';
import { byteTokenizer, type TextTokenizer } from '../data/tokenizer';

export interface GenerateOptions {
  /** Tokens to generate (bytes for a byte model). */
  maxTokens: number;
  /** Softmax temperature; 0 means greedy (argmax, lowest index on ties). Default 1. */
  temperature?: number;
  /** Sample only among the k most likely tokens; 0 or undefined: the whole vocabulary. */
  topK?: number;
  /** Seed of the sampler: the same seed, model and prompt give the same text. Default 0. */
  seed?: number;
  /**
   * Positions the model accepts (config.json n_positions). When model bytes are given and this is
   * left out it is read from the graph's `transformer.wpe.weight` initializer; with a session it is
   * required.
   */
  contextLength?: number;
  /** Stop after generating this byte (e.g. 10, "\n", which ends an example in jsonl datasets). */
  stopByte?: number;
  /**
   * The model's tokenizer: it encodes the prompt and decodes the generated ids, and its vocabulary bounds
   * the ids. UTF-8 bytes (the built-in models') when left out.
   */
  tokenizer?: TextTokenizer;
  /**
   * Stop once the generated ids end with one of these id sequences (kept in the text): e.g. the
   * tokenizer's `separator` (the encoding of "\n", which ends a dataset's example) or `[eos]`.
   */
  stopSequences?: readonly (readonly number[])[];
}

export interface Logits {
  /** [batch, seq, vocab]. */
  dims: number[];
  data: Float32Array;
}

let envReady = false;
function prepareEnv(): void {
  if (envReady) return;
  envReady = true;
  // Node has no cross-origin isolation to negotiate and the threaded build's workers are not worth
  // their start-up for these model sizes; one thread also keeps results independent of the machine.
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (isNode) ort.env.wasm.numThreads = 1;
}

/** An onnxruntime-web session (wasm backend) for ONNX model bytes. */
export async function createSession(model: Uint8Array): Promise<ort.InferenceSession> {
  prepareEnv();
  return ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
}

/** Logits of the graph for a batch of equally long token sequences (ids below `vocabSize`). */
export async function runLogits(
  session: ort.InferenceSession,
  inputIds: number[][],
  vocabSize = 256,
): Promise<Logits> {
  const batch = inputIds.length;
  const seq = inputIds[0]?.length ?? 0;
  if (batch === 0 || seq === 0) throw new Error('runLogits: empty input');
  const ids = new BigInt64Array(batch * seq);
  inputIds.forEach((row, b) => {
    if (row.length !== seq) throw new Error('runLogits: rows of different lengths');
    row.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= vocabSize)
        throw new Error(
          vocabSize === 256
            ? `runLogits: token ${t} is not a byte`
            : `runLogits: token ${t} is not below ${vocabSize}`,
        );
      ids[b * seq + i] = BigInt(t);
    });
  });
  const out = await session.run({ input_ids: new ort.Tensor('int64', ids, [batch, seq]) });
  const logits = out.logits;
  if (!logits || logits.type !== 'float32')
    throw new Error('runLogits: the graph has no float32 "logits" output');
  return { dims: [...logits.dims], data: logits.data as Float32Array };
}

/**
 * Continue `prompt` by up to `maxTokens` tokens; returns only the generated continuation, decoded by the
 * tokenizer (UTF-8 bytes with invalid sequences replaced, by default). An empty prompt starts from the
 * tokenizer's separator ("\n").
 */
export async function generate(
  model: ort.InferenceSession | Uint8Array,
  prompt: string,
  options: GenerateOptions,
): Promise<string> {
  const { maxTokens, temperature = 1, topK = 0, seed = 0, stopByte, tokenizer = byteTokenizer } = options;
  const stops = [...(options.stopSequences ?? []), ...(stopByte === undefined ? [] : [[stopByte]])].filter(
    (s) => s.length > 0,
  );
  if (!Number.isInteger(maxTokens) || maxTokens < 0)
    throw new Error('generate: maxTokens must be an integer >= 0');
  if (!(temperature >= 0)) throw new Error('generate: temperature must be >= 0');
  if (!Number.isInteger(topK) || topK < 0) throw new Error('generate: topK must be an integer >= 0');
  let contextLength = options.contextLength;
  let session: ort.InferenceSession;
  if (model instanceof Uint8Array) {
    contextLength ??= positionsOf(model);
    session = await createSession(model);
  } else {
    session = model;
  }
  if (contextLength === undefined || !Number.isInteger(contextLength) || contextLength < 1)
    throw new Error('generate: give contextLength (the model config n_positions) with a session');

  const tokens = tokenizer.encode(prompt);
  if (tokens.length === 0) tokens.push(...tokenizer.separator);
  const promptLength = tokens.length;
  const endsWith = (seq: readonly number[]) =>
    tokens.length - promptLength >= seq.length &&
    seq.every((t, i) => tokens[tokens.length - seq.length + i] === t);
  const rand = mulberry32(seed);
  for (let n = 0; n < maxTokens; n++) {
    const window = tokens.slice(-contextLength);
    const { dims, data } = await runLogits(session, [window], tokenizer.vocabSize);
    const vocab = dims[2];
    // A model may have more embeddings than its tokenizer has ids (a padded vocab_size): never sample those.
    const from = (window.length - 1) * vocab;
    const last = data.subarray(from, from + Math.min(vocab, tokenizer.vocabSize));
    const next = temperature === 0 ? argmax(last) : sampleFrom(last, temperature, topK, rand());
    tokens.push(next);
    if (stops.some(endsWith)) break;
  }
  return tokenizer.decode(tokens.slice(promptLength));
}

function argmax(xs: Float32Array): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** Inverse-CDF sampling from softmax(logits / temperature) restricted to the top k, in float64. */
export function sampleFrom(logits: Float32Array, temperature: number, topK: number, u: number): number {
  const order = Array.from(logits.keys());
  let keep = order;
  if (topK > 0 && topK < logits.length) {
    // Stable sort by descending logit: ties keep the lower id first, so the cut is deterministic.
    keep = order.sort((a, b) => logits[b] - logits[a] || a - b).slice(0, topK);
  }
  let max = -Infinity;
  for (const i of keep) max = Math.max(max, logits[i]);
  const weights = keep.map((i) => Math.exp((logits[i] - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  const target = u * total;
  for (let j = 0; j < keep.length; j++) {
    acc += weights[j];
    if (target < acc) return keep[j];
  }
  return keep[keep.length - 1];
}

/** n_positions of a GPT-2 ONNX: the first dim of its `transformer.wpe.weight` initializer. */
function positionsOf(model: Uint8Array): number {
  const wpe = readOnnxWeights(model).get('transformer.wpe.weight');
  if (!wpe) throw new Error('generate: no transformer.wpe.weight initializer; give contextLength');
  return wpe.dims[0];
}
