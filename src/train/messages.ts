// Typed messages between the page and the engine in its Web Worker (a discriminated union each way).
//
// The page never touches the GPU: it sends ToEngine messages and folds FromEngine messages into its
// state (src/ui/). Requests that expect one answer carry a `requestId` the answer repeats. Typed arrays
// travel as transferables where the sender no longer needs them.
import type { GpuInfo } from '../gpu/device';
import type { LoraConfig } from '../model/lora-layout';
import type { RunSpec, SweepConfig } from './config';
import type { SweepResults } from './results';
import type { SelfTestResult } from './self-test';

/** The built-in models, served from our own origin under public/models/<name>/. */
export type BuiltinModel = 'lab-gpt' | 'lab-gpt-tiny';
export const BUILTIN_MODELS: readonly BuiltinModel[] = ['lab-gpt', 'lab-gpt-tiny'];

/**
 * A model the user opened from its files ('openModel'), by its name: kept in the Worker for this tab
 * only (one at a time: opening another replaces it), never stored, never in a restorable URL.
 */
export type OpenedModelId = `opened:${string}`;
export const OPENED_PREFIX = 'opened:';
/** A model the engine can train: a built-in one, or the model opened in this tab. */
export type ModelId = BuiltinModel | OpenedModelId;

export const isBuiltinModel = (m: string): m is BuiltinModel =>
  (BUILTIN_MODELS as readonly string[]).includes(m);
export const isOpenedModel = (m: string): m is OpenedModelId =>
  m.startsWith(OPENED_PREFIX) && m.length > OPENED_PREFIX.length;
/** The name a user reads: the built-in's, or the opened model's (its hub id or folder). */
export const modelName = (m: ModelId): string => (isOpenedModel(m) ? m.slice(OPENED_PREFIX.length) : m);

/**
 * What 'generate' answers for an opened model: samples run the shipped ONNX through onnxruntime-web, and
 * an opened checkpoint has none (yet).
 */

/** One file of a model the user chose or dropped (its bytes transferred to the Worker). */
export interface ModelFileData {
  /** The file's name, or its path inside a dropped folder. */
  name: string;
  bytes: ArrayBuffer;
}

/** What the page's model card shows of a model. */
export interface ModelCard {
  id: ModelId;
  name: string;
  /** 'builtin': shipped with the page; '_name_or_path' | 'folder' | 'config': how an opened model's name was found. */
  source: 'builtin' | '_name_or_path' | 'folder' | 'config';
  layers: number;
  width: number;
  heads: number;
  positions: number;
  vocabSize: number;
  parameters: number;
  /** Stored dtype of the weights (float32 on the GPU either way). */
  dtype: string;
  /** 'bytes' (UTF-8 bytes, the built-ins) or 'tokenizer.json'. */
  tokenizer: 'bytes' | 'tokenizer.json';
  /** model/fingerprint.ts: tells this model from another of the same name (a checkpoint's resume offer). */
  fingerprint: string;
}

/** The GPU memory a sweep of given settings takes on this device (train/memory.ts planSweep). */
export interface SweepPlanSummary {
  runs: number;
  bytes: number;
  largest?: { label: string; bytes: number };
  /** Device limits the sweep would exceed (empty: it fits). */
  problems: string[];
  /** When it does not fit: what to lower, in words. */
  advice?: string;
  /** The device's largest buffer it may bind (WebGPU reports limits, not a GPU's total memory). */
  maxBufferBytes: number;
}

/** The built-in datasets, served from our own origin under public/datasets/. */
export type BuiltinDataset = 'e2e-restaurants.jsonl' | 'devils-dictionary.txt';
export const BUILTIN_DATASETS: readonly BuiltinDataset[] = ['e2e-restaurants.jsonl', 'devils-dictionary.txt'];

export type DatasetSource =
  | { kind: 'builtin'; name: BuiltinDataset }
  /** A file the user chose or dropped; its bytes never leave the tab. */
  | { kind: 'file'; name: string; bytes: ArrayBuffer };

export interface DatasetOptions {
  /** Accept a partly bad file: skip (and count) the lines that do not parse. */
  skipBadLines: boolean;
  /** Fraction of examples held out for validation, as SweepConfig.valFraction. */
  valFraction: number;
}

