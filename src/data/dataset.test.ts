import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv';
import {
  datasetStats,
  decodeBytes,
  encodeBytes,
  formatFromName,
  parseDataset,
  splitDataset,
} from './dataset';

const bytes = (s: string) => Array.from(new TextEncoder().encode(s));
/** Expected mask for a sequence of (text, isTarget) pieces. */
const maskOf = (...pieces: [string, 0 | 1][]) => pieces.flatMap(([s, m]) => bytes(s).map(() => m));

describe('byte tokenisation', () => {
  it('is UTF-8 and round-trips', () => {
    expect(Array.from(encodeBytes('aé€'))).toEqual([0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac]);
    expect(decodeBytes(encodeBytes('héllo ✓'))).toBe('héllo ✓');
  });
  it('picks the format from the extension', () => {
    expect(formatFromName('a/b.TXT')).toBe('txt');
    expect(formatFromName('x.jsonl')).toBe('jsonl');
    expect(formatFromName('x.csv')).toBe('csv');
    expect(formatFromName('x.parquet')).toBeUndefined();
    expect(() => parseDataset('x.parquet', 'abc')).toThrow(/cannot tell the dataset format/);
  });
});

describe('txt', () => {
  it('trains on every byte', () => {
    const ds = parseDataset('t.txt', 'hi é\n');
    expect(Array.from(ds.tokens)).toEqual(bytes('hi é\n'));
    expect(Array.from(ds.mask)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(ds.examples).toBe(1);
    expect(ds.format).toBe('txt');
  });
  // Issue #13: txt used to be taken byte for byte, so a binary or Latin-1 file trained silently. Now txt
  // must be UTF-8 text like the other formats (see bad-input.test.ts for the messages).
  it('takes UTF-8 bytes as they are, but not binary or invalid UTF-8', () => {
    const raw = new Uint8Array([0xff, 0x00, 0x80, 0x41]);
    expect(() => parseDataset('b.txt', raw)).toThrow(/b\.txt: this looks like a binary file/);
    expect(() => parseDataset('b.txt', new Uint8Array([0x41, 0xff]))).toThrow(/line 1: not valid UTF-8/);
    const utf8 = encodeBytes('x\u00e9\u20ac\u{1f600}\n');
    expect(Array.from(parseDataset('b.txt', utf8).tokens)).toEqual(Array.from(utf8));
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x41]);
    expect(Array.from(parseDataset('b.txt', bom).tokens)).toEqual([0x41]);
    expect(Array.from(parseDataset('b.txt', '\ufeffA').tokens)).toEqual([0x41]);
  });
  it('rejects an empty file', () => {
    expect(() => parseDataset('e.txt', '')).toThrow(/e\.txt: the dataset is empty/);
  });
});

describe('jsonl', () => {
  it('concatenates examples with "\\n" and masks prompts', () => {
    const src = [
      '{"text": "ab"}',
      '',
      '   ',
      '{"prompt": "Q:", "completion": "yes", "extra": 1}\r',
      '{"text": "é"}',
    ].join('\n');
    const ds = parseDataset('d.jsonl', src);
    expect(ds.examples).toBe(3);
    expect(Array.from(ds.tokens)).toEqual(bytes('ab\nQ:yes\né\n'));
    expect(Array.from(ds.mask)).toEqual(maskOf(['ab\n', 1], ['Q:', 0], ['yes\n', 1], ['é\n', 1]));
    expect(Array.from(ds.exampleOffsets)).toEqual([0, 3, 9, 12]);
    expect(datasetStats(ds)).toEqual({ tokens: 12, examples: 3, targetTokens: 10 });
  });
  it('names the line of a malformed record', () => {
    const good = '{"text": "x"}';
    const lines = (bad: string, at: number) => {
      const l = Array.from({ length: 9 }, () => good);
      l[at - 1] = bad;
      return l.join('\n');
    };
    expect(() => parseDataset('d.jsonl', lines('{"text": "x"', 7))).toThrow(
      'd.jsonl: line 7: not valid JSON',
    );
    expect(() => parseDataset('d.jsonl', lines('{"prompt": "x"}', 9))).toThrow(
      'd.jsonl: line 9: expected "text" or "prompt"+"completion" string fields',
    );
    expect(() => parseDataset('d.jsonl', lines('{"text": 3}', 2))).toThrow(/line 2: expected "text"/);
    expect(() => parseDataset('d.jsonl', lines('[1, 2]', 4))).toThrow(/line 4: expected "text"/);
    expect(() => parseDataset('d.jsonl', lines('{"text":"a","prompt":"b","completion":"c"}', 5))).toThrow(
      /line 5: has both/,
    );
  });
  it('rejects empty files and invalid UTF-8 with the line', () => {
    expect(() => parseDataset('d.jsonl', '\n\n  \n')).toThrow(/the dataset is empty/);
    const raw = new Uint8Array([...bytes('{"text":"a"}\n{"text":"'), 0xc3, 0x28, ...bytes('"}')]);
    expect(() => parseDataset('d.jsonl', raw)).toThrow('d.jsonl: line 2: not valid UTF-8 text');
  });
  it('accepts bytes with a BOM', () => {
    const raw = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"text":"a"}')]);
    expect(Array.from(parseDataset('d.jsonl', raw).tokens)).toEqual(bytes('a\n'));
  });
});

