// Files on Node for the CLI: the built-in model, datasets and adapters.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBaseModel, type BaseModel } from '../io/load';
import { loadModelFiles, ModelFilesError, type ModelFile, type UserModel } from '../io/model-files';
import { readSafetensorsHeader } from '../io/safetensors';
import {
  MAX_DATASET_BYTES,
  MAX_DATASET_SIZE_TEXT,
  parseDataset,
  type ParsedDataset,
  type ParseOptions,
} from '../data/dataset';
import { DatasetError } from '../data/errors';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  importAdapter,
  type AdapterFallback,
  type ImportedAdapter,
} from '../io/peft';
import type { LabGptConfig } from '../model/config';
import { UsageError } from './args';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILTIN_MODEL = join(root, 'public/models/lab-gpt/model.onnx');

export function readFileOr2(path: string, what: string): Buffer {
  if (!existsSync(path)) throw new UsageError(`${what} not found: ${path}`);
  if (statSync(path).isDirectory()) throw new UsageError(`${what} is a directory, not a file: ${path}`);
  return readFileSync(path);
}

/** A model as the CLI loaded it: the engine's BaseModel, and where its files are (for exports). */
export interface CliModel extends BaseModel {
  /** The weights' format: the built-in ONNX graphs, or a checkpoint's safetensors. */
  format: 'onnx' | 'safetensors';
  /** The file the weights came from. */
  weightsPath: string;
  /** config.json, copied beside a merged export. */
  configPath: string;
  /** tokenizer.json (and tokenizer_config.json when there is one) of a tokenizer.json model. */
  tokenizerPaths: string[];
  /** Parameters (the tied LM head counted once). */
  parameters: number;
  /** The dtype the weights are stored in (float32 on the GPU either way). */
  dtype: string;
}

// The files of a model folder that are read; any other is passed by name only (for loadModelFiles' reasons).
const READ_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

/**
 * The --model: a folder holding model.safetensors + config.json + tokenizer.json (a Hugging Face GPT-2
 * checkpoint) or model.onnx + config.json (a built-in model), or one of those weight files with the rest
 * beside it. A .safetensors without tokenizer.json whose vocab_size is at most 256 is a byte model. Every
 * reason a model cannot be used is a UsageError (exit 2) of one line naming the path as given.
 */
