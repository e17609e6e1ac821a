// Datasets in a user's tokenizer (issue #15): the tiny GPT-2 fixture's byte-level BPE, vocabulary 1,000.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ByteLevelPreTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { checkBatchable } from './batches';
import { datasetStats, parseDataset, splitDataset } from './dataset';
import { DatasetError } from './errors';
import { decodeTokens, encodeText, exampleText, lineBreakCuts, tokenizeExamples } from './tokenize';
import { allocTokens, byteTokenizer, loadTokenizerJson, type TextTokenizer } from './tokenizer';

const dir = new URL('../io/fixtures/tiny-gpt2/', import.meta.url);
const json = readFileSync(new URL('tokenizer.json', dir), 'utf8');
const tok = loadTokenizerJson(json, { modelVocab: 1000 });
const devils = readFileSync(new URL('../../public/datasets/devils-dictionary.txt', import.meta.url), 'utf8');

const pairs = [
  { prompt: 'name[The Eagle], food[French] => ', completion: 'The Eagle serves French food.' },
  { prompt: 'Q: 2+2?\nA:', completion: ' 4' },
  { prompt: 'Ünïcödé — ', completion: '東京 🙂\ttabs  and  spaces' },
];

/** encode(prompt) ++ encode(completion) ++ separator per example, with masks 0 / 1 / 1. */
function expectedStream(examples: ({ text: string } | { prompt: string; completion: string })[]) {
  const ids: number[] = [];
  const mask: number[] = [];
  const offsets = [0];
  for (const ex of examples) {
    const pieces: [string, number][] =
      'text' in ex
        ? [[ex.text, 1]]
        : [
            [ex.prompt, 0],
            [ex.completion, 1],
          ];
    for (const [text, m] of pieces) {
      const t = tok.encode(text);
      ids.push(...t);
      mask.push(...t.map(() => m));
    }
    ids.push(...tok.separator);
    mask.push(...tok.separator.map(() => 1));
    offsets.push(ids.length);
  }
  return { ids, mask, offsets };
}

