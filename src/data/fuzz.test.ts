// Property tests of the dataset parsers (issue #13): over generated inputs, parseDataset returns a
// well-formed dataset or throws a DatasetError, never anything else, and never takes long. 10,400 inputs in
// all: random bytes, random Unicode, and near-valid JSONL/CSV files with mutations (the inputs most likely
// to reach deep into the parsers). Seeds are fixed so a failure reproduces; fast-check prints the input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv';
import { DATASET_FORMATS, parseDataset, type DatasetFormat, type ParsedDataset } from './dataset';
import { DatasetError } from './errors';

/** A call slower than this is a hang or a super-linear path (inputs are a few KB; typical calls take ~1 ms). */
const MAX_CALL_MS = 1500;
let slowest = 0;
const outcomes = { accepted: 0, rejected: 0, skipped: 0 };

/** Parse, and check the outcome: a DatasetError, or a dataset whose invariants hold. */
function check(
  content: string | Uint8Array,
  format: DatasetFormat,
  skipBadLines: boolean,
  maxMs = MAX_CALL_MS,
): void {
  const name = `fuzz.${format}`;
  const t0 = performance.now();
  let ds: ParsedDataset<Uint8Array> | undefined;
  try {
    ds = parseDataset(name, content, format, { skipBadLines });
  } catch (e) {
    if (!(e instanceof DatasetError)) throw e;
    outcomes.rejected++;
    expect(e.file).toBe(name);
    expect(e.message.startsWith(`${name}: `)).toBe(true);
  }
  const ms = performance.now() - t0;
  slowest = Math.max(slowest, ms);
  expect(ms).toBeLessThan(maxMs);
  if (!ds) return;
  outcomes.accepted++;
  if (ds.skippedLines > 0) outcomes.skipped++;
  const N = ds.tokens.length;
  expect(N).toBeGreaterThan(0);
  expect(ds.mask.length).toBe(N);
  expect(ds.exampleOffsets.length).toBe(ds.examples + 1);
  expect(ds.exampleOffsets[0]).toBe(0);
  expect(ds.exampleOffsets[ds.examples]).toBe(N);
  let increasing = true;
  for (let e = 0; e < ds.examples; e++) increasing &&= ds.exampleOffsets[e + 1] > ds.exampleOffsets[e];
  expect(increasing).toBe(true);
  expect(ds.mask.includes(1)).toBe(true);
  if (!skipBadLines) expect(ds.skippedLines).toBe(0);
  else if (ds.skippedLines > 0) expect(ds.warnings.some((w) => w.includes('skipped'))).toBe(true);
  // Whatever strict parsing accepts, skipping accepts identically.
  if (!skipBadLines) {
    const again = parseDataset(name, content, format, { skipBadLines: true });
    expect(sameBytes(again.tokens, ds.tokens) && sameBytes(again.mask, ds.mask)).toBe(true);
  }
}

/** Byte equality without a deep-equality walk (megabyte inputs below). */
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

const format = fc.constantFrom(...DATASET_FORMATS);
const options = { seed: 13, endOnFailure: true } as const;

// Characters that matter to the parsers, and bytes that break UTF-8 or look binary.
const SPECIAL = [
  '"',
  ',',
  '\n',
  '\r',
  '\r\n',
  '{',
  '}',
  '[',
  ']',
  ':',
  '\\',
  ' ',
  '\t',
  '\u0000',
  '\ufeff',
  'é',
  '😀',
];
const BAD_BYTES = [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0x00], [0x89, 0x50, 0x4e, 0x47]];

/** A string value for a record: plain, tricky, or empty. */
const value = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: fc.constantFrom(...SPECIAL, 'a', 'b'), maxLength: 8 }),
  fc.constant(''),
);
/** A JSONL record: usually valid, sometimes with a wrong type, a missing or an extra field. */
const record = fc.oneof(
  fc.record({ text: value }),
  fc.record({ prompt: value, completion: value }),
  fc.record({ prompt: value }),
  fc.record({ text: fc.oneof(fc.integer(), fc.constant(null), fc.array(value, { maxLength: 2 })) }),
  fc.record({ text: value, id: fc.integer(), extra: value }),
  fc.anything({ maxDepth: 2 }),
);

/** Edits applied to a serialized file: insert a special character, delete or cut, or splice in bad bytes. */
type Mutation = { at: number; kind: 'insert'; s: string } | { at: number; kind: 'delete' | 'cut' };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.nat(), kind: fc.constant('insert' as const), s: fc.constantFrom(...SPECIAL) }),
  fc.record({ at: fc.nat(), kind: fc.constantFrom('delete' as const, 'cut' as const) }),
);
function mutate(text: string, ms: Mutation[]): string {
  let s = text;
  for (const m of ms) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    if (m.kind === 'insert') s = s.slice(0, at) + m.s + s.slice(at);
    else if (m.kind === 'delete') s = s.slice(0, at) + s.slice(at + 1);
    else s = s.slice(0, at);
  }
  return s;
}
/** Bytes of the text, with bad byte sequences spliced in at some positions. */
const withBadBytes = (text: string, at: number[], which: number[]): Uint8Array => {
  const bytes = Array.from(new TextEncoder().encode(text));
  at.forEach((a, i) => bytes.splice(a % (bytes.length + 1), 0, ...BAD_BYTES[which[i] % BAD_BYTES.length]));
  return new Uint8Array(bytes);
};

