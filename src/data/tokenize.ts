// A dataset's text as one token stream with a loss mask, in the model's tokenizer (UTF-8 bytes for the
// built-in models, a tokenizer.json for a user's GPT-2 checkpoint), and back to text for previews.
//
// jsonl / csv examples are concatenated, each followed by `tokenizer.separator` (the encoding of "\n",
// mask 1, so that after a completion the model learns to stop). For prompt/completion examples the
// prompt and the completion are encoded separately and concatenated, as Hugging Face fine-tuning scripts
// do; prompt tokens get mask 0, completion tokens mask 1. A txt file is one document, all mask 1.
import type { DatasetFormat, TokenizedDataset } from './dataset';
import { DatasetError } from './errors';
import type { Example } from './records';
import { allocTokens, byteTokenizer, type TextTokenizer, type TokenArray } from './tokenizer';

// Offsets are stored as u32 and batches index with u32: keep every position representable.
const MAX_TOKENS = 0xffff_ff00;

/** Characters per piece when a long text is encoded piece by piece (see encodeText). */
export const ENCODE_CHUNK_CHARS = 1 << 16;

/** Called with the fraction of the dataset tokenised so far, in (0, 1]; the last call is with 1. */
export type ProgressCallback = (fraction: number) => void;

/** What a token of the dataset is, for messages: UTF-8 bytes for the byte models. */
export type TokenUnit = 'bytes' | 'tokens';

/** A byte model's tokens are its UTF-8 bytes, the only ones stored as Uint8Array (allocTokens). */
export function tokenUnit(ds: Pick<TokenizedDataset, 'tokens'>): TokenUnit {
  return ds.tokens instanceof Uint8Array ? 'bytes' : 'tokens';
}

function unitOf(tokenizer: TextTokenizer): TokenUnit {
  return tokenizer.kind === 'bytes' ? 'bytes' : 'tokens';
}

const utf8 = new TextEncoder();

/**
 * Positions at which `text` is cut into pieces of about `chunkChars` characters: just before a "\n"
 * that follows at least one character and precedes a non-whitespace one, the first such at or past each
 * piece's length. For a tokenizer with `cutsAtLineBreaks`, encoding the pieces gives the ids of the whole.
 */
export function lineBreakCuts(text: string, chunkChars: number): number[] {
  const cuts: number[] = [];
  const re = /\n(?=\S)/g;
  let from = 0;
  for (;;) {
    re.lastIndex = from + Math.max(1, chunkChars);
    const m = re.exec(text);
    if (m === null) return cuts;
    cuts.push(m.index);
    from = m.index;
  }
}

/**
 * Token ids of a text. A long text is encoded in pieces when the tokenizer allows it (cutsAtLineBreaks):
 * the same ids, in bounded memory, with progress; otherwise in one call.
 */
export function encodeText(
  tokenizer: TextTokenizer,
  text: string,
  options: { chunkChars?: number; onProgress?: ProgressCallback } = {},
): TokenArray {
  if (tokenizer.kind === 'bytes') {
    const bytes = utf8.encode(text);
    options.onProgress?.(1);
    return bytes;
  }
  const chunkChars = options.chunkChars ?? ENCODE_CHUNK_CHARS;
  const cuts = tokenizer.cutsAtLineBreaks ? lineBreakCuts(text, chunkChars) : [];
  const report = throttle(options.onProgress);
  const pieces: TokenArray[] = [];
  let from = 0;
  for (const to of [...cuts, text.length]) {
    pieces.push(toTokenArray(tokenizer, tokenizer.encode(text.slice(from, to))));
    from = to;
    report(text.length > 0 ? to / text.length : 1);
  }
  return concatTokens(tokenizer, pieces);
}

/** A txt file is one document: every token is a target. `bytes` is valid UTF-8 (parseDataset checks). */
export function tokenizeText(
  name: string,
  bytes: Uint8Array,
  tokenizer: TextTokenizer = byteTokenizer,
  onProgress?: ProgressCallback,
): TokenizedDataset {
  let tokens: TokenArray;
  if (tokenizer.kind === 'bytes') {
    tokens = bytes;
    onProgress?.(1);
  } else {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    tokens = encodeText(tokenizer, text, { onProgress });
  }
  const N = tokens.length;
  if (N > MAX_TOKENS) throw tooMany(name, N, tokenizer);
  return {
    name,
    format: 'txt',
    tokens,
    mask: new Uint8Array(N).fill(1),
    examples: N > 0 ? 1 : 0,
    exampleOffsets: new Uint32Array(N > 0 ? [0, N] : [0]),
  };
}

