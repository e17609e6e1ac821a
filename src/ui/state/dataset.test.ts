import { describe, expect, it } from 'vitest';
import { MAX_DATASET_BYTES } from '../../data/dataset';
import { datasetReducer, EMPTY_DATASET, fileSizeError, locatedErrorText } from './dataset';

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

  it('refuses a file over the size limit before reading it', () => {
    expect(fileSizeError(MAX_DATASET_BYTES)).toBeNull();
    expect(fileSizeError(MAX_DATASET_BYTES + 1)).toMatch(/^the file is 128\.0 MiB; the limit is 128 MiB/);
  });
});
