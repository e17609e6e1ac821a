// The dataset as the page knows it: which source, its preview, or its located error.
import { MAX_DATASET_BYTES, MAX_DATASET_SIZE_TEXT } from '../../data/dataset';
import type {
  DatasetPreview,
  DatasetProgressPhase,
  DatasetTokenizer,
  LocatedError,
} from '../../train/messages';

/** How far the engine's parse has come ('datasetProgress'): fraction in [0, 1]. */
export interface ParseProgress {
  fraction: number;
  phase: DatasetProgressPhase;
  tokenizer: DatasetTokenizer;
}

export type DatasetState =
  | { status: 'empty' }
  /** `progress` is absent until the engine tells some (never, for byte datasets: they are read at once). */
  | { status: 'parsing'; name: string; requestId: number; progress?: ParseProgress }
  | { status: 'ready'; preview: DatasetPreview }
  | { status: 'invalid'; error: LocatedError }
  | { status: 'failed'; name: string; message: string };

export type DatasetAction =
  | { type: 'parsing'; name: string; requestId: number }
  | ({ type: 'progress'; requestId: number } & ParseProgress)
  | { type: 'parsed'; requestId: number; preview: DatasetPreview }
  | { type: 'invalid'; requestId: number; error: LocatedError }
  | { type: 'failed'; requestId: number; name: string; message: string }
  | { type: 'clear' };

export const EMPTY_DATASET: DatasetState = { status: 'empty' };

/**
 * Only the progress and answer of the latest request count (a slow parse of an older file is dropped).
 */
export function datasetReducer(s: DatasetState, a: DatasetAction): DatasetState {
  if (a.type === 'parsing') return { status: 'parsing', name: a.name, requestId: a.requestId };
  if (a.type === 'clear') return EMPTY_DATASET;
  if (s.status !== 'parsing' || s.requestId !== a.requestId) return s;
  switch (a.type) {
    case 'progress': {
      const { fraction, phase, tokenizer } = a;
      return { ...s, progress: { fraction: Math.min(1, Math.max(0, fraction)), phase, tokenizer } };
    }
    case 'parsed':
      return { status: 'ready', preview: a.preview };
    case 'invalid':
      return { status: 'invalid', error: a.error };
    case 'failed':
      return { status: 'failed', name: a.name, message: a.message };
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A parse's progress in words: "42%". */
export function percentText(fraction: number): string {
  return `${Math.floor(fraction * 100)}%`;
}

export function locatedErrorText(e: LocatedError): string {
  return `${e.file}${e.line !== undefined ? `, line ${e.line}` : ''}: ${e.message}`;
}

/** Why a chosen file is refused before it is read (null: it may be read). */
export function fileSizeError(bytes: number): string | null {
  if (bytes <= MAX_DATASET_BYTES) return null;
  return `the file is ${(bytes / 2 ** 20).toFixed(1)} MiB; the limit is ${MAX_DATASET_SIZE_TEXT} (use a part of it)`;
}
