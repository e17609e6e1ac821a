// Issue #15 on the command line: --model <dir> of a Hugging Face GPT-2 checkpoint (model.safetensors +
// config.json + tokenizer.json) trains, names itself in the adapter, exports a merged checkpoint that loads
// again, and generates text through its tokenizer; folders it cannot use exit 2 with one line saying why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../test/cli';
import { loadTokenizerJson } from '../data/tokenizer';
import { loadModelFiles } from '../io/model-files';
import { readOnnxWeights } from '../io/onnx';
import { readSafetensors } from '../io/safetensors';
import { shareTestDevice } from '../test/gpu';

shareTestDevice(); // one device, its pipelines compiled once for the file's commands

const FIXTURE = 'src/io/fixtures/tiny-gpt2';
const fixtureFile = (name: string) => join(FIXTURE, name);
let dir = '';
const at = (name: string) => join(dir, name);

/** Exit 2 with exactly one line on stderr, matching `message`. */
async function expectExit2(p: ReturnType<typeof runCli>, message: RegExp) {
  const r = await p;
  expect(r.code, r.err.join('')).toBe(2);
  expect(r.err).toHaveLength(1);
  expect(r.err[0].trimEnd()).not.toContain('\n');
  expect(r.err[0]).toMatch(message);
}

/** A folder holding these fixture files (and `extra` files by name and text). */
function folder(name: string, files: string[], extra: Record<string, string> = {}): string {
  const d = at(name);
  mkdirSync(d, { recursive: true });
  for (const f of files) copyFileSync(fixtureFile(f), join(d, f));
  for (const [f, text] of Object.entries(extra)) writeFileSync(join(d, f), text);
  return d;
}

const filesOf = (d: string, names: string[]) =>
  names.map((n) => ({ name: n, bytes: new Uint8Array(readFileSync(join(d, n))) }));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lora-lab-user-model-'));
  const lines = [];
  for (let i = 0; i < 24; i++)
    lines.push(
      JSON.stringify({
        prompt: `name[The Eagle ${i}], food[French] =>`,
        completion: ` The Eagle ${i} is French.`,
      }),
    );
  writeFileSync(at('data.jsonl'), lines.join('\n') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lora-lab with a Hugging Face GPT-2 folder (tiny-gpt2)', () => {
  it('sweeps two runs, names the model in the adapters, and exports a merged checkpoint that loads again', async () => {
    const r = await runCli(
      'sweep',
      '--model',
      FIXTURE,
      '--data',
      at('data.jsonl'),
      '--optimizers',
      'adamw,riemannian-adamw',
      '--lrs',
      '2e-2',
      '--steps',
      '2',
      '--batch',
      '2',
      '--seq',
      '16',
      '--val-fraction',
      '0',
      '--out',
      at('sweep/results.json'),
      '--save-adapter',
      at('adapters'),
    );
    expect(r.code, r.err.join('')).toBe(0);
    expect(r.err.join('')).toMatch(
      /model: tiny-gpt2: 2 layers × 64, 172\.3K parameters, vocabulary 1000 \(tokenizer\.json\), F32/,
    );
    const res = JSON.parse(readFileSync(at('sweep/results.json'), 'utf8'));
    expect(res.model.name).toBe('tiny-gpt2');
    expect(res.runs).toHaveLength(2);
    for (const run of res.runs) {
      expect(run.losses).toHaveLength(2);
      for (const l of run.losses) expect(Number.isFinite(l)).toBe(true);
    }

    const adapter = at(`adapters/${(res.runs[0].id as string).replace(/[^A-Za-z0-9._-]/g, '_')}`);
    const adapterConfig = JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8'));
    expect(adapterConfig.base_model_name_or_path).toBe('tiny-gpt2');

    // Merged as safetensors: a folder that loads like the base, its c_attn = W + s·B·A (Conv1D: [in, out]).
    const merged = at('merged/model.safetensors');
    const ex = await runCli('export', '--merged', '--model', FIXTURE, '--adapter', adapter, '--out', merged);
    expect(ex.code, ex.err.join('')).toBe(0);
    expect(existsSync(at('merged/config.json'))).toBe(true);
    expect(readFileSync(at('merged/tokenizer.json'), 'utf8')).toBe(
      readFileSync(fixtureFile('tokenizer.json'), 'utf8'),
    );
    const base = loadModelFiles(filesOf(FIXTURE, ['model.safetensors', 'config.json', 'tokenizer.json']));
    const back = loadModelFiles(
      filesOf(at('merged'), ['model.safetensors', 'config.json', 'tokenizer.json']),
    );
    expect(back.cfg).toEqual(base.cfg);
    const { tensors } = readSafetensors(
      new Uint8Array(readFileSync(join(adapter, 'adapter_model.safetensors'))),
    );
    const scale = adapterConfig.lora_alpha / adapterConfig.r;
    const r0 = adapterConfig.r as number;
    let changed = 0;
    for (let l = 0; l < 2; l++) {
      const name = `transformer.h.${l}.attn.c_attn.weight`;
      const A = tensors.get(`base_model.model.transformer.h.${l}.attn.c_attn.lora_A.weight`)!.data; // [r, in]
      const B = tensors.get(`base_model.model.transformer.h.${l}.attn.c_attn.lora_B.weight`)!.data; // [out, r]
      const W0 = base.weights.get(name)!;
      const W = back.weights.get(name)!;
      const [I, O] = [64, 192];
      for (let i = 0; i < I; i++)
        for (let o = 0; o < O; o++) {
          let ba = 0;
          for (let k = 0; k < r0; k++) ba += B[o * r0 + k] * A[k * I + i];
          const want = W0[i * O + o] + scale * ba;
          expect(Math.abs(W[i * O + o] - want)).toBeLessThan(1e-6);
          if (Math.abs(W[i * O + o] - W0[i * O + o]) > 1e-7) changed++;
        }
    }
    expect(changed).toBeGreaterThan(0); // B moved off zero: the check above is not W0 = W0
    expect(back.weights.get('transformer.h.0.mlp.c_fc.weight')).toEqual(
      base.weights.get('transformer.h.0.mlp.c_fc.weight'),
    );

    // Merged as ONNX: a graph written from the same weights.
    const ox = await runCli(
      'export',
      '--merged',
      '--model',
      FIXTURE,
      '--adapter',
      adapter,
      '--out',
      at('merged.onnx'),
    );
    expect(ox.code, ox.err.join('')).toBe(0);
    const onnxWeights = readOnnxWeights(new Uint8Array(readFileSync(at('merged.onnx'))));
    expect(onnxWeights.get('transformer.wte.weight')!.dims).toEqual([1000, 64]);
    expect(onnxWeights.get('transformer.h.1.attn.c_attn.weight')!.data).toEqual(
      back.weights.get('transformer.h.1.attn.c_attn.weight'),
    );

    // The merged folder is a model of its own for --model, and generates from its tokenizer.
    const g = await runCli('generate', '--model', at('merged'), '--prompt', 'The Eagle', '--max-tokens', '5');
    expect(g.code, g.err.join('')).toBe(0);
    expect(g.out.startsWith('The Eagle')).toBe(true);
  });

  it('--seq past n_positions exits 2', async () => {
    await expectExit2(
      runCli('train', '--model', FIXTURE, '--data', at('data.jsonl'), '--seq', '129'),
      /--seq 129 exceeds the model's n_positions 128/,
    );
  });
});

