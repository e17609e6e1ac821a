// --resume knows a checkpoint's base model by its name and fingerprint: the same model resumes, another
// of the same name (one weight changed) exits 2 naming both, and an older checkpoint without a
// fingerprint is still taken by its name. results.json names the model's vocab_size and fingerprint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../test/cli';
import { randomWeights } from '../model/init';
import { parameterShapes } from '../model/config';
import { modelFingerprint } from '../model/fingerprint';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { tinyText } from '../train/tiny-sweep';
import { shareTestDevice } from '../test/gpu';

shareTestDevice(); // one device, its pipelines compiled once for the file's commands

const cfg = { n_layer: 1, n_head: 2, n_embd: 16, n_positions: 32, vocab_size: 256, layer_norm_epsilon: 1e-5 };
const weights = randomWeights(cfg, 2);
let dir = '';
const at = (name: string) => join(dir, name);

/** A model folder named `net` under `parent`, with `change` applied to a copy of the weights. */
function writeModel(parent: string, change: (w: typeof weights) => void = () => undefined): string {
  const shapes = parameterShapes(cfg);
  const w = new Map([...weights].map(([k, v]) => [k, v.slice()]));
  change(w);
  const d = at(`${parent}/net`);
  mkdirSync(d, { recursive: true });
  const tensors = new Map([...w].map(([k, v]) => [k, { shape: shapes.get(k)!, data: v }]));
  writeFileSync(join(d, 'model.safetensors'), writeSafetensors(tensors));
  writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
  return d;
}

const sweep = (model: string, ...more: string[]) =>
  runCli(
    'sweep',
    ...['--model', model, '--data', at('data.txt'), '--steps', '4', '--batch', '2', '--seq', '8'],
    ...['--optimizers', 'adamw', '--lrs', '1e-2', '--checkpoint-every', '2', ...more],
  );

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lora-lab-resume-model-'));
  writeFileSync(at('data.txt'), tinyText(3000));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--resume and the base model', () => {
  it('resumes on the same model; refuses one of the same name with other weights; takes an old checkpoint by name', async () => {
    const one = writeModel('one');
    const two = writeModel('two', (w) => (w.get('transformer.h.0.mlp.c_fc.weight')![0] += 0.5));
    const fp = modelFingerprint(cfg, weights);
    const first = await sweep(one, '--checkpoint', at('ck/sweep.ckpt'), '--out', at('a/results.json'));
    expect(first.code, first.err.join('')).toBe(0);
    const results = JSON.parse(readFileSync(at('a/results.json'), 'utf8')) as {
      model: { name: string; vocab_size: number; fingerprint: string };
    };
    expect(results.model).toMatchObject({ name: 'net', vocab_size: 256, fingerprint: fp });
    const ckpt = new Uint8Array(readFileSync(at('ck/sweep.ckpt')));
    expect(JSON.parse(readSafetensors(ckpt).metadata['lora-lab.page']).fingerprint).toBe(fp);

    const same = await sweep(one, '--resume', at('ck/sweep.ckpt'), '--out', at('b/results.json'));
    expect(same.code, same.err.join('')).toBe(0);
    expect(same.err.join('')).toContain('at step 2');

    const other = await sweep(two, '--resume', at('ck/sweep.ckpt'), '--out', at('c/results.json'));
    expect(other.code, other.err.join('')).toBe(2);
    expect(other.err).toHaveLength(1);
    const short = fp.slice(0, 8);
    expect(other.err[0]).toMatch(
      new RegExp(
        `^lora-lab: --resume .*sweep\\.ckpt: the checkpoint is of model 'net' \\(${short}\\), not 'net' \\((?!${short})[0-9a-f]{8}\\): the same name, but other weights or config\\n$`,
      ),
    );

    // A checkpoint written before fingerprints were kept: its label has none, and the name decides.
    const { tensors, metadata } = readSafetensors(ckpt);
    const { fingerprint: _dropped, ...label } = JSON.parse(metadata['lora-lab.page']) as Record<
      string,
      unknown
    >;
    writeFileSync(
      at('ck/old.ckpt'),
      writeSafetensors(tensors, { ...metadata, 'lora-lab.page': JSON.stringify(label) }),
    );
    const old = await sweep(one, '--resume', at('ck/old.ckpt'), '--out', at('d/results.json'));
    expect(old.code, old.err.join('')).toBe(0);
    expect(old.err.join('')).toContain('at step 2');
  });
});
