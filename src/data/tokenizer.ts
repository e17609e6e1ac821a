// Tokenizers: the built-in models' UTF-8 bytes, and a user's checkpoint's tokenizer.json (read by the
// maintained `@huggingface/tokenizers` library; byte-level BPE for GPT-2-family models).
//
// One interface for both, so that dataset tokenisation, batching, sampling and the page's preview do not
// care which it is. Ids are numbers below `vocabSize`; `encode` adds no special tokens (a dataset's
// examples are joined by `separator`, as for the byte models).
import { Tokenizer } from '@huggingface/tokenizers';

export interface TextTokenizer {
  /** 'bytes': a token is a UTF-8 byte (vocabulary 256); 'tokenizer.json': a Hugging Face tokenizer. */
  kind: 'bytes' | 'tokenizer.json';
  /** One past the largest id `encode` can return (≤ the model's vocab_size, checked on load). */
  vocabSize: number;
  /** Token ids of `text`, no special tokens added. */
  encode(text: string): number[];
  /** Text of ids; an id that ends inside a character (bytes) or any invalid byte shows as U+FFFD. */
  decode(ids: ArrayLike<number>): string;
  /** The ids appended after each example of a jsonl/csv dataset: the encoding of "\n". */
  separator: number[];
  /** An end-of-text id, if the tokenizer has one (GPT-2's "<|endoftext|>"). */
  eos?: number;
  /**
   * True when encoding a text in pieces, each cut just before a "\n" that is followed by a
   * non-whitespace character, gives exactly the ids of encoding it whole (see `lineBreakCuts`): so a
   * long text can be encoded piece by piece. GPT-2's byte-level pre-tokenizer has this property.
   */
  cutsAtLineBreaks?: boolean;
}

/** Token ids as stored: bytes for the byte models, else the narrowest width that holds the vocabulary. */
export type TokenArray = Uint8Array | Uint16Array | Uint32Array;

/** An empty token array of length n for this tokenizer's ids (see TokenArray). */
export function allocTokens(tokenizer: Pick<TextTokenizer, 'kind' | 'vocabSize'>, n: number): TokenArray {
  if (tokenizer.kind === 'bytes') return new Uint8Array(n);
  return tokenizer.vocabSize <= 0x1_0000 ? new Uint16Array(n) : new Uint32Array(n);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** The built-in models' tokenizer: UTF-8 bytes. */
export const byteTokenizer: TextTokenizer = {
  kind: 'bytes',
  vocabSize: 256,
  encode: (text) => Array.from(encoder.encode(text)),
  decode: (ids) => decoder.decode(Uint8Array.from(ids as ArrayLike<number>)),
  separator: [0x0a],
  cutsAtLineBreaks: true,
};

/** What is wrong with a tokenizer.json, in words for the user. */
export class TokenizerError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'TokenizerError';
  }
}

// Model types of tokenizer.json that the library reads (GPT-2 family checkpoints use BPE).
const MODEL_TYPES = ['BPE', 'WordPiece', 'Unigram', 'WordLevel'];

/**
 * A tokenizer from the text of a tokenizer.json (and, optionally, tokenizer_config.json). `modelVocab` is
 * the model's vocab_size: a tokenizer that can produce an id the model has no embedding for is refused.
 */