export function loadModelFile(path: string | undefined): CliModel {
  const given = path ?? BUILTIN_MODEL;
  if (!existsSync(given)) throw new UsageError(`model not found: ${given}`);
  const isDir = statSync(given).isDirectory();
  let file = given;
  if (isDir) {
    const onnxFile = join(given, 'model.onnx');
    file =
      existsSync(onnxFile) && !existsSync(join(given, 'model.safetensors'))
        ? onnxFile
        : join(given, 'model.safetensors');
  }
  const ext = extname(file).toLowerCase();
  if (ext !== '.onnx' && ext !== '.safetensors')
    throw new UsageError(
      `--model must be a model folder (model.safetensors, config.json, tokenizer.json), or a .safetensors or .onnx file (got ${given})`,
    );
  const dir = dirname(file);
  const configPath = join(dir, 'config.json');
  const format = ext === '.onnx' ? 'onnx' : 'safetensors';
  const names = readdirSync(dir);
  const has = (n: string) => names.some((m) => m.toLowerCase() === n);
  if (format === 'safetensors' && (has('tokenizer.json') || !isByteVocab(configPath)))
    return checkpoint(given, file, dir, names);
  // A byte model: the built-in ONNX graphs, or a safetensors file of at most 256 ids.
  const bytes = readFileOr2(file, 'model');
  const config = readFileOr2(configPath, 'model config (config.json beside the model)').toString('utf8');
  const name = basename(dir) || basename(file);
  const weightBytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let model: BaseModel;
  try {
    model = loadBaseModel(name, config, weightBytes, format);
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
  return {
    ...model,
    format,
    weightsPath: file,
    configPath,
    tokenizerPaths: [],
    parameters: countParameters(model),
    dtype: format === 'onnx' ? 'F32' : storedDtype(weightBytes),
  };
}

/** config.json says vocab_size ≤ 256 (unreadable: let the loader say why). */
function isByteVocab(configPath: string): boolean {
  try {
    const v = (JSON.parse(readFileSync(configPath, 'utf8')) as { vocab_size?: unknown }).vocab_size;
    return typeof v === 'number' && v <= 256;
  } catch {
    return true;
  }
}

/** A Hugging Face checkpoint through loadModelFiles; `file` is read as its model.safetensors. */
function checkpoint(given: string, file: string, dir: string, names: string[]): CliModel {
  const files: ModelFile[] = [];
  for (const n of names) {
    const lower = n.toLowerCase();
    if (lower === 'model.safetensors') continue; // `file` is the weights, whatever its name
    const p = join(dir, n);
    files.push({
      name: n,
      bytes: READ_FILES.includes(lower) && statSync(p).isFile() ? readFileSync(p) : new Uint8Array(),
    });
  }
  if (existsSync(file)) files.push({ name: 'model.safetensors', bytes: readWeights(given, file) });
  let model: UserModel;
  try {
    model = loadModelFiles(files, basename(resolve(dir)));
  } catch (e) {
    if (e instanceof ModelFilesError) throw new UsageError(`${given}: ${e.message}`);
    throw new UsageError(`${given}: ${(e as Error).message}`);
  }
  const tokenizerPaths = names
    .filter((n) => ['tokenizer.json', 'tokenizer_config.json'].includes(n.toLowerCase()))
    .map((n) => join(dir, n));
  return {
    ...model,
    format: 'safetensors',
    weightsPath: file,
    configPath: join(dir, names.find((n) => n.toLowerCase() === 'config.json') ?? 'config.json'),
    tokenizerPaths,
  };
}

/** Node reads at most 2 GiB into one buffer: past that, say what fits instead of ERR_FS_FILE_TOO_LARGE. */
const MAX_READ_BYTES = 2 ** 31 - 1;

function readWeights(given: string, file: string): Uint8Array {
  const size = statSync(file).size;
  if (size > MAX_READ_BYTES)
    throw new UsageError(
      `${given}: ${basename(file)} is ${(size / 2 ** 30).toFixed(2)} GiB; this tool reads a weights file of at most 2 GiB ` +
        '(gpt2-medium in float32; save larger models in float16: model.half().save_pretrained(DIR))',
    );
  return readFileSync(file);
}

function countParameters(model: BaseModel): number {
  let n = 0;
  for (const w of model.weights.values()) n += w.length;
  return n;
}

/** The dtype most tensors of a safetensors file are stored in. */
function storedDtype(bytes: Uint8Array): string {
  const counts = new Map<string, number>();
  for (const t of readSafetensorsHeader(bytes).tensors.values())
    counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
}

/** "tiny-gpt2: 2 layers × 64, 0.11M parameters, vocabulary 1000 (tokenizer.json), F32". */
export function modelLine(m: CliModel): string {
  const p = m.parameters;
  const params =
    p >= 1e9
      ? `${(p / 1e9).toFixed(2)}B`
      : p >= 1e6
        ? `${(p / 1e6).toFixed(1)}M`
        : `${(p / 1e3).toFixed(1)}K`;
  const vocab = m.tokenizer.kind === 'bytes' ? 'bytes' : 'tokenizer.json';
  return `model: ${m.name}: ${m.cfg.n_layer} layers × ${m.cfg.n_embd}, ${params} parameters, vocabulary ${m.cfg.vocab_size} (${vocab}), ${m.dtype}`;
}

/**
 * A dataset file, parsed. Any bad input is a UsageError (exit 2) of one line naming the file as given, the
 * line and the reason; warnings (ignored keys, skipped lines) are for the caller to print.
 */
export function loadDatasetFile(path: string | undefined, options: ParseOptions = {}): ParsedDataset {
  if (!path) throw new UsageError('--data is required (a .txt, .jsonl or .csv file)');
  // Before reading: a file of gigabytes would fail in readFileSync itself, without a word about the limit.
  if (existsSync(path) && statSync(path).size > MAX_DATASET_BYTES) {
    const mib = (statSync(path).size / 2 ** 20).toFixed(1);
    throw new UsageError(
      `${path}: the file is ${mib} MiB; the limit is ${MAX_DATASET_SIZE_TEXT} (use a part of it)`,
    );
  }
  const bytes = readFileOr2(path, 'dataset');
  try {
    return parseDataset(
      basename(path),
      new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      undefined,
      options,
    );
  } catch (e) {
    if (e instanceof DatasetError)
      throw new UsageError(`${path}: ${e.line !== undefined ? `line ${e.line}: ` : ''}${e.reason}`);
    throw e;
  }
}

/**
 * A PEFT adapter: the .safetensors file (or a folder holding adapter_model.safetensors), with
 * adapter_config.json beside it when there is one. `fallback` serves when the files do not say lora_alpha.
 * Any bad file is a UsageError (exit 2) naming it.
 */
export function loadAdapterFile(
  path: string,
  cfg: LabGptConfig,
  fallback: AdapterFallback = {},
): ImportedAdapter {
  const weights = existsSync(path) && statSync(path).isDirectory() ? join(path, ADAPTER_WEIGHTS_FILE) : path;
  const bytes = readFileOr2(weights, 'adapter');
  const configPath = join(dirname(weights), ADAPTER_CONFIG_FILE);
  const config = existsSync(configPath) ? readFileSync(configPath, 'utf8') : undefined;
  try {
    return importAdapter(
      new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      config,
      cfg,
      fallback,
    );
  } catch (e) {
    throw new UsageError(`${weights}: ${(e as Error).message}`);
  }
}

export function writeFileMkdir(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/**
 * `--save-adapter x.safetensors` writes it, adapter_config.json and x.README.md beside; a folder gets
 * PEFT's two files and README.md.
 */
export function adapterPaths(target: string): { weights: string; config: string; readme: string } {
  if (target.toLowerCase().endsWith('.safetensors'))
    return {
      weights: target,
      config: join(dirname(target), 'adapter_config.json'),
      readme: target.replace(/\.safetensors$/i, '.README.md'),
    };
  return {
    weights: join(target, 'adapter_model.safetensors'),
    config: join(target, 'adapter_config.json'),
    readme: join(target, 'README.md'),
  };
}
