// `lora-lab generate` (sample text with onnxruntime-web, from the base model or base + adapter) and
// `lora-lab export --merged` (the base model with W0 + s·(BA)ᵀ written into its weights, as ONNX or as a
// Hugging Face safetensors checkpoint).
import { copyFileSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Weights } from '../model/config';
import { generate } from '../io/generate';
import { gpt2Safetensors, mergedModelWeights, mergedWeights } from '../io/merge';
import { replaceOnnxWeights } from '../io/onnx';
import { OnnxTooLargeError, writeGpt2Onnx } from '../io/onnx-graph';
import { choice, isNonNegInt, num, parseFlags, str, UsageError, type FlagSpec } from './args';
import { loadAdapterFile, loadModelFile, writeFileMkdir, type CliModel } from './node-io';

const MODEL_FLAG: FlagSpec = {
  name: 'model',
  value: '<dir-or-file>',
  help: 'base model: a Hugging Face GPT-2 folder (model.safetensors, config.json, tokenizer.json), or a .safetensors or .onnx file with config.json beside it',
  default: 'the built-in lab-gpt',
};

const STOP_AT = ['newline', 'eos', 'never'] as const;

export const GENERATE_FLAGS: FlagSpec[] = [
  MODEL_FLAG,
  {
    name: 'adapter',
    value: '<dir-or-file>',
    help: 'a PEFT adapter (adapter_model.safetensors, or its folder) merged into the model',
  },
  { name: 'prompt', value: '<text>', help: 'the text to continue', default: '""' },
  { name: 'max-tokens', value: '<n>', help: 'tokens to generate (bytes for a byte model)', default: '200' },
  { name: 'temperature', value: '<t>', help: 'sampling temperature; 0 = greedy', default: '0.8' },
  { name: 'top-k', value: '<k>', help: 'sample among the k most likely tokens (0 = all)', default: '40' },
  { name: 'seed', value: '<n>', help: 'sampler seed', default: '0' },
  {
    name: 'stop-at',
    value: '<when>',
    help: 'newline: stop after the encoding of "\\n" (which ends a dataset example) or end-of-text; eos: at end-of-text only; never',
    default: 'newline for a tokenizer.json model, never for a byte model',
  },
  { name: 'help', help: 'this text' },
];

export const EXPORT_FLAGS: FlagSpec[] = [
  { name: 'merged', help: 'write the base model with the adapter merged into its weights (required)' },
  MODEL_FLAG,
  { name: 'adapter', value: '<dir-or-file>', help: 'the PEFT adapter to merge' },
  {
    name: 'out',
    value: '<file.onnx|file.safetensors>',
    help: 'the merged model: .onnx (an ONNX graph, at most 2 GiB) or .safetensors (a Hugging Face GPT2LMHeadModel checkpoint, float32; config.json and the tokenizer files are written beside it)',
    default: 'merged.onnx',
  },
  { name: 'help', help: 'this text' },
];

/** The model's weights with the adapter (if any) merged in. */
function weightsWith(model: CliModel, adapterPath: string | undefined): Weights {
  if (!adapterPath) return model.weights;
  const adapter = loadAdapterFile(adapterPath, model.cfg);
  return mergedModelWeights(model.weights, adapter.layout, adapter.A, adapter.B);
}

/**
 * The model (with the adapter merged) as ONNX: a built-in model's own graph with its initializers
 * rewritten (every other byte kept), or a graph written from a checkpoint's weights.
 */
function modelOnnx(
  model: CliModel,
  adapterPath: string | undefined,
  tooLarge: (e: Error) => string,
): Uint8Array {
  if (model.format === 'onnx') {
    const onnx = new Uint8Array(readFileSync(model.weightsPath));
    if (!adapterPath) return onnx;
    const adapter = loadAdapterFile(adapterPath, model.cfg);
    return replaceOnnxWeights(onnx, mergedWeights(model.weights, adapter.layout, adapter.A, adapter.B));
  }
  try {
    return writeGpt2Onnx(model.cfg, weightsWith(model, adapterPath));
  } catch (e) {
    if (e instanceof OnnxTooLargeError) throw new UsageError(tooLarge(e));
    throw e;
  }
}

/** The id sequences that end a sample, for --stop-at. */
function stopSequences(model: CliModel, stopAt: (typeof STOP_AT)[number]): number[][] {
  const eos = model.tokenizer.eos === undefined ? [] : [[model.tokenizer.eos]];
  if (stopAt === 'never') return [];
  if (stopAt === 'eos') return eos;
  return [model.tokenizer.separator, ...eos];
}

export async function generateCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, GENERATE_FLAGS);
  if (f.has('help')) return -1;
  const maxTokens = num(f, 'max-tokens', 200, isNonNegInt, 'a non-negative integer');
  const temperature = num(f, 'temperature', 0.8, (v) => v >= 0, 'a number >= 0');
  const topK = num(f, 'top-k', 40, isNonNegInt, 'a non-negative integer');
  const seed = num(f, 'seed', 0, isNonNegInt, 'a non-negative integer');
  const model = loadModelFile(str(f, 'model'));
  const stopAt = choice(f, 'stop-at', STOP_AT, model.tokenizer.kind === 'bytes' ? 'never' : 'newline');
  const onnx = modelOnnx(
    model,
    str(f, 'adapter'),
    (e) =>
      `${model.name}: generation runs the model as ONNX in onnxruntime-web, which ${e.message.replace(/^the model's /, "can't hold a model whose ")}`,
  );
  const prompt = str(f, 'prompt', '')!;
  const text = await generate(onnx, prompt, {
    maxTokens,
    temperature,
    topK,
    seed,
    contextLength: model.cfg.n_positions,
    tokenizer: model.tokenizer,
    stopSequences: stopSequences(model, stopAt),
  });
  // A sample that stopped at its line break ends the output; any other (a byte model's, as ever) gets one.
  process.stdout.write(prompt + text + (stopAt !== 'never' && text.endsWith('\n') ? '' : '\n'));
  return 0;
}

export async function exportCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, EXPORT_FLAGS);
  if (f.has('help')) return -1;
  if (!f.has('merged')) throw new UsageError('export needs --merged (the only export so far)');
  const adapter = str(f, 'adapter');
  if (!adapter) throw new UsageError('--adapter is required');
  const out = str(f, 'out', 'merged.onnx')!;
  const ext = extname(out).toLowerCase();
  if (ext !== '.onnx' && ext !== '.safetensors')
    throw new UsageError(`--out must end in .onnx or .safetensors (got ${out})`);
  const model = loadModelFile(str(f, 'model'));
  if (resolve(out) === resolve(model.weightsPath))
    throw new UsageError(`--out ${out} is the base model's own file: choose another path`);
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  if (ext === '.onnx') {
    const onnx = modelOnnx(model, adapter, (e) => `--out ${out}: ${e.message}`);
    writeFileMkdir(out, onnx);
    process.stdout.write(`wrote ${out} (${mb(onnx.length)})\n`);
    return 0;
  }
  const bytes = gpt2Safetensors(model.cfg, weightsWith(model, adapter));
  writeFileMkdir(out, bytes);
  // Beside it, what makes the folder a model of its own: config.json and the tokenizer files.
  const beside: string[] = [];
  for (const src of [model.configPath, ...model.tokenizerPaths]) {
    const dst = join(dirname(out), basename(src));
    if (resolve(dst) !== resolve(src)) copyFileSync(src, dst);
    beside.push(basename(src));
  }
  process.stdout.write(`wrote ${out} (${mb(bytes.length)}) and ${beside.join(', ')} beside it\n`);
  return 0;
}
