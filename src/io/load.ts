// Base model loading: config.json (HF GPT-2 keys) + weights from an ONNX file's initializers or safetensors.
import { readOnnxWeights } from './onnx';
import { readSafetensors, readSafetensorsHeader } from './safetensors';
import { parameterShapes, parseConfig, type LabGptConfig, type Weights } from '../model/config';
import { byteTokenizer, type TextTokenizer } from '../data/tokenizer';

export interface BaseModel {
  name: string;
  cfg: LabGptConfig;
  weights: Weights;
  /** Bytes for the built-in models (vocab_size 256); a checkpoint's tokenizer.json otherwise. */
  tokenizer: TextTokenizer;
}

/** Check every parameter of the config is present with its shape; extra initializers are ignored. */
export function checkWeights(
  cfg: LabGptConfig,
  tensors: Map<string, { dims: number[]; data: Float32Array }>,
  source: string,
): Weights {
  const w: Weights = new Map();
  for (const [name, shape] of parameterShapes(cfg)) {
    const t = tensors.get(name);
    if (!t) {
      const some = [...tensors.keys()].slice(0, 3).map((k) => `"${k}"`);
      const has =
        some.length === 0 ? 'no float32 weights' : `${tensors.size} weights, e.g. ${some.join(', ')}`;
      throw new Error(`${source}: missing weight ${name} (the file has ${has}): is it a GPT-2 checkpoint?`);
    }
    if (t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i])) {
      throw new Error(
        `${source}: ${name} has shape [${t.dims.join(', ')}], the config needs [${shape.join(', ')}]`,
      );
    }
    w.set(name, t.data);
  }
  return w;
}

function missingWeight(source: string, name: string, names: string[]): Error {
  const some = names.slice(0, 3).map((k) => `"${k}"`);
  const has = some.length === 0 ? 'no float32 weights' : `${names.length} weights, e.g. ${some.join(', ')}`;
  return new Error(`${source}: missing weight ${name} (the file has ${has}): is it a GPT-2 checkpoint?`);
}

export function loadBaseModel(
  name: string,
  configJson: string,
  weightBytes: Uint8Array,
  format: 'onnx' | 'safetensors',
  tokenizer?: TextTokenizer,
): BaseModel {
  let json: unknown;
  try {
    json = JSON.parse(configJson);
  } catch (e) {
    throw new Error(`${name}: config.json is not valid JSON (${(e as Error).message})`);
  }
  let cfg: LabGptConfig;
  try {
    cfg = parseConfig(json);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  if (tokenizer === undefined && cfg.vocab_size > 256)
    throw new Error(
      `${name}: vocab_size is ${cfg.vocab_size}, more than the 256 bytes of a byte-level model: open its tokenizer.json with it`,
    );
  const tok = tokenizer ?? byteTokenizer;
  // (Test models with fewer than 256 embeddings stay byte models: their data is made of small bytes.)
  if (tokenizer !== undefined && tok.vocabSize > cfg.vocab_size)
    throw new Error(
      `${name}: the tokenizer has ${tok.vocabSize} ids but the model's vocab_size is ${cfg.vocab_size}: the tokenizer is not this model's`,
    );
  const tensors =
    format === 'onnx' ? readOnnxWeights(weightBytes) : safetensorsWeights(name, cfg, weightBytes);
  return { name, cfg, weights: checkWeights(cfg, tensors, name), tokenizer: tok };
}

/**
 * The parameters from a safetensors checkpoint. Only those the model uses are converted (a checkpoint may
 * carry other tensors, e.g. attention-mask buffers of a dtype we do not read). Checkpoints saved from
 * GPT2Model, as the Hugging Face hub's "gpt2" is, name them without the "transformer." prefix.
 */
function safetensorsWeights(
  source: string,
  cfg: LabGptConfig,
  bytes: Uint8Array,
): Map<string, { dims: number[]; data: Float32Array }> {
  const needed = new Set(parameterShapes(cfg).keys());
  const { tensors: header } = readSafetensorsHeader(bytes);
  const bare = !header.has('transformer.wte.weight') && header.has('wte.weight');
  const full = (k: string) => (bare ? `transformer.${k}` : k);
  const stored = (k: string) => (bare ? k.replace(/^transformer\./, '') : k);
  for (const n of needed) if (!header.has(stored(n))) throw missingWeight(source, n, [...header.keys()]);
  const { tensors } = readSafetensors(bytes, (k) => needed.has(full(k)));
  return new Map([...tensors].map(([k, t]) => [full(k), { dims: t.shape, data: t.data }]));
}
