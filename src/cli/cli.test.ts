// The `lora-lab` command line, in process: a tiny sweep end to end, and the exit code 2 contract.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main';
import { randomWeights } from '../model/init';
import { parameterShapes } from '../model/config';
import { writeSafetensors } from '../io/safetensors';
import { tinyText } from '../train/tiny-sweep';
import { shareTestDevice } from '../test/gpu';

shareTestDevice(); // one device, its pipelines compiled once for the file's commands

const cfg = { n_layer: 1, n_head: 2, n_embd: 16, n_positions: 32, vocab_size: 256, layer_norm_epsilon: 1e-5 };
let dir = '';

function capture(): { out: string[]; err: string[]; restore: () => void } {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  return { out, err, restore: () => (o.mockRestore(), e.mockRestore()) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lora-lab-cli-'));
  const shapes = parameterShapes(cfg);
  const w = randomWeights(cfg, 2);
  writeFileSync(
    join(dir, 'model.safetensors'),
    writeSafetensors(new Map([...w].map(([k, v]) => [k, { shape: shapes.get(k)!, data: v }]))),
  );
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  writeFileSync(join(dir, 'data.txt'), tinyText(4000));
  writeFileSync(join(dir, 'bad.jsonl'), '{"text": "ok"}\n{"text": 3}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lora-lab', () => {
  it('sweep writes results.json, a CSV, a log and adapters', async () => {
    const c = capture();
    const code = await main([
      'sweep',
      '--model',
      join(dir, 'model.safetensors'),
      '--data',
      join(dir, 'data.txt'),
      '--steps',
      '4',
      '--batch',
      '2',
      '--seq',
      '8',
      '--lrs',
      '1e-3,1e-1',
      '--optimizers',
      'adamw,riemannian-sgd',
      '--val-every',
      '2',
      '--order',
      'sequential',
      '--out',
      join(dir, 'out/results.json'),
      '--log',
      join(dir, 'log.jsonl'),
      '--save-adapter',
      join(dir, 'adapters'),
    ]);
    c.restore();
    expect(code, c.err.join('')).toBe(0);
    const res = JSON.parse(readFileSync(join(dir, 'out/results.json'), 'utf8'));
    expect(res.runs.map((r: { id: string }) => r.id)).toEqual([
      'adamw@0.001',
      'adamw@0.1',
      'riemannian-sgd@0.001',
      'riemannian-sgd@0.1',
    ]);
    for (const r of res.runs) {
      expect(r.losses).toHaveLength(4);
      expect(r.losses.every(Number.isFinite)).toBe(true);
      expect(r.validation.map((v: { step: number }) => v.step)).toEqual([2, 4]);
    }
    // Existing readers' columns first; each run's hyper-parameters appended.
    expect(readFileSync(join(dir, 'out/results.csv'), 'utf8').split('\n')[0]).toBe(
      'run,optimizer,lr,step,train_loss,val_loss,diverged_at_step,damping,weight_decay,beta1,beta2,eps,loraplus_ratio',
    );
    const log = readFileSync(join(dir, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log[0]).toMatchObject({ step: 1, run: 'adamw@0.001' });
    expect(existsSync(join(dir, 'adapters/adamw_0.1/adapter_model.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'adapters/adamw_0.1/adapter_config.json'))).toBe(true);
  });

  it('train --init-adapter starts from a saved adapter; --log has one line per step', async () => {
    const c = capture();
    const code = await main([
      'train',
      '--model',
      join(dir, 'model.safetensors'),
      '--data',
      join(dir, 'data.txt'),
      '--steps',
      '2',
      '--batch',
      '2',
      '--seq',
      '8',
      '--init-adapter',
      join(dir, 'adapters/adamw_0.1/adapter_model.safetensors'),
      '--optimizer',
      'sgd',
      '--lr',
      '0.01',
      '--log',
      join(dir, 'train.jsonl'),
      '--val-fraction',
      '0',
    ]);
    c.restore();
    expect(code, c.err.join('')).toBe(0);
    // A user on SwiftShader learns what runs and how long it will take before the run ends.
    const err = c.err.join('');
    expect(err).toMatch(
      /^model: \S+: 1 layers × 16, 7\.9K parameters, vocabulary 256 \(bytes\), F32\nWebGPU adapter: \S/,
    );
    expect(err).toMatch(/CPU fallback .*about 1000× slower than a GPU/);
    // ... and is told what the silent seconds before the first step's line are.
    expect(err).toMatch(/\ncompiling the GPU kernels…\nkernels ready in [\d.]+ m?s; step 1 of 2 running…\n/);
    expect(err).toMatch(/first step: .* per step; ETA .* for 2 steps/);
    const log = readFileSync(join(dir, 'train.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.map((l) => Object.keys(l).join())).toEqual(['step,loss', 'step,loss']);
  });

  it('a two-axis sweep: the grid is the product of the lists; ids and results name each run’s values', async () => {
    const c = capture();
    const code = await main([
      'sweep',
      '--model',
      join(dir, 'model.safetensors'),
      '--data',
      join(dir, 'data.txt'),
      '--steps',
      '2',
      '--batch',
      '2',
      '--seq',
      '8',
      '--optimizers',
      'riemannian-adamw,loraplus-adamw',
      '--lrs',
      '1e-3',
      '--dampings',
      '1e-6,1e-4',
      '--weight-decays',
      '0',
      '--beta2s',
      '0.99,0.999',
      '--val-fraction',
      '0',
      '--out',
      join(dir, 'grid/results.json'),
    ]);
    c.restore();
    expect(code, c.err.join('')).toBe(0);
    const res = JSON.parse(readFileSync(join(dir, 'grid/results.json'), 'utf8'));
    const ids = res.runs.map((r: { id: string }) => r.id);
    expect(ids).toHaveLength(8);
    expect(ids.slice(0, 4)).toEqual([
      'riemannian-adamw@0.001,damping=1e-6,beta2=0.99',
      'riemannian-adamw@0.001,damping=1e-6,beta2=0.999',
      'riemannian-adamw@0.001,damping=1e-4,beta2=0.99',
      'riemannian-adamw@0.001,damping=1e-4,beta2=0.999',
    ]);
    expect(res.runs[2].hyper).toEqual({
      damping: 1e-4,
      weightDecay: 0,
      beta1: 0.9,
      beta2: 0.99,
      eps: 1e-8,
      loraplusRatio: 1,
    });
    // loraplus-adamw: AdamW with λ = 16 unless --loraplus-ratios is given.
    expect(res.runs[4]).toMatchObject({ optimizer: 'loraplus-adamw', hyper: { loraplusRatio: 16 } });
    expect(res.config.runs[2]).toMatchObject({ damping: 1e-4, weightDecay: 0, beta2: 0.99 });
    const csv = readFileSync(join(dir, 'grid/results.csv'), 'utf8').split('\n');
    expect(csv[1].split(',').slice(-6)).toEqual(['0.000001', '0', '0.9', '0.99', '1e-8', '1']);
  });

  it('--grid-size-only prints the runs and their GPU memory; a grid over the device limits exits 2', async () => {
    const model = ['--model', join(dir, 'model.safetensors'), '--seq', '8', '--batch', '2'];
    let c = capture();
    let code = await main([
      'sweep',
      ...model,
      '--lrs',
      '1e-3,1e-2',
      '--dampings',
      '1e-6,1e-4,1e-2',
      '--grid-size-only',
    ]);
    c.restore();
    expect(code, c.err.join('')).toBe(0);
    const line = c.out.join('');
    expect(line).toMatch(/^12 runs, [\d.]+ (KiB|MiB) of GPU memory \(\d+ bytes; largest buffer \w+/);
    const bytes = (args: string[]) => Number(/\((\d+) bytes/.exec(args.join(''))![1]);
    c = capture();
    await main(['sweep', ...model, '--lrs', '1e-3', '--optimizers', 'adamw', '--grid-size-only']);
    c.restore();
    expect(bytes(c.out)).toBeLessThan(bytes([line])); // 1 run needs less than 12
    c = capture();
    code = await main([
      'sweep',
      ...model.slice(0, 4),
      '--batch',
      '400000',
      '--lrs',
      '1e-3,1e-2',
      '--grid-size-only',
    ]);
    c.restore();
    expect(code).toBe(2);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(
      /the grid of 4 runs does not fit this device: .*buffer \w+ needs [\d.]+ [GMT]iB, over the device's max\w+ of /,
    );
  });

  it.each([
    [['sweep', '--dampings', '1e-6,0'], /--dampings must be a comma-separated list of positive numbers/],
    [['sweep', '--weight-decays', '0,-1'], /--weight-decays must be .* non-negative numbers/],
    [['sweep', '--beta2s', '0.99,1'], /--beta2s must be .* numbers in \[0, 1\)/],
    [['sweep', '--loraplus-ratios', '1,x'], /--loraplus-ratios must be .* positive numbers/],
    [['sweep', '--damping', '1e-6', '--dampings', '1e-4,1e-2'], /give --damping or --dampings, not both/],
    [['sweep', '--dampings', '1e-4,1e-4'], /duplicate run/],
    [['train', '--dampings', '1e-4'], /unknown flag --dampings/],
    [['sweep', '--steps', '0'], /--steps must be a positive integer/],
    [['sweep', '--bogus'], /unknown flag --bogus/],
    [['train', '--optimizer', 'adam'], /--optimizer must be one of/],
    [['train', '--data', 'missing.txt', '--model', 'missing.onnx'], /not found/],
    [['frobnicate'], /unknown command/],
  ])('%j exits 2 with one line', async (argv, message) => {
    const c = capture();
    const code = await main(argv as string[]);
    c.restore();
    expect(code).toBe(2);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(message);
  });

  it('a malformed dataset line names its line number (exit 2)', async () => {
    const c = capture();
    const code = await main([
      'train',
      '--model',
      join(dir, 'model.safetensors'),
      '--data',
      join(dir, 'bad.jsonl'),
      '--seq',
      '8',
    ]);
    c.restore();
    expect(code).toBe(2);
    expect(c.err.join('')).toMatch(/line 2/);
  });
});

describe('lora-lab generate and export --merged (lab-gpt-tiny)', () => {
  const model = 'public/models/lab-gpt-tiny/model.onnx';
  it('trains an adapter, samples with it reproducibly, and exports the merged model', async () => {
    let c = capture();
    let code = await main([
      'train',
      '--model',
      model,
      '--data',
      join(dir, 'data.txt'),
      '--steps',
      '2',
      '--batch',
      '2',
      '--seq',
      '16',
      '--lr',
      '0.05',
      '--save-adapter',
      join(dir, 'tiny-adapter'),
      '--val-fraction',
      '0',
    ]);
    c.restore();
    expect(code, c.err.join('')).toBe(0);
    const sample = async () => {
      const cap = capture();
      const rc = await main([
        'generate',
        '--model',
        model,
        '--adapter',
        join(dir, 'tiny-adapter'),
        '--prompt',
        'the cat',
        '--max-tokens',
        '12',
        '--seed',
        '4',
      ]);
      cap.restore();
      expect(rc, cap.err.join('')).toBe(0);
      return cap.out.join('');
    };
    const first = await sample();
    expect(first.startsWith('the cat')).toBe(true);
    expect(await sample()).toBe(first);
    c = capture();
    code = await main([
      'export',
      '--merged',
      '--model',
      model,
      '--adapter',
      join(dir, 'tiny-adapter'),
      '--out',
      join(dir, 'merged.onnx'),
    ]);
    c.restore();
    expect(code, c.err.join('')).toBe(0);
    expect(readFileSync(join(dir, 'merged.onnx')).length).toBe(readFileSync(model).length);
    c = capture();
    code = await main(['export', '--model', model]);
    c.restore();
    expect(code).toBe(2);
  });
});
