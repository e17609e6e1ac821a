// The page's assets on the engine side: built-in models (ONNX + config.json) and datasets fetched from
// our own origin, and dataset parsing with the preview the page shows at once.
import { DatasetError } from '../data/errors';
import {
  decodeBytes,
  parseDataset,
  splitDataset,
  type ProgressCallback,
  type TokenizedDataset,
} from '../data/dataset';
import { byteTokenizer, type TextTokenizer } from '../data/tokenizer';
import { loadBaseModel, type BaseModel } from '../io/load';
import { modelFingerprint } from '../model/fingerprint';
import {
  BUILTIN_DATASETS,
  BUILTIN_MODELS,
  type BuiltinModel,
  type ModelCard,
  type ModelId,
  type DatasetOptions,
  type DatasetPreview,
  type DatasetSource,
  type LocatedError,
} from './messages';

/** Bytes of a file of our own origin, by path relative to the site root (e.g. `models/x/config.json`). */
export type FetchAsset = (path: string) => Promise<Uint8Array>;

export interface LoadedModel extends BaseModel {
  /** How the page names it in messages; `name` is what exports and results call it. */
  id: ModelId;
  /** The shipped ONNX graph of a built-in model, kept for generation and merged export (never transferred away). */
  onnx?: Uint8Array;
  /** How the name was found: 'builtin', or as loadModelFiles says for an opened model. */
  source: ModelCard['source'];
  parameters: number;
  dtype: string;
  /** model/fingerprint.ts, computed once: checkpoints carry it, and a resume checks it. */
  fingerprint: string;
  /**
   * An opened model's config.json, tokenizer.json and tokenizer_config.json as the user gave them: a merged
   * safetensors export puts them beside the weights, so the folder opens again here and in transformers.
   */
  companions?: { name: string; bytes: Uint8Array }[];
}

/** What the page's model card shows of a loaded model. */
export function modelCard(m: LoadedModel): ModelCard {
  return {
    id: m.id,
    name: m.name,
    source: m.source,
    layers: m.cfg.n_layer,
    width: m.cfg.n_embd,
    heads: m.cfg.n_head,
    positions: m.cfg.n_positions,
    vocabSize: m.cfg.vocab_size,
    parameters: m.parameters,
    dtype: m.dtype,
    tokenizer: m.tokenizer.kind,
    fingerprint: m.fingerprint,
  };
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
    let parameters = 0;
    for (const w of model.weights.values()) parameters += w.length;
    const fingerprint = modelFingerprint(model.cfg, model.weights);
    return { ...model, id: name, name, onnx, source: 'builtin', parameters, dtype: 'F32', fingerprint };
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

/** The model a dataset is tokenized for: its name and tokenizer (UTF-8 bytes for the built-ins). */
export interface TokenizerOf {
  model: string;
  tokenizer: TextTokenizer;
}

export const BYTES: TokenizerOf = { model: 'bytes', tokenizer: byteTokenizer };

/**
 * The tokenizer the dataset's ids are of. Byte streams are Uint8Array; ids of a tokenizer.json are wider
 * arrays. A parser that does not tokenize at token level yet (bytes whatever the option) is read as bytes,
 * so the preview and its label never claim a tokenization that did not happen.
 */
function idsOf(dataset: TokenizedDataset, of: TokenizerOf): TokenizerOf {
  const wide = (dataset.tokens as ArrayLike<number> & { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT > 1;
  return of.tokenizer.kind === 'bytes' || wide ? of : BYTES;
}

/**
 * Parse a dataset file and describe it; throws what the parser throws (see locateError). `of` is the
 * selected model's tokenizer (bytes when absent); `onProgress` is told the fraction tokenized so far.
 */
export function parseForPage(
  name: string,
  bytes: Uint8Array,
  options: DatasetOptions,
  of: TokenizerOf = BYTES,
  onProgress?: ProgressCallback,
): ParsedDataset {
  const dataset = parseDataset(name, bytes, undefined, {
    skipBadLines: options.skipBadLines,
    tokenizer: of.tokenizer,
    onProgress,
  });
  const { train, val } = splitDataset(dataset, options.valFraction);
  const used = idsOf(dataset, of);
  const preview: DatasetPreview = {
    name,
    format: dataset.format,
    examples: previewExamples(dataset, PREVIEW_EXAMPLES, used.tokenizer),
    exampleCount: dataset.examples,
    fileBytes: bytes.length,
    tokens: dataset.tokens.length,
    tokenizer:
      used.tokenizer.kind === 'bytes' ? { kind: 'bytes' } : { kind: 'tokenizer.json', model: used.model },
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
 * The first examples as text, split back into prompt/completion by the loss mask: prompt tokens have
 * mask 0, completion tokens mask 1 (dataset.ts). The separator after each example is dropped.
 */
export function previewExamples(
  ds: TokenizedDataset,
  count: number,
  tokenizer: TextTokenizer = byteTokenizer,
): DatasetPreview['examples'] {
  const out: DatasetPreview['examples'] = [];
  const sep = tokenizer.separator;
  const endsWithSeparator = (hi: number) =>
    hi - sep.length >= 0 && sep.every((id, k) => ds.tokens[hi - sep.length + k] === id);
  const clip = (ids: ArrayLike<number>): string => {
    const text = tokenizer.kind === 'bytes' ? decodeBytes(ids as Uint8Array) : tokenizer.decode(ids);
    return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
  };
  for (let e = 0; e < Math.min(count, ds.examples); e++) {
    const lo = ds.exampleOffsets[e];
    let hi = ds.exampleOffsets[e + 1];
    if (ds.format !== 'txt' && hi - lo >= sep.length && sep.length > 0 && endsWithSeparator(hi))
      hi -= sep.length;
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
