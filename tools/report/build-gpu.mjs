#!/usr/bin/env node
// Bundles what the reproduction's GPU run needs into one folder (default .work/repro under the repository root, a
// git-ignored folder of the checkout the device tool copies): the CLI (src/cli/main.ts) and the BLEU
// scorer (tools/report/bleu-cli.ts) as single .mjs files with `webgpu` external and WGSL `?raw` imports
// inlined (scripts/bundle-node.mjs, as for the bench), the models, datasets, PyTorch peer and the Python scripts.
// Usage: node tools/report/build-gpu.mjs [--out <dir>]
import { execSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode } from '../../scripts/bundle-node.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const outFlag = process.argv.indexOf('--out');
const out = resolve(outFlag > 0 ? process.argv[outFlag + 1] : resolve(root, '.work/repro'));

rmSync(out, { recursive: true, force: true });
for (const d of ['models/lab-gpt', 'models/lab-gpt-tiny', 'data'])
  mkdirSync(join(out, d), { recursive: true });
for (const [entry, file] of [
  ['tools/report/cli-entry.ts', 'lora-lab.mjs'],
  ['tools/report/bleu-cli.ts', 'bleu.mjs'],
]) {
  await bundleForNode(join(root, entry), join(out, file));
}
const copies = [
  ['public/models/lab-gpt/model.onnx', 'models/lab-gpt/model.onnx'],
  ['public/models/lab-gpt/config.json', 'models/lab-gpt/config.json'],
  ['public/models/lab-gpt-tiny/model.onnx', 'models/lab-gpt-tiny/model.onnx'],
  ['public/models/lab-gpt-tiny/config.json', 'models/lab-gpt-tiny/config.json'],
  ['public/datasets/e2e-restaurants.jsonl', 'data/e2e-restaurants.jsonl'],
  ['public/datasets/devils-dictionary.txt', 'data/devils-dictionary.txt'],
  ['bench/peers/torch_sweep.py', 'torch_sweep.py'],
  ['bench/peers/torch_batched.py', 'torch_batched.py'],
  ['tools/report/peft_check.py', 'peft_check.py'],
  ['tools/report/generate_bleu.py', 'generate_bleu.py'],
  ['tools/report/gpu-run.sh', 'gpu-run.sh'],
  ['tools/report/gpu-bleu.sh', 'gpu-bleu.sh'],
  ['tools/report/select_best.py', 'select_best.py'],
  ['tools/report/grid.sh', 'grid.sh'],
  ['tools/report/gpu-rerun.sh', 'gpu-rerun.sh'],
  ['tools/report/bleu_all.py', 'bleu_all.py'],
  ['tools/report/bleu_batched.py', 'bleu_batched.py'],
  ['tools/report/decode_bleu_cpu.py', 'decode_bleu_cpu.py'],
  ['tools/report/gpu-bleu-all.sh', 'gpu-bleu-all.sh'],
  ['tools/report/gpu-long-grid.sh', 'gpu-long-grid.sh'],
  // The first call's sweep results: gpu-rerun.sh picks each optimizer's best run from them.
  ['docs/reproduction/data/results.tar.gz', 'recorded.tar.gz'],
];
for (const [from, to] of copies) copyFileSync(join(root, from), join(out, to));
const sha = execSync('git rev-parse --short HEAD', { cwd: root, encoding: 'utf8' }).trim();
const dirty = execSync('git status --porcelain --untracked-files=no', { cwd: root, encoding: 'utf8' }).trim();
writeFileSync(
  join(out, 'build-info.json'),
  JSON.stringify({ commit: dirty ? `${sha}+uncommitted` : sha, built: new Date().toISOString() }),
);
console.log(`built ${out} at ${sha}${dirty ? '+uncommitted' : ''}`);