describe('lora-lab generate with a tokenizer.json model', () => {
  it("continues a prompt with PyTorch's greedy token, decoded by the tokenizer", async () => {
    const expected = JSON.parse(readFileSync(fixtureFile('expected.json'), 'utf8')) as {
      logits: { ids: number[]; logits: number[][] }[];
    };
    const tok = loadTokenizerJson(readFileSync(fixtureFile('tokenizer.json'), 'utf8'));
    const { ids, logits } = expected.logits[0];
    const prompt = tok.decode(ids);
    expect(tok.encode(prompt)).toEqual(ids);
    const last = logits[logits.length - 1];
    const next = last.indexOf(Math.max(...last));
    const r = await runCli(
      'generate',
      '--model',
      FIXTURE,
      '--prompt',
      prompt,
      '--max-tokens',
      '6',
      '--temperature',
      '0',
      '--stop-at',
      'never',
    );
    expect(r.code, r.err.join('')).toBe(0);
    expect(r.out.startsWith(prompt + tok.decode([next]))).toBe(true);
    expect(r.out.length).toBeGreaterThan(prompt.length + tok.decode([next]).length);
    // The same through the model.safetensors path.
    const again = await runCli(
      'generate',
      '--model',
      fixtureFile('model.safetensors'),
      '--prompt',
      prompt,
      '--max-tokens',
      '6',
      '--temperature',
      '0',
      '--stop-at',
      'never',
    );
    expect(again.out).toBe(r.out);
  });

  it('a built-in model folder (model.onnx + config.json) stays a byte model', async () => {
    const r = await runCli(
      'generate',
      '--model',
      'public/models/lab-gpt-tiny',
      '--prompt',
      'the',
      '--max-tokens',
      '3',
    );
    expect(r.code, r.err.join('')).toBe(0);
    expect(r.out).toMatch(/^the/);
  });
});

describe('lora-lab: model folders it cannot use exit 2 with the reason', () => {
  const train = (model: string) =>
    runCli('train', '--model', model, '--data', at('data.jsonl'), '--steps', '1');
  it('pytorch_model.bin only', async () => {
    const d = folder('bin-only', ['config.json', 'tokenizer.json'], { 'pytorch_model.bin': 'not read' });
    await expectExit2(
      train(d),
      new RegExp(
        `^lora-lab: ${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: only pytorch_model\\.bin was given.*save_pretrained`,
      ),
    );
    await expectExit2(runCli('generate', '--model', d), /only pytorch_model\.bin was given/);
  });
  it('no tokenizer.json', async () => {
    const d = folder('no-tokenizer', ['config.json', 'model.safetensors']);
    await expectExit2(train(d), /no-tokenizer: tokenizer\.json is missing/);
    await expectExit2(train(join(d, 'model.safetensors')), /tokenizer\.json is missing/);
  });
  it('model_type llama', async () => {
    const config = { ...JSON.parse(readFileSync(fixtureFile('config.json'), 'utf8')), model_type: 'llama' };
    const d = folder('llama', ['model.safetensors', 'tokenizer.json'], {
      'config.json': JSON.stringify(config),
    });
    await expectExit2(train(d), /llama: .*model_type "llama" is not GPT-2/);
  });
  it('a merged export of the wrong kind of file', async () => {
    await expectExit2(
      runCli('export', '--merged', '--model', FIXTURE, '--adapter', at('x'), '--out', at('m.bin')),
      /--out must end in \.onnx or \.safetensors/,
    );
  });
});
