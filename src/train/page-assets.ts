// The page's assets on the engine side: built-in models (ONNX + config.json) and datasets fetched from
// our own origin, and dataset parsing with the preview the page shows at once.
import { DatasetError } from '../data/errors';
import {
  decodeBytes,
  parseDataset,
  splitDataset,
  type TokenArray,
  type TokenizedDataset,
} from '../data/dataset';
import { byteTokenizer } from '../data/tokenizer';
import { loadBaseModel, type BaseModel } from '../io/load';
import {
  BUILTIN_DATASETS,
  BUILTIN_MODELS,
  type BuiltinModel,
  type DatasetOptions,
  type DatasetPreview,
  type DatasetSource,
  type LocatedError,
} from './messages';

/** Bytes of a file of our own origin, by path relative to the site root (e.g. `models/x/config.json`). */
export type FetchAsset = (path: string) => Promise<Uint8Array>;

export interface LoadedModel extends BaseModel {
  name: BuiltinModel;
  /** The shipped ONNX graph, kept for generation and merged export (never transferred away). */
  onnx: Uint8Array;
}

/** Loads each built-in model once; concurrent requests share one load. */
export class ModelCache {
  private models = new Map<BuiltinModel, Promise<LoadedModel>>();

  constructor(private readonly fetchAsset: FetchAsset) {}

  get(name: BuiltinModel): Promise<LoadedModel> {
    if (!BUILTIN_MODELS.includes(name)) return Promise.reject(new Error(`unknown model '${String(name)}'`));
    let p = this.models.get(name);
    if (!p) {
      p = this.load(name);
      // A failed load (network, bad file) must not stick: the next request tries again.
      p.catch(() => this.models.delete(name));
      this.models.set(name, p);
    }
    return p;
  }

  private async load(name: BuiltinModel): Promise<LoadedModel> {
    const [onnx, config] = await Promise.all([
      this.fetchAsset(`models/${name}/model.onnx`),
      this.fetchAsset(`models/${name}/config.json`),
    ]);
    const model = loadBaseModel(name, decodeBytes(config), onnx, 'onnx');
    return { ...model, name, onnx };
  }
}

/** The dataset's file name and bytes, from the page's file or our origin's public/datasets/. */
export async function datasetBytes(
  source: DatasetSource,
  fetchAsset: FetchAsset,
): Promise<{ name: string; bytes: Uint8Array }> {
  if (source.kind === 'file') return { name: source.name, bytes: new Uint8Array(source.bytes) };
  // Only names we ship: a message cannot make the worker fetch an arbitrary path.
  if (!BUILTIN_DATASETS.includes(source.name)) throw new Error(`unknown built-in dataset '${source.name}'`);
  return { name: source.name, bytes: await fetchAsset(`datasets/${source.name}`) };
}

export interface ParsedDataset {
  dataset: TokenizedDataset;
  preview: DatasetPreview;
}

/** Parse a dataset file and describe it; throws what the parser throws (see locateError). */
export function parseForPage(name: string, bytes: Uint8Array, options: DatasetOptions): ParsedDataset {
  const dataset = parseDataset(name, bytes, undefined, { skipBadLines: options.skipBadLines });
  const { train, val } = splitDataset(dataset, options.valFraction);
  const preview: DatasetPreview = {
    name,
    format: dataset.format,
    examples: previewExamples(dataset, PREVIEW_EXAMPLES),
    exampleCount: dataset.examples,
    fileBytes: bytes.length,
    tokens: dataset.tokens.length,
    trainTokens: train.tokens.length,
    valTokens: val?.tokens.length ?? 0,
    trainExamples: train.examples,
    valExamples: val?.examples ?? 0,
    skippedLines: dataset.skippedLines,
    warnings: dataset.warnings,
  };
  return { dataset, preview };
}

const PREVIEW_EXAMPLES = 5;
/** Characters shown of one example (a txt file is one example: its beginning is shown). */
const PREVIEW_CHARS = 600;

/**
 * The first examples as text, split back into prompt/completion by the loss mask: prompt bytes have
 * mask 0, completion bytes mask 1 (dataset.ts). The separator "\n" after each example is dropped.
 */
export function previewExamples(ds: TokenizedDataset, count: number): DatasetPreview['examples'] {
  const out: DatasetPreview['examples'] = [];
  for (let e = 0; e < Math.min(count, ds.examples); e++) {
    const lo = ds.exampleOffsets[e];
    let hi = ds.exampleOffsets[e + 1];
    if (ds.format !== 'txt' && hi > lo && ds.tokens[hi - 1] === 0x0a) hi--;
    let cut = lo;
    while (cut < hi && ds.mask[cut] === 0) cut++;
    if (cut === lo) {
      out.push({ text: clip(ds.tokens.subarray(lo, Math.min(hi, lo + PREVIEW_CHARS * 4))) });
    } else {
      out.push({ prompt: clip(ds.tokens.subarray(lo, cut)), completion: clip(ds.tokens.subarray(cut, hi)) });
    }
  }
  return out;
}

// Byte datasets only until the page passes the model's tokenizer (data/tokenize.ts: exampleText).
function clip(tokens: TokenArray): string {
  const text = byteTokenizer.decode(tokens);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}

/**
 * A parse failure as the page shows it. DatasetError carries file, line and reason; a plain Error is
 * reported with the file name and its message (and a "line N" it names, as parsers before DatasetError
 * wrote it).
 */
export function locateError(file: string, err: unknown): LocatedError {
  if (err instanceof DatasetError) {
    return { file: err.file, line: err.line, message: err.reason };
  }
  const message = err instanceof Error ? err.message : String(err);
  const m = /^(?:.*?: )?line (\d+): (.*)$/s.exec(message);
  if (m) return { file, line: Number(m[1]), message: m[2] };
  const prefix = `${file}: `;
  return { file, message: message.startsWith(prefix) ? message.slice(prefix.length) : message };
}
