#!/usr/bin/env node
// Bundles the benchmark (bench/run.ts) into .bench-build/bench.mjs — one file with `webgpu` left external
// and WGSL `?raw` imports inlined — and copies what a GPU machine needs beside it: the model files, the
// dataset and the PyTorch peer. See bench/RESULTS.md for how a GPU run uses it.
import { execSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode } from './bundle-node.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// `--out <dir>` builds elsewhere (e.g. into another checkout's ignored folder that a GPU run carries).
const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : join(root, '.bench-build');

function excludeFromGit(pattern) {
  try {
    const ex = execSync('git rev-parse --git-path info/exclude', { cwd: root, encoding: 'utf8' }).trim();
    const path = resolve(root, ex);
    mkdirSync(dirname(path), { recursive: true });
    const have = existsSync(path) ? readFileSync(path, 'utf8').split('\n') : [];
    if (!have.includes(pattern)) appendFileSync(path, `${pattern}\n`);
  } catch {
    // Not a git checkout (e.g. an unpacked copy): nothing to ignore.
  }
}

function commit() {
  try {
    const sha = execSync('git rev-parse --short HEAD', { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha}+uncommitted` : sha;
  } catch {
    return 'unknown';
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'model'), { recursive: true });
mkdirSync(join(out, 'data'), { recursive: true });
excludeFromGit('/.bench-build/');
excludeFromGit('/bench/results-local.json');

await bundleForNode(join(root, 'bench/run.ts'), join(out, 'bench.mjs'));

const copies = [
  ['public/models/lab-gpt/model.onnx', 'model/model.onnx'],
  ['public/models/lab-gpt/config.json', 'model/config.json'],
  ['public/datasets/devils-dictionary.txt', 'data/devils-dictionary.txt'],
  ['bench/peers/torch_sweep.py', 'torch_sweep.py'],
  ['bench/peers/torch_batched.py', 'torch_batched.py'],
];
const missing = [];
for (const [from, to] of copies) {
  if (existsSync(join(root, from))) copyFileSync(join(root, from), join(out, to));
  else missing.push(from);
}
if (!existsSync(join(out, 'model/model.onnx'))) {
  // No trained model yet: lab-gpt-shaped random weights that both our engine and the peer load.
  execSync(`"${process.execPath}" "${join(out, 'bench.mjs')}" export-random-model "${join(out, 'model')}"`, {
    stdio: 'inherit',
  });
  missing.push('(wrote lab-gpt-shaped random weights to .bench-build/model instead)');
}
writeFileSync(
  join(out, 'build-info.json'),
  JSON.stringify({ commit: commit(), built: new Date().toISOString() }),
);
console.log(
  `bench built: ${join(out, 'bench.mjs')}${missing.length ? ` (not found, skipped: ${missing.join(', ')})` : ''}`,
);