describe('datasets in a tokenizer.json tokenizer', () => {
  it('jsonl prompt/completion: encode(prompt) ++ encode(completion) ++ separator, masks 0 then 1', () => {
    const file = pairs.map((p) => JSON.stringify(p)).join('\n');
    const ds = parseDataset('pc.jsonl', file, undefined, { tokenizer: tok });
    const want = expectedStream(pairs);
    expect(ds.tokens).toBeInstanceOf(Uint16Array);
    expect(Array.from(ds.tokens)).toEqual(want.ids);
    expect(Array.from(ds.mask)).toEqual(want.mask);
    expect(Array.from(ds.exampleOffsets)).toEqual(want.offsets);
    expect(ds.examples).toBe(3);
    // Separately encoded, not the encoding of the joined text (which merges across the join).
    const joined = tok.encode(pairs[0].prompt + pairs[0].completion + '\n');
    expect(Array.from(ds.tokens.subarray(0, ds.exampleOffsets[1]))).not.toEqual(joined);
    const stats = datasetStats(ds);
    expect(stats).toEqual({
      tokens: want.ids.length,
      examples: 3,
      targetTokens: want.mask.reduce((a, m) => a + m, 0),
    });
  });

  it('jsonl text examples: encode(text) ++ separator, all targets', () => {
    const texts = [{ text: 'The quick brown fox.' }, { text: 'jumps\n\nover  the lazy dog' }];
    const ds = parseDataset('t.jsonl', texts.map((t) => JSON.stringify(t)).join('\n'), undefined, {
      tokenizer: tok,
    });
    const want = expectedStream(texts);
    expect(Array.from(ds.tokens)).toEqual(want.ids);
    expect(Array.from(ds.mask)).toEqual(want.mask);
  });

  it('csv prompt/completion the same as jsonl', () => {
    const csv = 'prompt,completion\n' + pairs.map((p) => `"${p.prompt}","${p.completion}"`).join('\n');
    const ds = parseDataset('pc.csv', csv, undefined, { tokenizer: tok });
    const want = expectedStream(pairs);
    expect(Array.from(ds.tokens)).toEqual(want.ids);
    expect(Array.from(ds.mask)).toEqual(want.mask);
    expect(Array.from(ds.exampleOffsets)).toEqual(want.offsets);
  });

  it('txt: the ids of encoding the whole file (a long one goes in pieces), every token a target', () => {
    const seen: number[] = [];
    const ds = parseDataset('devils-dictionary.txt', devils, undefined, {
      tokenizer: tok,
      onProgress: (f) => seen.push(f),
    });
    const whole = tok.encode(devils);
    expect(ds.tokens).toBeInstanceOf(Uint16Array);
    expect(ds.tokens.length).toBe(whole.length);
    expect(ds.tokens.every((t, i) => t === whole[i])).toBe(true);
    expect(ds.mask.every((m) => m === 1)).toBe(true);
    expect(Array.from(ds.exampleOffsets)).toEqual([0, whole.length]);
    // devils-dictionary.txt is several pieces of ENCODE_CHUNK_CHARS: progress rises to 1.
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.every((f, i) => f > 0 && f <= 1 && (i === 0 || f > seen[i - 1]))).toBe(true);
    expect(seen.at(-1)).toBe(1);
    expect(decodeTokens(ds, tok)).toBe(devils);
  });

  it('a BOM is dropped and bad lines are skipped before encoding', () => {
    const raw = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('héllo wörld\n')]);
    expect(Array.from(parseDataset('b.txt', raw, undefined, { tokenizer: tok }).tokens)).toEqual(
      tok.encode('héllo wörld\n'),
    );
    const withBad = new Uint8Array([...new TextEncoder().encode('good line\n'), 0xff, 0x0a, 0x41]);
    const ds = parseDataset('s.txt', withBad, undefined, { tokenizer: tok, skipBadLines: true });
    expect(Array.from(ds.tokens)).toEqual(tok.encode('good line\nA'));
  });

  it('too few tokens for one window: the error counts tokens, not bytes', () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const ds = parseDataset('short.txt', text, undefined, { tokenizer: tok });
    const n = tok.encode(text).length;
    expect(n).toBeLessThan(text.length);
    let e: unknown;
    try {
      checkBatchable(ds, 2, 64);
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as DatasetError).message).toBe(
      `short.txt: ${n} tokens of training data, but sequence length 64 needs at least T + 2 = 66 tokens (one window of T + 1, and room to move it): lower the sequence length or add data`,
    );
    expect(() => checkBatchable(ds, 2, n - 2)).not.toThrow();
    expect(() => splitDataset(parseDataset('one.txt', 'The', undefined, { tokenizer: tok }), 0.5)).toThrow(
      'one.txt: 1 token(s) cannot be split',
    );
  });

  it('splits keep the token width and the ids', () => {
    const file = pairs.map((p) => JSON.stringify(p)).join('\n');
    const ds = parseDataset('pc.jsonl', file, undefined, { tokenizer: tok });
    const { train, val } = splitDataset(ds, 0.4);
    expect(train.tokens).toBeInstanceOf(Uint16Array);
    expect(val!.tokens).toBeInstanceOf(Uint16Array);
    expect([...train.tokens, ...val!.tokens]).toEqual(Array.from(ds.tokens));
  });

  it('previews decode each example back to its text, split into prompt and completion by the mask', () => {
    const ds = parseDataset('pc.jsonl', pairs.map((p) => JSON.stringify(p)).join('\n'), undefined, {
      tokenizer: tok,
    });
    pairs.forEach((p, e) => expect(exampleText(ds, e, tok)).toEqual(p));
    const txt = parseDataset('t.txt', 'one\ntwo\n', undefined, { tokenizer: tok });
    expect(exampleText(txt, 0, tok)).toEqual({ text: 'one\ntwo\n' });
    expect(decodeTokens(ds, tok, ds.exampleOffsets[1], ds.exampleOffsets[2])).toBe('Q: 2+2?\nA: 4\n');
    const bytes = parseDataset('b.jsonl', '{"prompt":"a","completion":"b"}');
    expect(exampleText(bytes, 0, byteTokenizer)).toEqual({ prompt: 'a', completion: 'b' });
  });
});

