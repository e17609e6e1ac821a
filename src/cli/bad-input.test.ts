// Issue #13 on the command line: bad datasets, adapters and models exit 2 with one line naming the file,
// the line and the reason; --skip-bad-lines trains on the good part and says what it left out; an
// --init-adapter without adapter_config.json takes lora_alpha from --alpha.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../test/cli';
import { parseTrainOptions } from './train-options';
import { randomWeights } from '../model/init';
import { parameterShapes } from '../model/config';
import { peftTensorName } from '../io/peft';
import { writeSafetensors } from '../io/safetensors';
import { tinyText } from '../train/tiny-sweep';
import { shareTestDevice } from '../test/gpu';

shareTestDevice(); // one device, its pipelines compiled once for the file's commands

const cfg = { n_layer: 1, n_head: 2, n_embd: 16, n_positions: 32, vocab_size: 256, layer_norm_epsilon: 1e-5 };
let dir = '';
const at = (name: string) => join(dir, name);

const run = runCli;
const train = (...flags: string[]) =>
  run('train', '--model', at('model.safetensors'), '--steps', '1', '--batch', '1', '--seq', '8', ...flags);

/** Exit 2 with exactly one line on stderr, matching `message`. */
async function expectExit2(p: Promise<{ code: number; err: string[] }>, message: RegExp | string) {
  const r = await p;
  expect(r.code, r.err.join('')).toBe(2);
  expect(r.err).toHaveLength(1);
  expect(r.err[0].trimEnd()).not.toContain('\n');
  expect(r.err[0]).toMatch(message);
}

/** A bare PEFT adapter for `cfg` (c_attn, rank 2): tensors only, no r or lora_alpha anywhere. */
function bareAdapter(): Uint8Array {
  const A = peftTensorName('transformer.h.0.attn.c_attn', 'A');
  const B = peftTensorName('transformer.h.0.attn.c_attn', 'B');
  return writeSafetensors(
    new Map([
      [A, { shape: [2, 16], data: Float32Array.from({ length: 32 }, (_, i) => Math.sin(i) / 10) }],
      [B, { shape: [48, 2], data: new Float32Array(96) }],
    ]),
    { format: 'pt' },
  );
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lora-lab-bad-input-'));
  const shapes = parameterShapes(cfg);
  const w = randomWeights(cfg, 2);
  writeFileSync(
    at('model.safetensors'),
    writeSafetensors(new Map([...w].map(([k, v]) => [k, { shape: shapes.get(k)!, data: v }]))),
  );
  writeFileSync(at('config.json'), JSON.stringify(cfg));
  writeFileSync(at('data.txt'), tinyText(2000));
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1];
  writeFileSync(at('photo.txt'), new Uint8Array(png));
  // A Latin-1 line ("café") in the middle of UTF-8 text.
  const text = new TextEncoder().encode(tinyText(600));
  writeFileSync(
    at('latin1.txt'),
    new Uint8Array([...new TextEncoder().encode('first line\ncaf'), 0xe9, 0x0a, ...text]),
  );
  writeFileSync(
    at('extra.jsonl'),
    tinyText(600)
      .split('\n')
      .map((t, i) => JSON.stringify({ text: t, id: i }))
      .join('\n'),
  );
  writeFileSync(at('short.txt'), 'tiny');
  writeFileSync(at('bare-adapter-init.safetensors'), bareAdapter());
  writeFileSync(at('truncated.safetensors'), bareAdapter().subarray(0, 400));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lora-lab train: bad datasets exit 2 with file, line and reason', () => {
  it('a PNG renamed .txt', async () => {
    await expectExit2(
      train('--data', at('photo.txt')),
      `lora-lab: ${at('photo.txt')}: this looks like a binary file (PNG image), not text`,
    );
  });
  it('a text with invalid UTF-8 names the line and the byte offset', async () => {
    await expectExit2(
      train('--data', at('latin1.txt')),
      `lora-lab: ${at('latin1.txt')}: line 2: not valid UTF-8 text: byte 0xE9 at byte offset 14 (byte 4 of the line); save the file as UTF-8`,
    );
  });
  it('too little data for one batch', async () => {
    await expectExit2(
      train('--data', at('short.txt'), '--val-fraction', '0'),
      /short\.txt.*: 4 bytes of training data, but sequence length 8 needs at least/,
    );
  });
  it('a missing data file', async () => {
    await expectExit2(train('--data', at('nope.txt')), /dataset not found: /);
  });
});