/** What makes a dataset's tokens: UTF-8 bytes (the built-in models), or the named model's tokenizer.json. */
export type DatasetTokenizer = { kind: 'bytes' } | { kind: 'tokenizer.json'; model: string };

/** Where a parse is ('datasetProgress'): checking and splitting the file, or tokenizing its text. */
export type DatasetProgressPhase = 'reading' | 'tokenizing';

/** What the page shows of a parsed dataset, at once. */
export interface DatasetPreview {
  name: string;
  format: 'txt' | 'jsonl' | 'csv';
  /** The first few examples, as plain text (rendered as text, never as HTML). */
  examples: ({ text: string } | { prompt: string; completion: string })[];
  exampleCount: number;
  /** File size in bytes, and tokens (bytes for the byte-level models) after parsing. */
  fileBytes: number;
  tokens: number;
  /** Added: what made the tokens: UTF-8 bytes, or the named model's tokenizer.json. */
  tokenizer?: DatasetTokenizer;
  trainTokens: number;
  valTokens: number;
  trainExamples: number;
  valExamples: number;
  /** Lines skipped as bad (only with skipBadLines). */
  skippedLines: number;
  /** Added: the parser's warnings (e.g. a summary of the skipped lines), in words for the page. */
  warnings?: string[];
}

/** A located error in a user's file: which file, which line (1-based) where known, and why. */
export interface LocatedError {
  file: string;
  line?: number;
  message: string;
}

/** One run's trained adapter (A [SA], B [SB] in the LoRA layout of `lora` on `model`). */
export interface AdapterData {
  model: ModelId;
  lora: LoraConfig;
  runId: string;
  A: Float32Array;
  B: Float32Array;
  /** The run's optimizer and learning rate, when known (added: written into exports). */
  spec?: RunSpec;
  /**
   * How the run ended, for exports: 'done', 'stopped at step N', 'diverged at step N; weights from step N − 1, …' (its last good weights), or
   * 'training, at step N' for a live read (added; absent on adapters the page built itself).
   */
  status?: string;
}

/** Which weights to generate from / export: the base model, a run of the current sweep, or stored data. */
export type AdapterRef =
  { kind: 'base'; model: ModelId } | { kind: 'run'; runId: string } | { kind: 'data'; adapter: AdapterData };

export interface RunInfo {
  spec: RunSpec;
  /** Step at which the run joined (0 for runs present from the start). */
  startStep: number;
  stoppedAtStep: number | null;
}

export type ToEngine =
  | { type: 'hello' }
  | { type: 'selfTest' }
  /**
   * Parse (off the main thread) and keep the dataset for the next 'start', tokenized by `model`'s
   * tokenizer (added; bytes when absent: the built-in models').
   */
  | {
      type: 'parseDataset';
      requestId: number;
      source: DatasetSource;
      options: DatasetOptions;
      model?: ModelId;
    }
  /**
   * Added: load a checkpoint from its files (model.safetensors + config.json + tokenizer.json, and
   * tokenizer_config.json if given); it replaces the model opened before. The answer is 'modelOpened',
   * or 'error' whose message says what is wrong with the files.
   */
  | { type: 'openModel'; requestId: number; files: ModelFileData[]; folder?: string }
  /** Added: describe a model and plan a sweep of `sweep` on it on this device; the answer is 'sweepPlan'. */
  | { type: 'planSweep'; requestId: number; model: ModelId; sweep: SweepConfig }
  /** Start a sweep on the last parsed dataset. A sweep already running is stopped first. */
  | {
      type: 'start';
      sweepId: string;
      model: ModelId;
      sweep: SweepConfig;
      /** Added: post a 'checkpoint' every this many steps (0 or absent: never). */
      checkpointEvery?: number;
    }
  /**
   * Added: continue a sweep from a 'checkpoint' message's bytes, on the last parsed dataset (the same
   * file the sweep trained on; checked by name and size). The answer is 'started' with resumedFromStep.
   */
  | { type: 'resume'; sweepId: string; checkpoint: Uint8Array; checkpointEvery?: number }
  | { type: 'addRun'; run: RunSpec }
  | { type: 'stopRun'; runId: string }
  | { type: 'stop' }
  | {
      type: 'generate';
      requestId: number;
      from: AdapterRef;
      prompt: string;
      maxTokens: number;
      /** 0 = greedy. */
      temperature: number;
      topK: number;
      seed: number;
    }
  /** A run's adapter as a PEFT zip (adapter_model.safetensors + adapter_config.json). */
  | { type: 'exportAdapter'; requestId: number; from: AdapterRef }
  /** The base ONNX with a run's adapter merged into its weights. */
  | {
      type: 'exportMerged';
      requestId: number;
      from: AdapterRef;
      /** 'onnx' (default): one graph file; 'safetensors': a zip of a Hugging Face checkpoint folder. */
      format?: 'onnx' | 'safetensors';
    };

