// A user's own GPT-2-family checkpoint from the files of a Hugging Face repository: config.json +
// model.safetensors + tokenizer.json (the page's "Open model files…" and the CLI's --model <dir>).
// Platform-neutral: the caller reads the files (File objects in the page, the file system in Node).
import { loadTokenizerJson, TokenizerError } from '../data/tokenizer';
import { loadBaseModel, type BaseModel } from './load';
import { parseConfig, type LabGptConfig } from '../model/config';

export interface ModelFile {
  /** The file's name; a path inside a dropped folder ("gpt2/config.json") is fine: the last part counts. */
  name: string;
  bytes: Uint8Array;
}

export interface UserModel extends BaseModel {
  /**
   * Where the name came from: config.json's `_name_or_path` when it is a hub id, else the folder, else
   * the model's shape in config.json (files chosen without a folder).
   */
  nameSource: '_name_or_path' | 'folder' | 'config';
  /** Parameters of the base model (tied LM head counted once). */
  parameters: number;
  /** The checkpoint's stored dtype of its weights (they are float32 on the GPU either way). */
  dtype: string;
}

/** What is wrong with the chosen files, in words for the user (the page shows it, the CLI exits 2). */
export class ModelFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFilesError';
  }
}

const baseName = (path: string): string => path.split(/[\\/]/).filter(Boolean).pop() ?? path;
const folderOf = (path: string): string | undefined => {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.length > 1 ? parts[parts.length - 2] : undefined;
};

export const CONVERT_TO_SAFETENSORS =
  'python3 -c "from transformers import AutoModelForCausalLM as M; ' +
  "M.from_pretrained('DIR').save_pretrained('DIR', safe_serialization=True)\"";
export const MAKE_TOKENIZER_JSON =
  'python3 -c "from transformers import AutoTokenizer as T; ' +
  "T.from_pretrained('DIR').save_pretrained('DIR')\"";

const text = (bytes: Uint8Array): string => new TextDecoder('utf-8').decode(bytes);

/**
 * Load a checkpoint from its files. `folder` names the model when config.json's `_name_or_path` is not a
 * hub id (a local path or empty); the folder of the first file with a path is used when it is not given.
 */
export function loadModelFiles(files: ModelFile[], folder?: string): UserModel {
  const byName = new Map<string, ModelFile>();
  for (const f of files) byName.set(baseName(f.name).toLowerCase(), f);
  const has = (n: string) => byName.has(n);
  const weights = byName.get('model.safetensors');
  if (!weights) {
    if (
      has('model.safetensors.index.json') ||
      [...byName.keys()].some((k) => /^model-\d+-of-\d+\.safetensors$/.test(k))
    )
      throw new ModelFilesError(
        'the checkpoint is split into several safetensors shards; save it as one model.safetensors ' +
          `(GPT-2 models up to gpt2-large fit one file): ${CONVERT_TO_SAFETENSORS.replace(', safe_serialization=True', ', safe_serialization=True, max_shard_size="100GB"')}`,
      );
    if (has('pytorch_model.bin') || has('tf_model.h5') || has('flax_model.msgpack'))
      throw new ModelFilesError(
        `only ${has('pytorch_model.bin') ? 'pytorch_model.bin' : has('tf_model.h5') ? 'tf_model.h5' : 'flax_model.msgpack'} was given, ` +
          'and this tool reads weights from model.safetensors only (a pickle file can run code when loaded). ' +
          `Convert it with transformers, DIR being the model's folder: ${CONVERT_TO_SAFETENSORS}`,
      );
    const some = [...byName.keys()].filter((k) => k.endsWith('.safetensors'));
    throw new ModelFilesError(
      some.length > 0
        ? `expected the weights in model.safetensors (got ${some.join(', ')}): rename the file`
        : 'model.safetensors is missing: choose model.safetensors, config.json and tokenizer.json together',
    );
  }
  const config = byName.get('config.json');
  if (!config)
    throw new ModelFilesError(
      'config.json is missing: choose it together with model.safetensors and tokenizer.json (the three files of the model folder)',
    );
  const tokenizerFile = byName.get('tokenizer.json');
  let configJson: Record<string, unknown>;
  try {
    configJson = JSON.parse(text(config.bytes)) as Record<string, unknown>;
  } catch (e) {
    throw new ModelFilesError(`config.json is not valid JSON (${(e as Error).message})`);
  }
  const named = typeof configJson?._name_or_path === 'string' ? configJson._name_or_path.trim() : '';
  // A hub id ("gpt2", "openai-community/gpt2", "distilbert/distilgpt2"); a local path is not a name.
  const hubId = /^[\w.-]+(\/[\w.-]+)?$/.test(named) && !named.startsWith('.') ? named : '';
  const dir = folder ?? files.map((f) => folderOf(f.name)).find((d) => d !== undefined);
  const name = hubId || dir || configName(configJson);
  const nameSource = hubId ? '_name_or_path' : dir ? 'folder' : 'config';
  const vocab = typeof configJson?.vocab_size === 'number' ? configJson.vocab_size : undefined;
  let tokenizer;
  if (tokenizerFile) {
    try {
      const tokConfig = byName.get('tokenizer_config.json');
      tokenizer = loadTokenizerJson(text(tokenizerFile.bytes), {
        modelVocab: vocab,
        config: tokConfig ? text(tokConfig.bytes) : undefined,
      });
    } catch (e) {
      if (e instanceof TokenizerError) throw new ModelFilesError(e.message);
      throw e;
    }
  } else if (vocab !== 256) {
    throw new ModelFilesError(
      has('vocab.json') && has('merges.txt')
        ? `tokenizer.json is missing (vocab.json + merges.txt are the older form): write it with transformers, DIR being the model's folder: ${MAKE_TOKENIZER_JSON}`
        : 'tokenizer.json is missing: choose it together with model.safetensors and config.json',
    );
  }
  let model: BaseModel;
  try {
    model = loadBaseModel(name, text(config.bytes), weights.bytes, 'safetensors', tokenizer);
  } catch (e) {
    throw new ModelFilesError((e as Error).message);
  }
  let parameters = 0;
  for (const w of model.weights.values()) parameters += w.length;
  return { ...model, nameSource, parameters, dtype: storedDtype(weights.bytes) };
}

/** GPT-2's vocabulary: a model with another says so in its name. */
const GPT2_VOCAB = 50257;

/** A model's name from its shape, e.g. "gpt2-12x768" (GPT-2 small), "gpt2-2x64-v1000". */
export function shapeName(cfg: LabGptConfig): string {
  const vocab = cfg.vocab_size === GPT2_VOCAB ? '' : `-v${cfg.vocab_size}`;
  return `gpt2-${cfg.n_layer}x${cfg.n_embd}${vocab}`;
}

/** shapeName of a config.json; 'model' for one that does not parse (loading it then says why). */
function configName(json: unknown): string {
  try {
    return shapeName(parseConfig(json));
  } catch {
    return 'model';
  }
}

/** The dtype most of the checkpoint's weights are stored in (read from the safetensors header). */
function storedDtype(bytes: Uint8Array): string {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(text(bytes.subarray(8, 8 + n))) as Record<string, { dtype?: string }>;
  const counts = new Map<string, number>();
  for (const [k, v] of Object.entries(header))
    if (k !== '__metadata__' && v.dtype) counts.set(v.dtype, (counts.get(v.dtype) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
}