export function loadTokenizerJson(
  json: string,
  options: { file?: string; config?: string; modelVocab?: number } = {},
): TextTokenizer {
  const file = options.file ?? 'tokenizer.json';
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    throw new TokenizerError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new TokenizerError(file, 'expected a JSON object (a Hugging Face tokenizer.json)');
  const o = parsed as Record<string, unknown>;
  const model = o.model as Record<string, unknown> | undefined;
  if (typeof model !== 'object' || model === null)
    throw new TokenizerError(file, 'has no "model" section: is it a Hugging Face tokenizer.json?');
  const type = typeof model.type === 'string' ? model.type : model.merges !== undefined ? 'BPE' : undefined;
  if (type === undefined || !MODEL_TYPES.includes(type))
    throw new TokenizerError(
      file,
      `tokenizer model type ${JSON.stringify(model.type)} is not one this tool reads (${MODEL_TYPES.join(', ')})`,
    );
  let config: Record<string, unknown> = {};
  if (options.config !== undefined) {
    try {
      config = JSON.parse(options.config) as Record<string, unknown>;
    } catch (e) {
      throw new TokenizerError('tokenizer_config.json', `not valid JSON (${(e as Error).message})`);
    }
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(parsed, config);
  } catch (e) {
    throw new TokenizerError(file, `could not be read: ${(e as Error).message}`);
  }
  // The largest id: the model vocabulary and the added tokens.
  let maxId = -1;
  const vocab = model.vocab;
  if (vocab && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const v of Object.values(vocab as Record<string, unknown>))
      if (typeof v === 'number' && v > maxId) maxId = v;
  } else if (Array.isArray(vocab)) {
    maxId = vocab.length - 1; // Unigram: [[piece, score], ...]
  }
  const added = Array.isArray(o.added_tokens) ? (o.added_tokens as Array<Record<string, unknown>>) : [];
  let eos: number | undefined;
  for (const t of added) {
    if (typeof t.id === 'number' && t.id > maxId) maxId = t.id;
    if (t.content === '<|endoftext|>' && typeof t.id === 'number') eos = t.id;
  }
  if (maxId < 0) throw new TokenizerError(file, 'has an empty vocabulary');
  const vocabSize = maxId + 1;
  if (options.modelVocab !== undefined && vocabSize > options.modelVocab)
    throw new TokenizerError(
      file,
      `its vocabulary has ${vocabSize} ids but the model's vocab_size is ${options.modelVocab}: the tokenizer is not this model's`,
    );
  const encode = (text: string): number[] =>
    text.length === 0 ? [] : tok.encode(text, { add_special_tokens: false }).ids;
  const separator = encode('\n');
  if (separator.length === 0) throw new TokenizerError(file, 'cannot encode a line break ("\\n")');
  return {
    kind: 'tokenizer.json',
    vocabSize,
    cutsAtLineBreaks: cutsAtLineBreaks(o, config),
    encode,
    decode: (ids) => {
      const list = Array.from(ids);
      return list.length === 0
        ? ''
        : tok.decode(list, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    },
    separator,
    eos,
  };
}

/**
 * Whether a tokenizer.json splits text as GPT-2 does, so that a cut just before "\n" + non-whitespace is
 * a pre-token boundary whatever comes around it. GPT-2's pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * never puts "\n" in a piece with a following letter, digit or mark (only " " prefixes those), and a run
 * of whitespace before a non-whitespace character always ends with a piece of its last character alone
 * (\s+(?!\S) backs off by one): so that "\n" starts a piece, and the run's head is one piece whether
 * the text ends there or not. BPE merges within pieces, so the ids are those of the whole text. Anything
 * that sees across pieces is refused: a normalizer (or tokenizer_config.json's remove_space and
 * lowercasing), a prefix space, other splitting, BPE dropout, and added tokens that contain or strip
 * whitespace (they are matched before splitting).
 */
function cutsAtLineBreaks(o: Record<string, unknown>, config: Record<string, unknown>): boolean {
  const pre = o.pre_tokenizer as Record<string, unknown> | null | undefined;
  const model = o.model as Record<string, unknown>;
  const added = Array.isArray(o.added_tokens) ? (o.added_tokens as Array<Record<string, unknown>>) : [];
  return (
    (o.normalizer === null || o.normalizer === undefined) &&
    !config.remove_space &&
    !config.do_lowercase_and_remove_accent &&
    typeof pre === 'object' &&
    pre !== null &&
    pre.type === 'ByteLevel' &&
    pre.add_prefix_space !== true &&
    pre.use_regex !== false &&
    (model.type === 'BPE' || model.type === undefined) &&
    (model.dropout === null || model.dropout === undefined) &&
    added.every((t) => typeof t.content === 'string' && !/\s/.test(t.content) && !t.lstrip && !t.rstrip)
  );
}
