// `lora-lab generate` (sample text with onnxruntime-web, from the base model or base + adapter) and
// `lora-lab export --merged` (the base ONNX with W0 + s·(BA)ᵀ written into its initializers).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generate } from '../io/generate';
import { mergedWeights } from '../io/merge';
import { replaceOnnxWeights } from '../io/onnx';
import { importAdapter } from '../io/peft';
import { isNonNegInt, num, parseFlags, str, UsageError, type FlagSpec } from './args';
import { BUILTIN_MODEL, loadModelFile, readFileOr2, writeFileMkdir } from './node-io';

export const GENERATE_FLAGS: FlagSpec[] = [
  {
    name: 'model',
    value: '<file.onnx>',
    help: 'base model (config.json beside it)',
    default: 'the built-in lab-gpt',
  },
  {
    name: 'adapter',
    value: '<dir-or-file>',
    help: 'a PEFT adapter (adapter_model.safetensors, or its folder) merged into the model',
  },
  { name: 'prompt', value: '<text>', help: 'the text to continue', default: '""' },
  { name: 'max-tokens', value: '<n>', help: 'bytes to generate', default: '200' },
  { name: 'temperature', value: '<t>', help: 'sampling temperature; 0 = greedy', default: '0.8' },
  { name: 'top-k', value: '<k>', help: 'sample among the k most likely bytes (0 = all)', default: '40' },
  { name: 'seed', value: '<n>', help: 'sampler seed', default: '0' },
  { name: 'help', help: 'this text' },
];

export const EXPORT_FLAGS: FlagSpec[] = [
  { name: 'merged', help: 'write the base model with the adapter merged into its weights (required)' },
  {
    name: 'model',
    value: '<file.onnx>',
    help: 'base model (config.json beside it)',
    default: 'the built-in lab-gpt',
  },
  { name: 'adapter', value: '<dir-or-file>', help: 'the PEFT adapter to merge' },
  { name: 'out', value: '<file.onnx>', help: 'the merged model', default: 'merged.onnx' },
  { name: 'help', help: 'this text' },
];

/** Base ONNX bytes with the adapter (if any) merged; also returns the model's context length. */
function mergedOnnx(
  modelPath: string | undefined,
  adapterPath: string | undefined,
): { onnx: Uint8Array; positions: number } {
  const file = modelPath ?? BUILTIN_MODEL;
  if (!file.toLowerCase().endsWith('.onnx'))
    throw new UsageError(`--model must be an .onnx file here (got ${file})`);
  const model = loadModelFile(file);
  const onnx = new Uint8Array(readFileSync(file));
  if (!adapterPath) return { onnx, positions: model.cfg.n_positions };
  const weightsPath =
    existsSync(adapterPath) && statSync(adapterPath).isDirectory()
      ? join(adapterPath, 'adapter_model.safetensors')
      : adapterPath;
  const bytes = readFileOr2(weightsPath, 'adapter');
  const cfgPath = join(dirname(weightsPath), 'adapter_config.json');
  let adapter;
  try {
    adapter = importAdapter(
      new Uint8Array(bytes),
      existsSync(cfgPath) ? readFileSync(cfgPath, 'utf8') : undefined,
      model.cfg,
    );
  } catch (e) {
    throw new UsageError(`${weightsPath}: ${(e as Error).message}`);
  }
  return {
    onnx: replaceOnnxWeights(onnx, mergedWeights(model.weights, adapter.layout, adapter.A, adapter.B)),
    positions: model.cfg.n_positions,
  };
}

export async function generateCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, GENERATE_FLAGS);
  if (f.has('help')) return -1;
  const maxTokens = num(f, 'max-tokens', 200, isNonNegInt, 'a non-negative integer');
  const temperature = num(f, 'temperature', 0.8, (v) => v >= 0, 'a number >= 0');
  const topK = num(f, 'top-k', 40, isNonNegInt, 'a non-negative integer');
  const seed = num(f, 'seed', 0, isNonNegInt, 'a non-negative integer');
  const { onnx, positions } = mergedOnnx(str(f, 'model'), str(f, 'adapter'));
  const prompt = str(f, 'prompt', '')!;
  const text = await generate(onnx, prompt, { maxTokens, temperature, topK, seed, contextLength: positions });
  process.stdout.write(prompt + text + '\n');
  return 0;
}

export async function exportCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, EXPORT_FLAGS);
  if (f.has('help')) return -1;
  if (!f.has('merged')) throw new UsageError('export needs --merged (the only export so far)');
  const adapter = str(f, 'adapter');
  if (!adapter) throw new UsageError('--adapter is required');
  const out = str(f, 'out', 'merged.onnx')!;
  const { onnx } = mergedOnnx(str(f, 'model'), adapter);
  writeFileMkdir(out, onnx);
  process.stdout.write(`wrote ${out} (${(onnx.length / 1e6).toFixed(1)} MB)\n`);
  return 0;
}
