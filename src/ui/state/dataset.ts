// The dataset as the page knows it: which source, its preview, or its located error.
import { MAX_DATASET_BYTES, MAX_DATASET_SIZE_TEXT } from '../../data/dataset';
import type { DatasetPreview, LocatedError } from '../../train/messages';

export type DatasetState =
  | { status: 'empty' }
  | { status: 'parsing'; name: string; requestId: number }
  | { status: 'ready'; preview: DatasetPreview }
  | { status: 'invalid'; error: LocatedError }
  | { status: 'failed'; name: string; message: string };

export type DatasetAction =
  | { type: 'parsing'; name: string; requestId: number }
  | { type: 'parsed'; requestId: number; preview: DatasetPreview }
  | { type: 'invalid'; requestId: number; error: LocatedError }
  | { type: 'failed'; requestId: number; name: string; message: string }
  | { type: 'clear' };

export const EMPTY_DATASET: DatasetState = { status: 'empty' };

/** Only the answer to the latest request counts (a slow parse of an older file is dropped). */
export function datasetReducer(s: DatasetState, a: DatasetAction): DatasetState {
  if (a.type === 'parsing') return { status: 'parsing', name: a.name, requestId: a.requestId };
  if (a.type === 'clear') return EMPTY_DATASET;
  if (s.status !== 'parsing' || s.requestId !== a.requestId) return s;
  switch (a.type) {
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

export function locatedErrorText(e: LocatedError): string {
  return `${e.file}${e.line !== undefined ? `, line ${e.line}` : ''}: ${e.message}`;
}

/** Why a chosen file is refused before it is read (null: it may be read). */
export function fileSizeError(bytes: number): string | null {
  if (bytes <= MAX_DATASET_BYTES) return null;
  return `the file is ${(bytes / 2 ** 20).toFixed(1)} MiB; the limit is ${MAX_DATASET_SIZE_TEXT} (use a part of it)`;
}
