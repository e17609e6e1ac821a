// Corpus BLEU exactly as sacrebleu's defaults compute it (`sacrebleu.corpus_bleu(hyps, [refs])`):
// the 13a tokeniser, BLEU-4, clipped n-gram counts against the references, the closest reference length
// (ties: the shorter) for the brevity penalty, and the `exp` smoothing (a zero n-gram match count
// becomes 100 / (2^k · total), k counting the zero orders so far) unless no n-gram matched at all (then 0).
// Whitespace is Python's. Scores are on sacrebleu's 0–100 scale.

/** sacrebleu's `Tokenizer13a` (mteval-v13a): unescape a few entities, split off punctuation. */
export function tokenize13a(line: string): string {
  let s = line
    .replace(/<skipped>/g, '')
    .replace(/-\n/g, '')
    .replace(/\n/g, ' ');
  if (s.includes('&'))
    s = s
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>');
  s = ` ${s} `;
  // TokenizerRegexp, in its order: symbols; period and comma unless preceded / followed by a digit;
  // a dash after a digit.
  s = s.replace(/([\{-\~\[-\` -\&\(-\+\:-\@\/])/g, ' $1 ');
  s = s.replace(/([^0-9])([\.,])/g, '$1 $2 ');
  s = s.replace(/([\.,])([^0-9])/g, ' $1 $2');
  s = s.replace(/([0-9])(-)/g, '$1 $2 ');
  return splitWhitespace(s).join(' ');
}

/**
 * Python's whitespace (`str.isspace`), which differs from JavaScript's `\s`: it includes the separators
 * U+001C–U+001F and U+0085 and excludes U+FEFF. A degenerate model writes U+001E (the reproduction's
 * diverged runs did), and sacrebleu splits there.
 */
const PY_WS =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WS}]+`);
const PY_WS_TAIL = new RegExp(`[${PY_WS}]+$`);

/** Python's `str.split()` with no argument: runs of whitespace, no empty pieces. */
export function splitWhitespace(s: string): string[] {
  return s.split(PY_WS_RUN).filter((t) => t.length > 0);
}

/** Python's `str.rstrip()`. */
function rstrip(s: string): string {
  return s.replace(PY_WS_TAIL, '');
}

export const MAX_NGRAM_ORDER = 4;

function ngramCounts(tokens: string[], maxOrder: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxOrder; n++)
    for (let i = 0; i + n <= tokens.length; i++) {
      // \u0001 joins tokens: it never survives tokenisation inside a token, and it keeps n apart.
      const key = `${n}\u0001${tokens.slice(i, i + n).join('\u0001')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  return counts;
}

function closestRefLength(hypLen: number, refLens: number[]): number {
  let best = -1;
  let bestDiff = -1;
  for (const len of refLens) {
    const diff = Math.abs(hypLen - len);
    if (bestDiff === -1 || diff < bestDiff) {
      bestDiff = diff;
      best = len;
    } else if (diff === bestDiff) best = Math.min(best, len);
  }
  return best;
}

export interface BleuScore {
  /** 0–100, as sacrebleu prints it. */
  score: number;
  /** Matched n-grams per order 1..4. */
  counts: number[];
  totals: number[];
  /** Per-order precisions in percent, smoothed as sacrebleu's `exp` does. */
  precisions: number[];
  bp: number;
  sysLen: number;
  refLen: number;
}

/**
 * `references[k][i]` is the k-th reference of hypothesis i (sacrebleu's `refs` argument: one list per
 * reference stream, each as long as `hypotheses`).
 */
export function corpusBleu(
  hypotheses: readonly string[],
  references: readonly (readonly string[])[],
): BleuScore {
  for (const stream of references)
    if (stream.length !== hypotheses.length)
      throw new Error(
        `corpusBleu: ${hypotheses.length} hypotheses but a reference stream of ${stream.length}`,
      );
  const N = MAX_NGRAM_ORDER;
  const counts = new Array<number>(N).fill(0);
  const totals = new Array<number>(N).fill(0);
  let sysLen = 0;
  let refLen = 0;
  hypotheses.forEach((hyp, i) => {
    const refNgrams = new Map<string, number>();
    const refLens: number[] = [];
    for (const stream of references) {
      const tokens = splitWhitespace(tokenize13a(rstrip(stream[i])));
      refLens.push(tokens.length);
      for (const [k, c] of ngramCounts(tokens, N)) refNgrams.set(k, Math.max(refNgrams.get(k) ?? 0, c));
    }
    const hypTokens = splitWhitespace(tokenize13a(rstrip(hyp)));
    sysLen += hypTokens.length;
    refLen += closestRefLength(hypTokens.length, refLens);
    for (const [k, c] of ngramCounts(hypTokens, N)) {
      const n = Number(k.slice(0, k.indexOf('\u0001'))) - 1;
      totals[n] += c;
      counts[n] += Math.min(c, refNgrams.get(k) ?? 0);
    }
  });
  return bleuFromStats(counts, totals, sysLen, refLen);
}

/** sacrebleu's `BLEU.compute_bleu` with smooth_method 'exp' and no effective order. */
export function bleuFromStats(counts: number[], totals: number[], sysLen: number, refLen: number): BleuScore {
  const N = counts.length;
  const precisions = new Array<number>(N).fill(0);
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  // sacrebleu's early stop (its issue #141): no n-gram of any order matched, the score is 0, unsmoothed.
  if (counts.every((c) => c === 0)) return { score: 0, counts, totals, precisions, bp, sysLen, refLen };
  let smoothMteval = 1;
  for (let n = 0; n < N; n++) {
    if (totals[n] === 0) break;
    if (counts[n] === 0) {
      smoothMteval *= 2;
      precisions[n] = 100 / (smoothMteval * totals[n]);
    } else precisions[n] = (100 * counts[n]) / totals[n];
  }
  // sacrebleu's my_log: log(0) is -9999999999, so a missing order gives a score of 0.
  const logs = precisions.map((p) => (p === 0 ? -9999999999 : Math.log(p)));
  const score = bp * Math.exp(logs.reduce((a, b) => a + b, 0) / N);
  return { score, counts, totals, precisions, bp, sysLen, refLen };
}
