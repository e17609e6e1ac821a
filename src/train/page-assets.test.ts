// Dataset previews and located errors for the page (no GPU).
import { describe, expect, it } from 'vitest';
import { DatasetError } from '../data/errors';
import { datasetBytes, locateError, parseForPage } from './page-assets';
import type { BuiltinDataset } from './messages';

const bytes = (s: string) => new TextEncoder().encode(s);
const options = { skipBadLines: false, valFraction: 0.25 };

describe('parseForPage', () => {
  it('csv prompt/completion: the preview splits each example back by the loss mask', () => {
    const csv = 'prompt,completion\n"Q: 1+1?\nA: ",2\nQ: hi,"hello, you"\nQ: a,b\nQ: c,d\n';
    const { preview, dataset } = parseForPage('qa.csv', bytes(csv), options);
    expect(preview.format).toBe('csv');
    expect(preview.exampleCount).toBe(4);
    expect(preview.examples.slice(0, 2)).toEqual([
      { prompt: 'Q: 1+1?\nA: ', completion: '2' },
      { prompt: 'Q: hi', completion: 'hello, you' },
    ]);
    expect([preview.trainExamples, preview.valExamples]).toEqual([3, 1]);
    expect(preview.tokens).toBe(dataset.tokens.length);
    expect(preview.fileBytes).toBe(bytes(csv).length);
  });

  it('jsonl text examples show as text, multi-byte characters intact', () => {
    const { preview } = parseForPage('t.jsonl', bytes('{"text":"héllo"}\n{"text":"wörld"}\n'), options);
    expect(preview.examples).toEqual([{ text: 'héllo' }, { text: 'wörld' }]);
  });

  it('skipBadLines reaches the parser: the bad line is counted and summarised in the warnings', () => {
    const jsonl = '{"text":"fine"}\n{"text":"also fine"}\n{"text": oops}\n{"text":"fine"}\n';
    expect(() => parseForPage('b.jsonl', bytes(jsonl), options)).toThrow(/line 3/);
    const { preview } = parseForPage('b.jsonl', bytes(jsonl), { ...options, skipBadLines: true });
    expect(preview.skippedLines).toBe(1);
    expect(preview.exampleCount).toBe(3);
    expect(preview.warnings?.length).toBeGreaterThan(0);
  });
});

describe('locateError', () => {
  it('a DatasetError keeps its file, line and reason', () => {
    expect(locateError('x.jsonl', new DatasetError('x.jsonl', 4, 'not valid JSON'))).toEqual({
      file: 'x.jsonl',
      line: 4,
      message: 'not valid JSON',
    });
  });

  it('a plain Error keeps the file and message (and a "line N" it names)', () => {
    expect(locateError('a.csv', new Error('a.csv: line 3: expected 2 fields, got 1'))).toEqual({
      file: 'a.csv',
      line: 3,
      message: 'expected 2 fields, got 1',
    });
    expect(locateError('a.bin', new Error('a.bin: cannot tell the dataset format'))).toEqual({
      file: 'a.bin',
      message: 'cannot tell the dataset format',
    });
  });
});

describe('datasetBytes', () => {
  it('fetches only the datasets we ship', async () => {
    const fetched: string[] = [];
    const fetchAsset = async (path: string) => {
      fetched.push(path);
      return bytes('x');
    };
    await datasetBytes({ kind: 'builtin', name: 'devils-dictionary.txt' }, fetchAsset);
    const evil = { kind: 'builtin', name: '../../secret.txt' as BuiltinDataset } as const;
    await expect(datasetBytes(evil, fetchAsset)).rejects.toThrow(/unknown built-in dataset/);
    expect(fetched).toEqual(['datasets/devils-dictionary.txt']);
  });
});
