import { describe, expect, it } from 'vitest';
import { MAX_DATASET_BYTES } from '../../data/dataset';
import type { DatasetPreview } from '../../train/messages';
import { datasetReducer, EMPTY_DATASET, fileSizeError, locatedErrorText, percentText } from './dataset';

describe('dataset state', () => {
  it('keeps only the answer to the latest parse', () => {
    let s = datasetReducer(EMPTY_DATASET, { type: 'parsing', name: 'a.txt', requestId: 1 });
    s = datasetReducer(s, { type: 'parsing', name: 'b.txt', requestId: 2 });
    const stale = datasetReducer(s, {
      type: 'invalid',
      requestId: 1,
      error: { file: 'a.txt', message: 'x' },
    });
    expect(stale).toBe(s);
    s = datasetReducer(s, {
      type: 'invalid',
      requestId: 2,
      error: { file: 'b.jsonl', line: 3, message: 'bad JSON' },
    });
    expect(s.status).toBe('invalid');
    if (s.status === 'invalid') expect(locatedErrorText(s.error)).toBe('b.jsonl, line 3: bad JSON');
  });

  it('shows the progress of the latest parse only, and the preview when it is done', () => {
    const tokenizer = { kind: 'tokenizer.json' as const, model: 'gpt2' };
    const progress = (requestId: number, fraction: number) =>
      ({ type: 'progress', requestId, fraction, phase: 'tokenizing', tokenizer }) as const;
    let s = datasetReducer(EMPTY_DATASET, { type: 'parsing', name: 'a.txt', requestId: 1 });
    s = datasetReducer(s, progress(1, 0.4));
    expect(s).toMatchObject({ status: 'parsing', progress: { fraction: 0.4, tokenizer } });
    // A newer request supersedes it: the old parse's progress (and answer) tell nothing now.
    s = datasetReducer(s, { type: 'parsing', name: 'b.txt', requestId: 2 });
    expect(s).toEqual({ status: 'parsing', name: 'b.txt', requestId: 2 });
    expect(datasetReducer(s, progress(1, 0.5))).toBe(s);
    s = datasetReducer(s, progress(2, 0.25));
    expect(s).toMatchObject({ status: 'parsing', name: 'b.txt', progress: { fraction: 0.25 } });
    if (s.status === 'parsing') expect(percentText(s.progress!.fraction)).toBe('25%');
    s = datasetReducer(s, progress(2, 1));
    const preview = { name: 'b.txt' } as DatasetPreview;
    s = datasetReducer(s, { type: 'parsed', requestId: 2, preview });
    expect(s).toEqual({ status: 'ready', preview });
    // Progress after the answer (none is sent, but a late one must not undo the preview).
    expect(datasetReducer(s, progress(2, 1))).toBe(s);
  });

  it('refuses a file over the size limit before reading it', () => {
    expect(fileSizeError(MAX_DATASET_BYTES)).toBeNull();
    expect(fileSizeError(MAX_DATASET_BYTES + 1)).toMatch(/^the file is 128\.0 MiB; the limit is 128 MiB/);
  });
});
