import { describe, expect, it } from 'vitest';
import { bleuFromStats, corpusBleu, tokenize13a } from './bleu';

describe('tokenize13a', () => {
  it('splits punctuation as mteval-v13a does, keeping numbers and apostrophes whole', () => {
    expect(tokenize13a('Hello, world.')).toBe('Hello , world .');
    expect(tokenize13a('It costs £20-25, or 3.5 (cheap)!')).toBe('It costs £20 - 25 , or 3.5 ( cheap ) !');
    expect(tokenize13a("it's 1,000 well-known")).toBe("it's 1,000 well-known");
    expect(tokenize13a('a &amp; b &lt;c&gt;')).toBe('a & b < c >');
    expect(tokenize13a('  many   spaces \n')).toBe('many spaces');
  });
});

describe('corpusBleu', () => {
  it("matches sacrebleu's README example (48.53, BP 0.943, 17/18)", () => {
    const refs = [
      ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
      ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
    ];
    const sys = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];
    const b = corpusBleu(sys, refs);
    expect(b.score).toBeCloseTo(48.530827009929865, 9);
    expect([b.sysLen, b.refLen]).toEqual([17, 18]);
    expect(b.precisions.map((p) => Math.round(p * 10) / 10)).toEqual([82.4, 50, 45.5, 37.5]);
  });

  it('is 100 for identical text; 0 when no n-gram matches (sacrebleu 2.6 stops early, unsmoothed)', () => {
    expect(corpusBleu(['a b c d e'], [['a b c d e']]).score).toBeCloseTo(100, 12);
    expect(corpusBleu(['x y z w'], [['a b c d']]).score).toBe(0);
    expect(corpusBleu([''], [['a b c d']]).score).toBe(0);
    // One unigram matched: the other orders take the exp floor (sacrebleu 2.6.0: 10.682175159905848).
    expect(corpusBleu(['x a y z w'], [['a b c d e']]).score).toBeCloseTo(10.682175159905848, 12);
  });

  it("splits at Python's whitespace, not JavaScript's (U+001E separates, U+FEFF does not)", () => {
    // sacrebleu 2.6.0: 100, 100 (a trailing U+001E is stripped) and 46.30777161991026 ('a\ufeffb' is one token).
    expect(corpusBleu(['a\u001eb c d e'], [['a b c d e']]).score).toBeCloseTo(100, 12);
    expect(corpusBleu(['a b c d e\u001e'], [['a b c d e']]).score).toBeCloseTo(100, 12);
    expect(corpusBleu(['a\ufeffb c d e'], [['a b c d e']]).score).toBeCloseTo(46.30777161991026, 12);
  });

  it("smooths zero counts with sacrebleu's exp method", () => {
    // 3-gram and 4-gram matches are 0: precisions 100·c/t, then 100/(2·t3), 100/(4·t4).
    const b = bleuFromStats([4, 2, 0, 0], [5, 4, 3, 2], 5, 5);
    const want = Math.exp((Math.log(80) + Math.log(50) + Math.log(100 / 6) + Math.log(100 / 8)) / 4);
    expect(b.score).toBeCloseTo(want, 12);
    expect(b.bp).toBe(1);
  });

  it('applies the brevity penalty against the closest reference length (ties: the shorter)', () => {
    const b = corpusBleu(['a b c'], [['a b c d'], ['a b']]);
    expect(b.refLen).toBe(2);
    expect(bleuFromStats([1, 1, 1, 1], [1, 1, 1, 1], 2, 4).bp).toBeCloseTo(Math.exp(1 - 2), 12);
  });
});