describe('token width', () => {
  it('bytes for the byte models, u16 up to 65,536 ids, else u32', () => {
    expect(allocTokens(byteTokenizer, 3)).toBeInstanceOf(Uint8Array);
    const bpe = (vocabSize: number) => ({ kind: 'tokenizer.json' as const, vocabSize });
    expect(allocTokens(bpe(1000), 3)).toBeInstanceOf(Uint16Array);
    expect(allocTokens(bpe(50257), 3)).toBeInstanceOf(Uint16Array);
    expect(allocTokens(bpe(65536), 3)).toBeInstanceOf(Uint16Array);
    expect(allocTokens(bpe(65537), 3)).toBeInstanceOf(Uint32Array);
  });

  it('ids past 65,535 survive in a large vocabulary (u32)', () => {
    // One id per character, shifted past 16 bits.
    const wide: TextTokenizer = {
      kind: 'tokenizer.json',
      vocabSize: 70_000,
      encode: (text) => Array.from(text, (c) => 65_536 + c.charCodeAt(0)),
      decode: (ids) => String.fromCharCode(...Array.from(ids, (i) => i - 65_536)),
      separator: [65_536 + 10],
    };
    const ds = tokenizeExamples('w.jsonl', 'jsonl', [{ prompt: 'ab', completion: 'c' }], wide);
    expect(ds.tokens).toBeInstanceOf(Uint32Array);
    expect(Array.from(ds.tokens)).toEqual([65_633, 65_634, 65_635, 65_546]);
    expect(Array.from(ds.mask)).toEqual([0, 0, 1, 1]);
    expect(exampleText(ds, 0, wide)).toEqual({ prompt: 'ab', completion: 'c' });
  });

  it('byte datasets are unchanged: UTF-8 bytes in a Uint8Array, the same with the tokenizer given', () => {
    const file = pairs.map((p) => JSON.stringify(p)).join('\n');
    const plain = parseDataset('pc.jsonl', file);
    const given = parseDataset('pc.jsonl', file, undefined, { tokenizer: byteTokenizer });
    expect(plain.tokens).toBeInstanceOf(Uint8Array);
    expect(given).toEqual(plain);
    const utf8 = (s: string) => Array.from(new TextEncoder().encode(s));
    expect(Array.from(plain.tokens)).toEqual(pairs.flatMap((p) => utf8(p.prompt + p.completion + '\n')));
    expect(Array.from(plain.mask)).toEqual(
      pairs.flatMap((p) => [...utf8(p.prompt).map(() => 0), ...utf8(p.completion + '\n').map(() => 1)]),
    );
    const txt = parseDataset('d.txt', devils, undefined, { tokenizer: byteTokenizer });
    expect(txt.tokens).toBeInstanceOf(Uint8Array);
    expect(txt.tokens.length).toBe(new TextEncoder().encode(devils).length);
  });
});