export type FromEngine =
  | { type: 'ready'; adapter: GpuInfo }
  | { type: 'selfTest'; result: SelfTestResult }
  /**
   * Added: how far the parse of request `requestId` has come, before its 'dataset' or 'datasetError'
   * answer: 'reading' (0, the file checked and split into examples) then 'tokenizing' (the fraction of
   * the text tokenized, last 1), at most about a hundred a parse. Only for a model's tokenizer.json
   * (byte datasets are read at once); the page ignores those of a request it has superseded.
   */
  | {
      type: 'datasetProgress';
      requestId: number;
      fraction: number;
      phase: DatasetProgressPhase;
      tokenizer: DatasetTokenizer;
    }
  | { type: 'dataset'; requestId: number; preview: DatasetPreview }
  | { type: 'modelOpened'; requestId: number; card: ModelCard }
  /** `plan` is absent when the settings cannot be planned (`error` says why, e.g. a bad field). */
  | { type: 'sweepPlan'; requestId: number; card: ModelCard; plan?: SweepPlanSummary; error?: string }
  | { type: 'datasetError'; requestId: number; error: LocatedError }
  | {
      type: 'started';
      sweepId: string;
      runs: RunInfo[];
      totalSteps: number;
      /** Tokens one run trains on per step (batch × seq). */
      tokensPerStep: number;
      trainTokens: number;
      valTokens: number;
      /** Added: the sweep continues from a checkpoint of this step; metrics start at the next one. */
      resumedFromStep?: number;
    }
  /**
   * Added: the sweep's whole state (adapters, optimizer moments, batch position) at `step`, for the page
   * to keep (IndexedDB) and send back in 'resume'. Only with start's checkpointEvery.
   */
  | { type: 'checkpoint'; sweepId: string; step: number; bytes: Uint8Array }
  /**
   * Added: the GPU device was lost and the sweep continues on a new device from its last checkpoint.
   * Steps fromStep + 1 .. lostAtStep are trained (and reported) again: redoneSteps of them.
   */
  | {
      type: 'recovered';
      sweepId: string;
      fromStep: number;
      lostAtStep: number;
      redoneSteps: number;
      message: string;
    }
  /** A few times a second: the training losses of the steps since the last message. */
  | {
      type: 'metrics';
      sweepId: string;
      /** The run ids, in the order of each losses row. */
      runIds: string[];
      steps: number[];
      /** losses[k][i]: run i at steps[k] (NaN where the run had not started or had diverged). */
      losses: number[][];
      /** Wall-clock seconds since the sweep started, at each of steps[k]. */
      seconds: number[];
      stepsPerSec: number;
      tokensPerSec: number;
      choleskyFallbacks: number[];
      divergedAtStep: (number | null)[];
    }
  | { type: 'validation'; sweepId: string; runIds: string[]; step: number; losses: number[] }
  | { type: 'diverged'; sweepId: string; runId: string; step: number }
  | { type: 'runsChanged'; sweepId: string; runs: RunInfo[] }
  /** The sweep ended (all steps, or 'stop'): its results and every run's final adapter. */
  | {
      type: 'done';
      sweepId: string;
      stopped: boolean;
      results: SweepResults;
      adapters: AdapterData[];
    }
  | { type: 'generated'; requestId: number; text: string; seconds: number }
  | { type: 'exported'; requestId: number; fileName: string; mime: string; bytes: Uint8Array }
  | { type: 'error'; requestId?: number; sweepId?: string; message: string; detail?: string };
