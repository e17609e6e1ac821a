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
