// Dataset tokenisation speed on the CPU (no GPU): `npx tsx bench/tokenize.ts [file] [repeat]`.
// Parses a txt file with the tiny GPT-2 fixture's tokenizer.json (byte-level BPE, vocabulary 1,000) and
// with bytes, and prints tokens per second; `repeat` concatenates the text that many times (memory and
// speed of a large file). A real GPT-2 vocabulary makes fewer, longer tokens of the same text.
import { readFileSync } from 'node:fs';
import { parseDataset } from '../src/data/dataset';
import { loadTokenizerJson } from '../src/data/tokenizer';

const file = process.argv[2] ?? 'public/datasets/devils-dictionary.txt';
const repeat = Number(process.argv[3] ?? 1);
const json = readFileSync('src/io/fixtures/tiny-gpt2/tokenizer.json', 'utf8');
const bpe = loadTokenizerJson(json);
const text = readFileSync(file, 'utf8').repeat(repeat);
const bytes = new TextEncoder().encode(text);
const mib = (n: number) => (n / 2 ** 20).toFixed(1);

for (const [label, tokenizer] of [
  ['tiny-gpt2 BPE', bpe],
  ['bytes', undefined],
] as const) {
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    const ds = parseDataset('bench.txt', bytes, 'txt', { tokenizer });
    const s = (performance.now() - t0) / 1000;
    const perSec = Math.round(ds.tokens.length / s).toLocaleString('en');
    console.log(
      `${label}: ${mib(bytes.length)} MiB → ${ds.tokens.length} tokens in ${s.toFixed(3)} s = ${perSec} tokens/s` +
        ` (rss ${mib(process.memoryUsage().rss)} MiB)`,
    );
  }
}
