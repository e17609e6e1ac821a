// Files on Node for the CLI: the built-in model, datasets and adapters.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBaseModel, type BaseModel } from '../io/load';
import { parseDataset, type TokenizedDataset } from '../data/dataset';
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

export function loadDatasetFile(path: string | undefined): TokenizedDataset {
  if (!path) throw new UsageError('--data is required (a .txt, .jsonl or .csv file)');
  const bytes = readFileOr2(path, 'dataset');
  try {
    return parseDataset(basename(path), new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function writeFileMkdir(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/** `--save-adapter x.safetensors` writes it and adapter_config.json beside; a folder gets PEFT's two files. */
export function adapterPaths(target: string): { weights: string; config: string } {
  if (target.toLowerCase().endsWith('.safetensors'))
    return { weights: target, config: join(dirname(target), 'adapter_config.json') };
  return { weights: join(target, 'adapter_model.safetensors'), config: join(target, 'adapter_config.json') };
}