describe('csv', () => {
  it('follows RFC 4180: quotes, escaped quotes, commas and line breaks inside quotes, CRLF', () => {
    const rows = parseCsv('a,b\r\n"x,1","say ""hi"""\r\n"multi\r\nline",\r\n\r\nlast,""\n');
    expect(rows).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x,1', 'say "hi"'] },
      { line: 3, fields: ['multi\r\nline', ''] },
      { line: 6, fields: ['last', ''] },
    ]);
    expect(parseCsv('a,b\nc,')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['c', ''] },
    ]);
    expect(parseCsv('""')).toEqual([{ line: 1, fields: [''] }]);
  });
  it('reports malformed quoting with the line', () => {
    expect(() => parseCsv('a\nb"c\n', 'f.csv')).toThrow('f.csv: line 2: a quote inside an unquoted field');
    expect(() => parseCsv('a\n"b"c\n', 'f.csv')).toThrow(
      'f.csv: line 2: unexpected character "c" after a closing quote',
    );
    expect(() => parseCsv('a\n\n"b\nc\n', 'f.csv')).toThrow('f.csv: line 3: a quoted field is never closed');
  });
  it('reads a text column', () => {
    const ds = parseDataset('d.csv', 'id,Text\n1,"hello, world"\n2,"two\nlines"\n');
    expect(ds.examples).toBe(2);
    expect(Array.from(ds.tokens)).toEqual(bytes('hello, world\ntwo\nlines\n'));
    expect(ds.mask.every((m) => m === 1)).toBe(true);
  });
  it('reads prompt and completion columns', () => {
    const ds = parseDataset('d.csv', '\ufeffprompt,completion\r\n"2+2=",4\r\nQ,"A ""x"""\r\n');
    expect(Array.from(ds.tokens)).toEqual(bytes('2+2=4\nQA "x"\n'));
    expect(Array.from(ds.mask)).toEqual(maskOf(['2+2=', 0], ['4\n', 1], ['Q', 0], ['A "x"\n', 1]));
  });
  it('names the row of a malformed record', () => {
    expect(() => parseDataset('d.csv', 'text\n"a\nb"\nc,d\n')).toThrow(
      'd.csv: line 4: expected 1 fields, got 2',
    );
    expect(() => parseDataset('d.csv', 'body,title\nx,y\n')).toThrow(
      /d\.csv: line 1: the header needs a "text" column/,
    );
    expect(() => parseDataset('d.csv', 'text,prompt,completion\n')).toThrow(
      /line 1: the header has "text" and/,
    );
    expect(() => parseDataset('d.csv', '')).toThrow(/the dataset is empty/);
    expect(() => parseDataset('d.csv', 'text\n')).toThrow(/the dataset is empty/);
  });
});

describe('splitDataset', () => {
  const jsonl = Array.from({ length: 10 }, (_, i) =>
    JSON.stringify({ prompt: `p${i}`, completion: `c${i}` }),
  ).join('\n');
  it('takes the tail examples for jsonl/csv', () => {
    const ds = parseDataset('d.jsonl', jsonl);
    const { train, val } = splitDataset(ds, 0.2);
    expect(train.examples).toBe(8);
    expect(val!.examples).toBe(2);
    expect(Array.from(val!.tokens)).toEqual(bytes('p8c8\np9c9\n'));
    expect(Array.from(val!.mask)).toEqual(maskOf(['p8', 0], ['c8\n', 1], ['p9', 0], ['c9\n', 1]));
    expect(Array.from(val!.exampleOffsets)).toEqual([0, 5, 10]);
    expect(Array.from(train.tokens)).toEqual(Array.from(ds.tokens.subarray(0, 40)));
    expect(train.exampleOffsets[train.examples]).toBe(train.tokens.length);
    // Deterministic, and at least one example on each side.
    expect(splitDataset(ds, 0.2)).toEqual({ train, val });
    expect(splitDataset(ds, 0.01).val!.examples).toBe(1);
    expect(splitDataset(ds, 0.99).train.examples).toBe(1);
  });
  it('cuts txt by bytes', () => {
    const ds = parseDataset('t.txt', 'abcdefghij');
    const { train, val } = splitDataset(ds, 0.3);
    expect(decodeBytes(train.tokens)).toBe('abcdefg');
    expect(decodeBytes(val!.tokens)).toBe('hij');
    expect(splitDataset(ds, 0).val).toBeNull();
    expect(() => splitDataset(ds, 1)).toThrow(/\[0, 1\)/);
    expect(() => splitDataset(parseDataset('t.txt', 'a'), 0.5)).toThrow(/cannot be split/);
  });
});