describe('encoding a long text in pieces', () => {
  // Runs of whitespace of every kind around words, numbers, marks, contractions and the special token.
  const piece = fc.constantFrom(
    '\n',
    '\n',
    '\n\n',
    ' ',
    '  ',
    '\t',
    '\r\n',
    '\u00a0',
    '\u2028',
    'the',
    ' fox',
    'A',
    '42',
    ' 7',
    '.',
    ',',
    '—',
    "'s",
    "'ll",
    'é',
    '東京',
    '🙂',
    '<|endoftext|>',
  );
  const text = fc.array(piece, { maxLength: 60 }).map((p) => p.join(''));

  it('cuts only before "\\n" followed by non-whitespace, about every chunkChars', () => {
    expect(lineBreakCuts('ab\ncd\n\nef\n gh\n', 1)).toEqual([2, 6]);
    expect(lineBreakCuts('ab\ncd\n\nef', 4)).toEqual([6]);
    expect(lineBreakCuts('\nab', 1)).toEqual([]);
    expect(lineBreakCuts('', 1)).toEqual([]);
  });

  it('gives exactly the ids of encoding the whole text (fast-check, fixture tokenizer)', () => {
    expect(tok.cutsAtLineBreaks).toBe(true);
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 12 }), (t, chunkChars) => {
        expect(Array.from(encodeText(tok, t, { chunkChars }))).toEqual(tok.encode(t));
      }),
      { numRuns: 500, seed: 15 },
    );
  });

  // The fixture has no merge containing "\n", so its ids cannot tell a good cut from a bad one there.
  // Pre-tokens can, for every vocabulary: BPE merges only within a pre-token, so the same pre-tokens
  // give the same ids with GPT-2's 50,257 (which merges "\n\n") as with the fixture's 1,000.
  const byteLevel = new ByteLevelPreTokenizer({
    type: 'ByteLevel',
    add_prefix_space: false,
    use_regex: true,
  });
  const preTokens = (t: string, cuts: number[]) =>
    [0, ...cuts].flatMap((from, i) => byteLevel.pre_tokenize_text(t.slice(from, cuts[i] ?? t.length)));

  it("gives the pre-tokens of the whole text (fast-check, the library's byte-level pre-tokenizer)", () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 12 }), (t, chunkChars) => {
        expect(preTokens(t, lineBreakCuts(t, chunkChars))).toEqual(byteLevel.pre_tokenize_text(t));
      }),
      { numRuns: 1000, seed: 15 },
    );
  });

  it.each([
    ['before every "\n"', /\n/g],
    ['after every "\n" followed by non-whitespace', /(?<=\n)\S/g],
    ['after every space followed by non-whitespace', /(?<= )\S/g],
  ])('the property can fail: cutting %s changes pre-tokens', (_, re) => {
    const cuts = (t: string) => [...t.matchAll(re)].map((m) => m.index).filter((i) => i > 0);
    const result = fc.check(
      fc.property(text, (t) => {
        expect(preTokens(t, cuts(t))).toEqual(byteLevel.pre_tokenize_text(t));
      }),
      { numRuns: 1000, seed: 15 },
    );
    expect(result.failed).toBe(true);
  });

  it('jsonl of generated prompt/completion pairs: the stream, masks and offsets (fast-check)', () => {
    const pair = fc.record({ prompt: text, completion: text });
    fc.assert(
      fc.property(fc.array(pair, { minLength: 1, maxLength: 6 }), (examples) => {
        const file = examples.map((e) => JSON.stringify(e)).join('\n');
        const ds = parseDataset('g.jsonl', file, undefined, { tokenizer: tok });
        const want = expectedStream(examples);
        expect(Array.from(ds.tokens)).toEqual(want.ids);
        expect(Array.from(ds.mask)).toEqual(want.mask);
        expect(Array.from(ds.exampleOffsets)).toEqual(want.offsets);
      }),
      { numRuns: 200, seed: 15 },
    );
  });

  it('is off for tokenizers that see across the cut', () => {
    const o = JSON.parse(json) as Record<string, Record<string, unknown>>;
    const variant = (change: (o: Record<string, Record<string, unknown>>) => void) => {
      const c = structuredClone(o);
      change(c);
      return loadTokenizerJson(JSON.stringify(c)).cutsAtLineBreaks;
    };
    expect(variant(() => {})).toBe(true);
    expect(variant((c) => (c.pre_tokenizer.add_prefix_space = true))).toBe(false);
    expect(variant((c) => (c.pre_tokenizer.use_regex = false))).toBe(false);
    expect(variant((c) => (c.normalizer = { type: 'NFC' }))).toBe(false);
    expect(variant((c) => (c.pre_tokenizer = { type: 'Sequence', pretokenizers: [c.pre_tokenizer] }))).toBe(
      false,
    );
    expect(variant((c) => (c.model.dropout = 0.1))).toBe(false);
    // A tokenizer without the property is encoded in one call.
    const whole: TextTokenizer = { ...tok, cutsAtLineBreaks: false, encode: (t) => tok.encode(t) };
    let calls = 0;
    const counting: TextTokenizer = { ...whole, encode: (t) => (calls++, whole.encode(t)) };
    encodeText(counting, 'a\nb\nc\nd', { chunkChars: 1 });
    expect(calls).toBe(1);
  });
});
