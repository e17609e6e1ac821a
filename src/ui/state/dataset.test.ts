import { describe, expect, it } from 'vitest';
import { datasetReducer, EMPTY_DATASET, locatedErrorText } from './dataset';

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
});
