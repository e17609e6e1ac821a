// `npx tsx tools/report/ort-ref.ts <outdir> [adapter-dir ...]`: reference data for the CPU BLEU decoder
// (tools/report/decode_bleu_cpu.py).
//   <outdir>/weights.bin + weights.json  the lab-gpt ONNX initializers (src/io/onnx.ts readOnnxWeights),
//                                       float32 little-endian, by HF GPT-2 name: { name: {dims, offset} }.
//   <outdir>/ref.json + ref-<k>.bin      onnxruntime-web logits (src/io/generate.ts runLogits) of a few byte
//                                       sequences for the base model (k = 0) and for the base with each
//                                       adapter merged by the engine (src/io/peft.ts + src/io/merge.ts).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createSession, runLogits } from '../../src/io/generate';
import { mergedWeights } from '../../src/io/merge';
import { readOnnxWeights, replaceOnnxWeights } from '../../src/io/onnx';
import { importAdapter } from '../../src/io/peft';
import { BUILTIN_MODEL, loadModelFile } from '../../src/cli/node-io';

const [outDir, ...adapters] = process.argv.slice(2);
if (!outDir) {
  process.stderr.write('usage: npx tsx tools/report/ort-ref.ts <outdir> [adapter-dir ...]\n');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const onnx = new Uint8Array(readFileSync(BUILTIN_MODEL));

// 1. The weights.
const weights = readOnnxWeights(onnx);
const index: Record<string, { dims: number[]; offset: number }> = {};
let total = 0;
for (const [name, w] of weights) {
  index[name] = { dims: w.dims, offset: total };
  total += w.data.length;
}
const all = new Float32Array(total);
for (const [name, w] of weights) all.set(w.data, index[name].offset);
writeFileSync(join(outDir, 'weights.bin'), new Uint8Array(all.buffer));
writeFileSync(join(outDir, 'weights.json'), JSON.stringify(index, null, 1));

// 2. Reference logits: a few sequences of different lengths (one batch per length: runLogits needs equal rows).
const lines = readFileSync('public/datasets/e2e-restaurants.jsonl', 'utf8')
  .split('\n')
  .filter((l) => l.trim());
const val = lines
  .slice(lines.length - 300)
  .map((l) => JSON.parse(l) as { prompt: string; completion: string });
const enc = (s: string) => Array.from(new TextEncoder().encode(s));
const seqs: number[][] = [
  enc(val[0].prompt),
  enc(val[1].prompt + val[1].completion).slice(0, 256),
  enc(val[7].prompt + val[7].completion.slice(0, 20)),
  enc('£ near the café ü'),
];
const model = loadModelFile(undefined);
const systems: { name: string; onnx: Uint8Array }[] = [{ name: 'base', onnx }];
for (const dir of adapters) {
  const ad = importAdapter(
    new Uint8Array(readFileSync(join(dir, 'adapter_model.safetensors'))),
    readFileSync(join(dir, 'adapter_config.json'), 'utf8'),
    model.cfg,
  );
  systems.push({
    name: dir,
    onnx: replaceOnnxWeights(onnx, mergedWeights(model.weights, ad.layout, ad.A, ad.B)),
  });
}
const ref: { systems: string[]; seqs: number[][] } = { systems: systems.map((s) => s.name), seqs };
for (const [k, s] of systems.entries()) {
  const session = await createSession(s.onnx);
  const parts: Float32Array[] = [];
  for (const q of seqs) parts.push((await runLogits(session, [q])).data);
  const n = parts.reduce((a, p) => a + p.length, 0);
  const flat = new Float32Array(n);
  let at = 0;
  for (const p of parts) {
    flat.set(p, at);
    at += p.length;
  }
  writeFileSync(join(outDir, `ref-${k}.bin`), new Uint8Array(flat.buffer));
}
writeFileSync(join(outDir, 'ref.json'), JSON.stringify(ref));
process.stdout.write(
  `wrote ${Object.keys(index).length} weights (${total} floats) and logits of ${seqs.length} sequences x ${systems.length} systems to ${outDir}\n`,
);
