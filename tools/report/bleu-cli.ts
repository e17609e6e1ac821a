// `node bleu.mjs <generations.json> <scores.json>`: corpus BLEU (src/eval/bleu.ts) of every system in a
// generations file { refs: string[], systems: { [name]: string[] } }, written as { [name]: BleuScore }.
// The GPU script runs it beside sacrebleu on the same outputs (tools/report/generate_bleu.py).
import { readFileSync, writeFileSync } from 'node:fs';
import { corpusBleu, type BleuScore } from '../../src/eval/bleu';

interface Generations {
  refs: string[];
  systems: Record<string, string[]>;
}

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node bleu.mjs <generations.json> <scores.json>\n');
  process.exit(2);
}
const g = JSON.parse(readFileSync(input, 'utf8')) as Generations;
const scores: Record<string, BleuScore> = {};
for (const [name, hyps] of Object.entries(g.systems)) scores[name] = corpusBleu(hyps, [g.refs]);
writeFileSync(output, JSON.stringify(scores, null, 1) + '\n');
