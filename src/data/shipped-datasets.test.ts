// The sample datasets the page and the CLI offer parse cleanly and hold what their README says.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { datasetStats, parseDataset } from './dataset';

describe('shipped datasets', () => {
  it('e2e-restaurants.jsonl: prompt → completion pairs, loss only on completions', () => {
    const ds = parseDataset(
      'e2e-restaurants.jsonl',
      new Uint8Array(readFileSync('public/datasets/e2e-restaurants.jsonl')),
    );
    const stats = datasetStats(ds);
    expect(ds.format).toBe('jsonl');
    expect(ds.examples).toBeGreaterThanOrEqual(2000);
    expect(stats.targetTokens).toBeGreaterThan(0);
    expect(stats.targetTokens).toBeLessThan(stats.tokens); // prompts are masked out
  });

  it('devils-dictionary.txt: one text stream', () => {
    const ds = parseDataset(
      'devils-dictionary.txt',
      new Uint8Array(readFileSync('public/datasets/devils-dictionary.txt')),
    );
    expect(ds.format).toBe('txt');
    expect(ds.tokens.length).toBeGreaterThan(100_000);
  });
});
