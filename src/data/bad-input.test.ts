// Issue #13, bad input: every bad dataset file gets a DatasetError naming the file, the line where there
// is one, and the reason; a partly bad file loads with its bad lines skipped when the user asks.
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../io/safetensors';
import { batchShortfall, checkBatchable } from './batches';
import {
  MAX_DATASET_BYTES,
  MAX_DATASET_SIZE_TEXT,
  MAX_LINE_CHARS,
  parseDataset,
  type DatasetFormat,
  type ParsedDataset,
} from './dataset';
import { DatasetError } from './errors';

const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? Array.from(enc(p)) : p)));

/** The DatasetError parseDataset throws (fails the test if it returns or throws anything else). */
function errorOf(name: string, content: string | Uint8Array, format?: DatasetFormat): DatasetError {
  try {
    parseDataset(name, content, format);
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error(`${name} was accepted`);
}

const skip = (name: string, content: string | Uint8Array): ParsedDataset =>
  parseDataset(name, content, undefined, { skipBadLines: true });

describe('empty files', () => {
  it.each(['e.txt', 'e.jsonl', 'e.csv'])('%s: no bytes, only whitespace, only blank lines', (name) => {
    expect(errorOf(name, new Uint8Array(0)).message).toBe(
      `${name}: the dataset is empty (the file has no bytes)`,
    );
    expect(errorOf(name, '  \t ').message).toBe(`${name}: the dataset is empty (only whitespace)`);
    expect(errorOf(name, '\n\r\n\n').message).toBe(`${name}: the dataset is empty (only whitespace)`);
    expect(errorOf(name, new Uint8Array([0xef, 0xbb, 0xbf, 0x0a])).reason).toMatch(/only whitespace/);
  });
  it('a csv header without rows', () => {
    expect(errorOf('h.csv', 'prompt,completion\r\n').message).toBe(
      'h.csv: the dataset is empty (a header row and no data rows)',
    );
  });
});

describe('binary files', () => {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52];
  it('a PNG renamed .txt (or .jsonl, .csv) is named', () => {
    for (const name of ['photo.txt', 'photo.jsonl', 'photo.csv']) {
      expect(errorOf(name, new Uint8Array(png)).message).toBe(
        `${name}: this looks like a binary file (PNG image), not text`,
      );
    }
  });
  it.each([
    ['JPEG image', [0xff, 0xd8, 0xff, 0xe0, 0, 0x10]],
    ['GIF image', Array.from(enc('GIF89a\x01\x00'))],
    ['PDF document', Array.from(enc('%PDF-1.7\n%abc\n'))],
    ['ZIP archive, e.g. .xlsx or .docx', [0x50, 0x4b, 3, 4, 20, 0]],
    ['gzip archive', [0x1f, 0x8b, 8, 0]],
    ['bzip2 archive', Array.from(enc('BZh91AY&SY'))],
    ['7z archive', [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]],
    ['ELF executable', [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]],
    ['WebP image', Array.from(enc('RIFF\x10\x00\x00\x00WEBPVP8 '))],
    ['MP3 audio', [0x49, 0x44, 0x33, 4, 0, 0, 0, 0]],
    ['MP4/MOV video', [0, 0, 0, 0x20, ...Array.from(enc('ftypisom'))]],
    ['SQLite database', [...Array.from(enc('SQLite format 3')), 0, 0x10]],
    ['ONNX model', [0x08, 0x07, 0x12, 0x07, ...Array.from(enc('pytorch'))]],
  ])('%s', (what, bytes) => {
    expect(errorOf('f.txt', new Uint8Array(bytes as number[])).reason).toBe(
      `this looks like a binary file (${what}), not text`,
    );
  });
  it('safetensors weights given as a dataset', () => {
    const st = writeSafetensors(new Map([['w', { shape: [2], data: new Float32Array([1, 2]) }]]));
    expect(errorOf('w.jsonl', st).reason).toBe(
      'this looks like a binary file (safetensors weights), not text',
    );
  });
  it('NUL bytes near the start, UTF-16 text', () => {
    expect(errorOf('n.txt', cat('hello', [0], 'world')).reason).toBe(
      'this looks like a binary file (a NUL byte at byte offset 5), not text',
    );
    expect(
      errorOf(
        'u.txt',
        cat(
          [0xff, 0xfe],
          Array.from(enc('hi')).flatMap((b) => [b, 0]),
        ),
      ).reason,
    ).toMatch(/UTF-16 text .* save it as UTF-8/);
    const utf16NoBom = new Uint8Array(Array.from(enc('some text here!')).flatMap((b) => [b, 0]));
    expect(errorOf('u.csv', utf16NoBom).reason).toMatch(/looks like UTF-16 text/);
  });
  it('a NUL byte far into a text is a bad line', () => {
    const text = cat('a'.repeat(9000), '\nok\nbad', [0], '\nend\n');
    expect(errorOf('late.txt', text).message).toBe(
      'late.txt: line 3: a NUL byte at byte offset 9007 (byte 4 of the line): binary data inside a text file',
    );
    expect(skip('late.txt', text).skippedLines).toBe(1);
  });
});

