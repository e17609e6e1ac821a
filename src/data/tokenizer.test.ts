import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { byteTokenizer, loadTokenizerJson, TokenizerError } from './tokenizer';

const dir = new URL('../io/fixtures/tiny-gpt2/', import.meta.url);
const json = readFileSync(new URL('tokenizer.json', dir), 'utf8');
const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as {
  vocab_size: number;
  eos: number;
  samples: { text: string; ids: number[]; decoded: string }[];
};

describe('tokenizer.json (byte-level BPE, vocabulary 1,000, made by tools/fixtures/make_tiny_gpt2.py)', () => {
  const tok = loadTokenizerJson(json, { modelVocab: 1000 });

  it.each(expected.samples.map((s) => [JSON.stringify(s.text.slice(0, 24)), s] as const))(
    'encodes %s to the Python tokenizer ids and decodes as it does',
    (_, s) => {
      expect(tok.encode(s.text)).toEqual(s.ids);
      expect(tok.decode(s.ids)).toBe(s.decoded);
    },
  );

  it('knows its vocabulary, end-of-text id and the line-break separator', () => {
    expect(tok.vocabSize).toBe(expected.vocab_size);
    expect(tok.eos).toBe(expected.eos);
    expect(tok.separator.length).toBe(1);
    expect(tok.decode(tok.separator)).toBe('\n');
  });

  it('refuses a tokenizer larger than the model vocabulary', () => {
    expect(() => loadTokenizerJson(json, { modelVocab: 999 })).toThrow(/vocab_size is 999/);
  });

  it('names what is wrong with a file that is not a tokenizer.json', () => {
    expect(() => loadTokenizerJson('{', {})).toThrow(TokenizerError);
    expect(() => loadTokenizerJson('[]')).toThrow(/JSON object/);
    expect(() => loadTokenizerJson('{"version":"1.0"}')).toThrow(/no "model" section/);
    expect(() => loadTokenizerJson('{"model":{"type":"SentencePieceMagic","vocab":{}}}')).toThrow(
      /"SentencePieceMagic" is not one this tool reads/,
    );
  });
});

describe('byte tokenizer', () => {
  it('is UTF-8 bytes both ways', () => {
    expect(byteTokenizer.encode('é\n')).toEqual([0xc3, 0xa9, 0x0a]);
    expect(byteTokenizer.decode([0xc3, 0xa9])).toBe('é');
    expect(byteTokenizer.decode([0xc3])).toBe('\ufffd');
  });
});
