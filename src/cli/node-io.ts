// Files on Node for the CLI: the built-in model, datasets and adapters.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBaseModel, type BaseModel } from '../io/load';
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

/** A model file (.onnx or .safetensors) with its config.json in the same folder. */
export function loadModelFile(path: string | undefined): BaseModel {
  const file = path ?? BUILTIN_MODEL;
  const ext = extname(file).toLowerCase();
  if (ext !== '.onnx' && ext !== '.safetensors')
    throw new UsageError(`--model must be a .onnx or .safetensors file (got ${file})`);
  const bytes = readFileOr2(file, 'model');
  const configPath = join(dirname(file), 'config.json');
  const config = readFileOr2(configPath, 'model config (config.json beside the model)').toString('utf8');
  const name = basename(dirname(file)) || basename(file);
  try {
    return loadBaseModel(
      name,
      config,
      new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      ext === '.onnx' ? 'onnx' : 'safetensors',
    );
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
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