describe('invalid UTF-8', () => {
  // "café" in Latin-1: é is the lone byte 0xE9.
  const latin1 = cat('first line\nsecond\ncaf', [0xe9], ' au lait\nlast\n');
  it.each(['t.txt', 't.jsonl', 't.csv'])('%s: names the line and the byte offset', (name) => {
    expect(errorOf(name, latin1).message).toBe(
      `${name}: line 3: not valid UTF-8 text: byte 0xE9 at byte offset 21 (byte 4 of the line); save the file as UTF-8`,
    );
  });
  it('counts offsets in the file, byte-order mark included', () => {
    expect(errorOf('b.txt', cat([0xef, 0xbb, 0xbf], 'ab', [0xc3, 0x28])).reason).toMatch(
      /byte 0xC3 at byte offset 5 \(byte 3 of the line\)/,
    );
  });
  it('rejects overlong forms, surrogates and cut sequences', () => {
    for (const bad of [
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    ]) {
      expect(errorOf('x.txt', cat('ok ', bad)).reason).toMatch(/^not valid UTF-8 text: byte 0x/);
    }
  });
  it('with skipBadLines, txt drops the bad lines and counts them', () => {
    const ds = skip('t.txt', latin1);
    expect(new TextDecoder().decode(ds.tokens)).toBe('first line\nsecond\nlast\n');
    expect(ds.skippedLines).toBe(1);
    expect(ds.warnings).toEqual([
      't.txt: skipped 1 bad line (first: line 3: not valid UTF-8 text: byte 0xE9 at byte offset 21 (byte 4 of the line); save the file as UTF-8)',
    ]);
  });
  it('with skipBadLines, jsonl and csv drop the records on bad lines', () => {
    const jsonl = cat('{"text":"a"}\n{"text":"caf', [0xe9], '"}\n{"text":"b"}\n');
    expect(new TextDecoder().decode(skip('d.jsonl', jsonl).tokens)).toBe('a\nb\n');
    const csv = cat('text\na\n"two\ncaf', [0xe9], '"\nb\n');
    const ds = skip('d.csv', csv);
    expect(new TextDecoder().decode(ds.tokens)).toBe('a\nb\n');
    expect(ds.skippedLines).toBe(1);
    expect(ds.warnings[0]).toMatch(/^d\.csv: skipped 1 bad line \(first: line 3: not valid UTF-8/);
    expect(() => skip('h.csv', cat('te', [0xff], 'xt\na\n'))).toThrow(
      /h\.csv: line 1: the header row is unreadable/,
    );
  });
});

describe('size limits', () => {
  it('refuses a file over the limit, stating it', () => {
    expect(MAX_DATASET_SIZE_TEXT).toBe(`${MAX_DATASET_BYTES / 2 ** 20} MiB`);
    const e = errorOf('big.txt', new Uint8Array(MAX_DATASET_BYTES + 1));
    expect(e.message).toBe(
      `big.txt: the file is 128.0 MiB; the limit is ${MAX_DATASET_SIZE_TEXT} (use a part of it)`,
    );
  });
  it('one enormous line: a located error in jsonl and csv, fine (and fast) in txt', () => {
    const huge = 'x'.repeat(MAX_LINE_CHARS);
    expect(errorOf('l.jsonl', `{"text":"a"}\n{"text":"${huge}"}\n`).message).toBe(
      `l.jsonl: line 2: the line has ${MAX_LINE_CHARS + 11} characters; a JSONL line may have at most 4 Mi characters`,
    );
    expect(errorOf('l.csv', `text\na\n${huge}y\n`).message).toBe(
      'l.csv: line 3: the record is longer than 4 Mi characters, the most a CSV record may have',
    );
    expect(skip('l.jsonl', `{"text":"${huge}"}\n{"text":"a"}`).skippedLines).toBe(1);
    const t0 = performance.now();
    const ds = parseDataset('one-line.txt', enc('abc '.repeat(5_000_000)));
    expect(ds.tokens.length).toBe(20_000_000);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('jsonl records', () => {
  const file = (bad: string) =>
    ['{"text":"a"}', '{"prompt":"p","completion":"c"}', bad, '{"text":"z"}'].join('\n');
  it.each([
    ['{"text": "x"', /^not valid JSON \(.+\)$/],
    [
      '{"text": 3}',
      /^expected "text" or "prompt"\+"completion" string fields \("text" is a number, not a string\)$/,
    ],
    ['{"prompt": "x"}', /\("prompt" has no "completion"\)$/],
    ['{"completion": "x"}', /\("completion" has no "prompt"\)$/],
    ['{"prompt": "x", "completion": null}', /\("completion" is null, not a string\)$/],
    ['{"prompt": ["x"], "completion": "y"}', /\("prompt" is an array, not a string\)$/],
    ['{"txt": "x"}', /\(found key "txt"\)$/],
    ['{}', /\(the object is empty\)$/],
    ['"just a string"', /in a JSON object, got a string$/],
    ['[1, 2]', /in a JSON object, got an array$/],
    ['null', /in a JSON object, got null$/],
    ['{"text":"a","prompt":"b","completion":"c"}', /^has both "text" and "prompt"\+"completion"/],
  ])('%s', (bad, reason) => {
    const e = errorOf('d.jsonl', file(bad));
    expect(e.file).toBe('d.jsonl');
    expect(e.line).toBe(3);
    expect(e.reason).toMatch(reason);
    expect(e.message.startsWith('d.jsonl: line 3: ')).toBe(true);
    const ds = skip('d.jsonl', file(bad));
    expect(ds.examples).toBe(3);
    expect(ds.skippedLines).toBe(1);
  });
  it('accepts extra keys, with one warning naming them and the first line', () => {
    const ds = parseDataset(
      'x.jsonl',
      '{"text":"a"}\n{"text":"b","id":1}\n{"prompt":"p","completion":"c","id":2,"meta":{}}\n{"text":"t","prompt":"q"}',
    );
    expect(ds.examples).toBe(4);
    expect(ds.skippedLines).toBe(0);
    expect(ds.warnings).toEqual([
      'x.jsonl: line 2: ignored keys "id", "meta", "prompt" (not used for training)',
    ]);
  });
  it('CRLF endings and a BOM are fine', () => {
    const ds = parseDataset('w.jsonl', cat([0xef, 0xbb, 0xbf], '{"text":"a"}\r\n{"text":"b"}\r\n'));
    expect(new TextDecoder().decode(ds.tokens)).toBe('a\nb\n');
    expect(ds.warnings).toEqual([]);
  });
  it('skipping every line is still an empty dataset', () => {
    expect(() => skip('all.jsonl', 'nope\n{"a":1}\n')).toThrow(
      /^all\.jsonl: the dataset is empty: all 2 lines with content were bad and skipped \(first: line 1: not valid JSON/,
    );
  });
});

describe('csv records', () => {
  it('quoted commas and line breaks, CRLF and a BOM', () => {
    const ds = parseDataset('q.csv', cat([0xef, 0xbb, 0xbf], 'text\r\n"a, b"\r\n"two\r\nlines"\r\nc\r\n'));
    expect(new TextDecoder().decode(ds.tokens)).toBe('a, b\ntwo\r\nlines\nc\n');
  });
  it('a bad record is named by its first line, even when it spans several', () => {
    expect(errorOf('r.csv', 'text,id\na,1\n"multi\nline",2,extra\nz,3\n').message).toBe(
      'r.csv: line 3: expected 2 fields, got 3 (a field with a comma needs "quotes")',
    );
    expect(errorOf('r.csv', 'text\na\nb,c\n').message).toBe(
      'r.csv: line 3: expected 1 fields, got 2 (a field with a comma needs "quotes")',
    );
    expect(errorOf('r.csv', 'prompt,completion\np\n').reason).toMatch(/^expected 2 fields, got 1/);
    expect(errorOf('r.csv', 'text\n"a\nb"x\n').message).toBe(
      'r.csv: line 2: unexpected character "x" after a closing quote (on line 3)',
    );
  });
  it('an unclosed quote is fatal, even when skipping', () => {
    const src = 'text\na\n"never closed\nb\nc\n';
    expect(errorOf('u.csv', src).message).toBe(
      'u.csv: line 3: a quoted field is never closed (it runs to the end of the file)',
    );
    expect(() => skip('u.csv', src)).toThrow(/line 3: a quoted field is never closed/);
  });
  it('missing and duplicate columns', () => {
    expect(errorOf('m.csv', 'prompt,answer\na,b\n').message).toBe(
      'm.csv: line 1: the header needs a "text" column or "prompt" and "completion" columns (got "prompt", "answer")',
    );
    expect(errorOf('m.csv', 'text,Text\na,b\n').message).toBe(
      'm.csv: line 1: the header has the column "text" twice',
    );
  });
  it('unknown columns: accepted, with a warning', () => {
    const ds = parseDataset('c.csv', 'id,prompt,completion,source\n1,p,c,web\n');
    expect(ds.warnings).toEqual(['c.csv: line 1: ignored columns "id", "source" (not used for training)']);
  });
  it('a malformed header is fatal, even when skipping', () => {
    expect(() => skip('h.csv', 'te"xt\na\n')).toThrow(
      'h.csv: line 1: the header row: a quote inside an unquoted field',
    );
  });
  it('with skipBadLines, bad records are dropped and counted; parsing resumes on the next line', () => {
    const ds = skip('s.csv', 'text\na\nb,c\nd"e\n"f"g\nh\n');
    expect(new TextDecoder().decode(ds.tokens)).toBe('a\nh\n');
    expect(ds.skippedLines).toBe(3);
    expect(ds.warnings).toEqual([
      's.csv: skipped 3 bad lines (first: line 3: expected 1 fields, got 2 (a field with a comma needs "quotes"))',
    ]);
  });
});

describe('other bad input', () => {
  it('an unknown format is a DatasetError', () => {
    expect(errorOf('x.parquet', 'abc').message).toMatch(/^x\.parquet: cannot tell the dataset format/);
  });
  it('fewer tokens than one batch needs', () => {
    const ds = parseDataset('short.txt', 'abcdefghi');
    let e: unknown;
    try {
      checkBatchable(ds, 4, 16);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as DatasetError).message).toBe(
      'short.txt: 9 bytes of training data, but sequence length 16 needs at least T + 2 = 18 tokens (one window of T + 1, and room to move it): lower the sequence length or add data',
    );
    expect(() => checkBatchable(ds, 4, 7)).not.toThrow();
    // Enough for a window but not for a batch without overlap: a warning, not an error.
    expect(batchShortfall('short.txt', 9, 4, 7)).toBe(
      'short.txt: 9 bytes of training data are fewer than one batch needs without overlap (B·T + 1 = 4·7 + 1 = 29); the rows of each batch overlap: lower the batch or sequence length, or add data',
    );
    expect(batchShortfall('long.txt', 29, 4, 7)).toBeUndefined();
  });
});