describe('lora-lab train --skip-bad-lines', () => {
  it('trains on the good lines and says how many it left out (exit 0)', async () => {
    const r = await train('--data', at('latin1.txt'), '--skip-bad-lines', '--val-fraction', '0');
    expect(r.code, r.err.join('')).toBe(0);
    expect(r.err.join('')).toContain(
      'warning: latin1.txt: skipped 1 bad line (first: line 2: not valid UTF-8 text: byte 0xE9 at byte offset 14',
    );
  });
  it('is a flag of sweep too', () => {
    const o = parseTrainOptions('sweep', ['--skip-bad-lines']);
    expect(o !== 'help' && o.skipBadLines).toBe(true);
    const t = parseTrainOptions('train', []);
    expect(t !== 'help' && t.skipBadLines).toBe(false);
  });
  it('prints dataset warnings (ignored keys)', async () => {
    const r = await train('--data', at('extra.jsonl'), '--val-fraction', '0');
    expect(r.code, r.err.join('')).toBe(0);
    expect(r.err.join('')).toContain(
      'warning: extra.jsonl: line 1: ignored key "id" (not used for training)',
    );
  });
});

describe('lora-lab train --init-adapter', () => {
  it('a bare .safetensors with --alpha 8, as the flag is documented (exit 0; alpha 8 saved)', async () => {
    const r = await train(
      '--data',
      at('data.txt'),
      '--init-adapter',
      at('bare-adapter-init.safetensors'),
      '--alpha',
      '8',
      '--save-adapter',
      at('out-adapter'),
    );
    expect(r.code, r.err.join('')).toBe(0);
    const saved = JSON.parse(readFileSync(at('out-adapter/adapter_config.json'), 'utf8'));
    expect(saved).toMatchObject({ r: 2, lora_alpha: 8, target_modules: ['c_attn'] });
  });
  it('without --alpha, names the three places alpha could come from (exit 2)', async () => {
    await expectExit2(
      train('--data', at('data.txt'), '--init-adapter', at('bare-adapter-init.safetensors')),
      /bare-adapter-init\.safetensors: adapter: lora_alpha is unknown: no adapter_config\.json, the safetensors metadata has none, and no alpha was given \(the CLI's --alpha\)/,
    );
  });
  it('a rank that disagrees with --rank (exit 2)', async () => {
    await expectExit2(
      train(
        '--data',
        at('data.txt'),
        '--init-adapter',
        at('bare-adapter-init.safetensors'),
        '--alpha',
        '8',
        '--rank',
        '4',
      ),
      /the adapter has rank 2 and targets c_attn, which disagree with --rank\/--targets/,
    );
  });
  it('a truncated adapter (exit 2)', async () => {
    await expectExit2(
      train('--data', at('data.txt'), '--init-adapter', at('truncated.safetensors'), '--alpha', '8'),
      /truncated\.safetensors: safetensors: tensor ".*": data_offsets \[128, 512\] run past the data \(128 bytes\): the file is truncated/,
    );
  });
});

describe('lora-lab train: bad models exit 2', () => {
  it('a truncated model or a non-GPT-2 config.json', async () => {
    const sub = join(dir, 'm1');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(sub);
    writeFileSync(join(sub, 'model.safetensors'), readFileSync(at('model.safetensors')).subarray(0, 1000));
    writeFileSync(join(sub, 'config.json'), JSON.stringify(cfg));
    await expectExit2(
      run('train', '--model', join(sub, 'model.safetensors'), '--data', at('data.txt')),
      /model\.safetensors: safetensors: header length \d+ runs past the end of the file \(1000 bytes\): the file is truncated/,
    );
    writeFileSync(join(sub, 'config.json'), JSON.stringify({ ...cfg, model_type: 'llama' }));
    await expectExit2(
      run('train', '--model', join(sub, 'model.safetensors'), '--data', at('data.txt')),
      /config\.json: model_type "llama" is not GPT-2/,
    );
  });
});