/** Concatenate examples into one stream, each followed by the tokenizer's separator (mask 1). */
export function tokenizeExamples(
  name: string,
  format: DatasetFormat,
  examples: Example[],
  tokenizer: TextTokenizer = byteTokenizer,
  onProgress?: ProgressCallback,
): TokenizedDataset {
  const report = throttle(onProgress);
  const encode = (text: string) => encodeText(tokenizer, text);
  const parts: { tokens: TokenArray; target: boolean }[][] = examples.map((ex, e) => {
    const part =
      'text' in ex
        ? [{ tokens: encode(ex.text), target: true }]
        : [
            { tokens: encode(ex.prompt), target: false },
            { tokens: encode(ex.completion), target: true },
          ];
    report((e + 1) / examples.length);
    return part;
  });
  const separator = toTokenArray(tokenizer, tokenizer.separator);
  let n = 0;
  for (const p of parts) for (const q of p) n += q.tokens.length;
  n += examples.length * separator.length;
  if (n > MAX_TOKENS) throw tooMany(name, n, tokenizer);
  const tokens = allocTokens(tokenizer, n);
  const mask = new Uint8Array(n);
  const exampleOffsets = new Uint32Array(examples.length + 1);
  let at = 0;
  parts.forEach((p, e) => {
    exampleOffsets[e] = at;
    for (const q of [...p, { tokens: separator, target: true }]) {
      tokens.set(q.tokens, at);
      if (q.target) mask.fill(1, at, at + q.tokens.length);
      at += q.tokens.length;
    }
  });
  exampleOffsets[examples.length] = at;
  return { name, format, tokens, mask, examples: examples.length, exampleOffsets };
}

/** The text of tokens[from, to) of a dataset, decoded by its tokenizer (a cut character shows as U+FFFD). */
export function decodeTokens(
  ds: Pick<TokenizedDataset, 'tokens'>,
  tokenizer: TextTokenizer,
  from = 0,
  to = ds.tokens.length,
): string {
  return tokenizer.decode(ds.tokens.subarray(from, to));
}

/**
 * Example e as text, for previews: prompt and completion split back by the loss mask (prompt tokens have
 * mask 0), or its text; the separator after a jsonl/csv example left out. At most `maxTokens` tokens of
 * each part are decoded.
 */
export function exampleText(
  ds: TokenizedDataset,
  e: number,
  tokenizer: TextTokenizer,
  maxTokens = Infinity,
): { text: string } | { prompt: string; completion: string } {
  const lo = ds.exampleOffsets[e];
  let hi = ds.exampleOffsets[e + 1];
  const sep = tokenizer.separator;
  if (
    ds.format !== 'txt' &&
    hi - lo >= sep.length &&
    sep.every((t, i) => ds.tokens[hi - sep.length + i] === t)
  )
    hi -= sep.length;
  let cut = lo;
  while (cut < hi && ds.mask[cut] === 0) cut++;
  const part = (a: number, b: number) => decodeTokens(ds, tokenizer, a, Math.min(b, a + maxTokens));
  return cut === lo ? { text: part(lo, hi) } : { prompt: part(lo, cut), completion: part(cut, hi) };
}

function tooMany(name: string, n: number, tokenizer: TextTokenizer): DatasetError {
  return new DatasetError(name, undefined, `${n} ${unitOf(tokenizer)} is more than this tool handles`);
}

function toTokenArray(tokenizer: TextTokenizer, ids: ArrayLike<number>): TokenArray {
  const out = allocTokens(tokenizer, ids.length);
  out.set(ids);
  return out;
}

function concatTokens(tokenizer: TextTokenizer, pieces: TokenArray[]): TokenArray {
  if (pieces.length === 1) return pieces[0];
  const out = allocTokens(
    tokenizer,
    pieces.reduce((a, p) => a + p.length, 0),
  );
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Progress at most every 1% (and always the final 1). */
function throttle(onProgress?: ProgressCallback): ProgressCallback {
  let last = 0;
  return (fraction) => {
    if (onProgress === undefined || (fraction < 1 && fraction - last < 0.01)) return;
    last = fraction;
    onProgress(fraction);
  };
}