const csvField = fc.oneof(
  value,
  value.map((v) => `"${v.replaceAll('"', '""')}"`),
);
const csvHeader = fc.constantFrom(
  'text',
  'prompt,completion',
  'id,text',
  'text,prompt,completion',
  'a,b',
  '',
);

describe('dataset parsers under generated input', () => {
  it('10,400 inputs: a dataset or a DatasetError, each fast', { timeout: 120_000 }, () => {
    const t0 = performance.now();
    let runs = 0;
    const count = <T>(p: fc.IPropertyWithHooks<T>) => p.afterEach(() => runs++);

    // Random bytes, mostly short; some start like text so they get past the binary sniffing.
    fc.assert(
      count(
        fc.property(
          fc.uint8Array({ maxLength: 600 }),
          fc.boolean(),
          format,
          fc.boolean(),
          (bytes, textLike, fmt, skip) => {
            const input = textLike
              ? new Uint8Array([0x61, 0x0a, ...bytes.map((b) => (b === 0 ? 0x20 : b))])
              : bytes;
            check(input, fmt, skip);
          },
        ),
      ),
      { ...options, numRuns: 2400 },
    );
    // Random Unicode strings, lone surrogates included ('binary' units).
    fc.assert(
      count(
        fc.property(
          fc.oneof(
            fc.string({ unit: 'binary', maxLength: 300 }),
            fc.string({ unit: 'grapheme', maxLength: 300 }),
          ),
          format,
          fc.boolean(),
          (s, fmt, skip) => check(s, fmt, skip),
        ),
      ),
      { ...options, numRuns: 2000 },
    );
    // Near-valid JSONL: serialized records, mutated, sometimes with bad bytes.
    fc.assert(
      count(
        fc.property(
          fc.array(record, { maxLength: 12 }),
          fc.array(mutation, { maxLength: 4 }),
          fc.array(fc.nat(), { maxLength: 2 }),
          fc.array(fc.nat(), { minLength: 2, maxLength: 2 }),
          fc.constantFrom('\n', '\r\n'),
          fc.boolean(),
          (records, ms, badAt, which, eol, skip) => {
            const text = mutate(records.map((r) => JSON.stringify(r) ?? 'undefined').join(eol), ms);
            check(badAt.length > 0 ? withBadBytes(text, badAt, which) : text, 'jsonl', skip);
          },
        ),
      ),
      { ...options, numRuns: 3000 },
    );
    // Near-valid CSV: a header and rows of plain or quoted fields, mutated, sometimes with bad bytes.
    fc.assert(
      count(
        fc.property(
          csvHeader,
          fc.array(fc.array(csvField, { minLength: 1, maxLength: 4 }), { maxLength: 10 }),
          fc.array(mutation, { maxLength: 4 }),
          fc.array(fc.nat(), { maxLength: 2 }),
          fc.array(fc.nat(), { minLength: 2, maxLength: 2 }),
          fc.constantFrom('\n', '\r\n', '\r'),
          fc.boolean(),
          (header, rows, ms, badAt, which, eol, skip) => {
            const text = mutate([header, ...rows.map((r) => r.join(','))].join(eol), ms);
            check(badAt.length > 0 ? withBadBytes(text, badAt, which) : text, 'csv', skip);
          },
        ),
      ),
      { ...options, numRuns: 3000 },
    );
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `fuzz: ${runs} inputs in ${seconds.toFixed(1)} s (slowest call ${slowest.toFixed(1)} ms)`,
      outcomes,
    );
    expect(runs).toBeGreaterThanOrEqual(10_000);
    expect(seconds).toBeLessThan(60);
  });

  it('the csv reader alone throws only DatasetError', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('"', ',', '\n', '\r', 'a', ' '), maxLength: 60 }),
        (s) => {
          try {
            parseCsv(s, 'f.csv');
          } catch (e) {
            expect(e).toBeInstanceOf(DatasetError);
          }
        },
      ),
      { ...options, numRuns: 1000 },
    );
  });

  // Shapes known to make naive parsers quadratic or blow the stack, at sizes where that would show.
  it.each([
    ['jsonl', '['.repeat(1_000_000)],
    ['jsonl', `{"text":"${'\\"'.repeat(1_000_000)}"}`],
    ['csv', `text\n${'"'.repeat(1_000_001)}`],
    ['csv', `text\n${'""'.repeat(1_000_000)}`],
    ['csv', `text\n${',\n'.repeat(500_000)}`],
    ['txt', '\n'.repeat(2_000_000) + 'x'],
    ['txt', `${'\u00e9'.repeat(1_000_000)}\udc00`],
  ] as const)('%s pathological input finishes quickly', (fmt, content) => {
    const t0 = performance.now();
    // Megabyte inputs: a linear parser takes well under a second even on a loaded machine.
    check(content, fmt, false, 3000);
    check(content, fmt, true, 3000);
    expect(performance.now() - t0).toBeLessThan(6000);
  });
});
