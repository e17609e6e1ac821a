// Issue #13 on the command line: settings refused before anything starts, a clear out-of-memory message,
// --checkpoint/--resume giving the losses of an uninterrupted run, a lost GPU device replaced mid-sweep,
// and adapters that say how their run ended.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../test/cli';
import { trainCommand } from './train';
import { UsageError } from './args';
import { Gpu, type Dispatch } from '../gpu/context';
import { acquireDevice } from '../gpu/device';
import { GpuError } from '../gpu/errors';
import { randomWeights } from '../model/init';
import { parameterShapes } from '../model/config';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { divergedStatus } from '../io/adapter-card';
import { DEFAULT_SWEEP, validateSweep } from '../train/config';
import { TINY, tinyText } from '../train/tiny-sweep';
import { shareTestDevice } from '../test/gpu';

shareTestDevice(); // one device, its pipelines compiled once for the file's commands

const cfg = { n_layer: 1, n_head: 2, n_embd: 16, n_positions: 32, vocab_size: 256, layer_norm_epsilon: 1e-5 };
let dir = '';
const at = (name: string) => join(dir, name);

const run = runCli;

/** trainCommand with captured output and a chosen way of getting a GPU. */
async function command(argv: string[], createGpu?: () => Promise<Gpu>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await trainCommand(
    'sweep',
    argv.includes('--out') ? argv : ['--out', at('results.json'), ...argv],
    { write: (s: string) => out.push(s) },
    { write: (s: string) => err.push(s) },
    { createGpu },
  );
  return { code, out: out.join(''), err: err.join('') };
}

async function expectExit2(p: Promise<{ code: number; err: string[] }>, message: RegExp) {
  const r = await p;
  expect(r.code, r.err.join('')).toBe(2);
  expect(r.err).toHaveLength(1);
  expect(r.err[0]).toMatch(message);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lora-lab-reliability-'));
  const shapes = parameterShapes(cfg);
  const w = randomWeights(cfg, 2);
  writeFileSync(
    at('model.safetensors'),
    writeSafetensors(new Map([...w].map(([k, v]) => [k, { shape: shapes.get(k)!, data: v }]))),
  );
  writeFileSync(at('config.json'), JSON.stringify(cfg));
  writeFileSync(at('data.txt'), tinyText(3000));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = () => ['--model', at('model.safetensors'), '--data', at('data.txt')];

describe('settings refused with a message before anything starts (exit 2)', () => {
  it.each([
    [['train', '--lr', 'abc'], /^lora-lab: --lr must be a positive number \(got 'abc'\)/],
    [['train', '--lr', '0'], /--lr must be a positive number \(got '0'\)/],
    [['train', '--lr', '-1e-3'], /--lr must be a positive number \(got '-1e-3'\)/],
    [['train', '--lr', 'NaN'], /--lr must be a positive number \(got 'NaN'\)/],
    [['train', '--lr', 'Infinity'], /--lr must be a positive number \(got 'Infinity'\)/],
    [['sweep', '--lrs', '1e-3,0'], /--lrs must be a comma-separated list of positive numbers/],
    [['sweep', '--lrs', '1e-3,x'], /--lrs must be a comma-separated list of positive numbers/],
    [['sweep', '--lrs', '1e-3,-1'], /--lrs must be a comma-separated list of positive numbers/],
    [['train', '--checkpoint-every', '0'], /--checkpoint-every must be a positive integer/],
  ])('%j', async (argv, message) => expectExit2(run(...argv), message));

  it('a rank larger than an adapted layer’s width names the layer and its width', async () => {
    await expectExit2(
      run('train', ...data(), '--seq', '8', '--rank', '17', '--targets', 'c_attn'),
      /--rank: rank 17 is larger than the width of c_attn \(16: 16 in, 48 out\) in this model; use a rank of at most 16/,
    );
    await expectExit2(
      run('train', ...data(), '--seq', '8', '--rank', '20', '--targets', 'mlp.c_proj'),
      /width of mlp.c_proj \(16: 64 in, 16 out\)/,
    );
    // The page's settings go through the same check.
    const config = { ...DEFAULT_SWEEP, lora: { r: 32, alpha: 8, targets: ['c_attn' as const] }, runs: [] };
    expect(() =>
      validateSweep({ ...config, runs: [{ id: 'a', optimizer: 'adamw', lr: 1 }] }, 1000, TINY),
    ).toThrow(/rank 32 is larger than the width of c_attn \(16/);
  });

  it('batch × sequence over the device’s limits is refused before training', async () => {
    // 32M rows: activations past SwiftShader's 1 GiB binding (the logits, chunked, no longer overflow).
    const r = await run('train', ...data(), '--batch', '4000000', '--seq', '8');
    expect(r.code).toBe(2);
    expect(r.err.join('')).not.toMatch(/first step/);
    expect(r.err.at(-1)).toMatch(/the grid of 1 runs does not fit this device: .*over the device's max\w+/);
  });
});

/** A device that refuses the adapters' gradient buffer, as a GPU without enough memory left would. */
class OutOfMemoryGpu extends Gpu {
  override buffer(data: ArrayBufferView | number, label = 'buffer'): GPUBuffer {
    if (label === 'loraDA') throw new GpuError('Out of memory', label, 'out-of-memory');
    return super.buffer(data, label);
  }
}

/** A device destroyed as it submits a given step (a driver reset, a GPU process crash). */
class LosingGpu extends Gpu {
  loseAt = 'step 5';
  override submit(label: string, dispatches: readonly Dispatch[], ts?: GPUComputePassTimestampWrites): void {
    if (label === this.loseAt) this.device.destroy();
    super.submit(label, dispatches, ts);
  }
}

/**
 * A device whose first out-of-memory error scope reports an error, as Dawn does when an allocation fails
 * on a GPU with too little memory left (the buffer is created, invalid, and the scope gets the error).
 */
async function scopeOutOfMemoryGpu(): Promise<Gpu> {
  const acquired = await acquireDevice();
  const real = acquired.device;
  const filters: GPUErrorFilter[] = [];
  let reported = false;
  const device = new Proxy(real, {
    get(target, key) {
      if (key === 'pushErrorScope')
        return (filter: GPUErrorFilter) => (filters.push(filter), target.pushErrorScope(filter));
      if (key === 'popErrorScope')
        return async () => {
          const filter = filters.pop();
          const error = await target.popErrorScope();
          if (filter !== 'out-of-memory' || reported) return error;
          reported = true;
          return { message: 'simulated: not enough memory left' } as GPUError;
        };
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return new Gpu({ ...acquired, device });
}

describe('out of memory at start', () => {
  it('an allocation the device reports in its out-of-memory error scope gives the same message', async () => {
    await expect(
      command(
        [...data(), '--steps', '2', '--batch', '2', '--seq', '8', '--lrs', '1e-3'],
        scopeOutOfMemoryGpu,
      ),
    ).rejects.toThrow(
      /^the sweep needs [\d.]+ (KiB|MiB) of GPU memory and the device ran out: lower --batch/,
    );
  });

  it('is a usage error (exit 2) that says how much the sweep needs and what to lower', async () => {
    const p = command(
      [...data(), '--steps', '2', '--batch', '2', '--seq', '8', '--lrs', '1e-3'],
      async () => new OutOfMemoryGpu(await acquireDevice()),
    );
    await expect(p).rejects.toThrow(UsageError);
    await expect(p).rejects.toThrow(
      /^the sweep needs [\d.]+ (KiB|MiB) of GPU memory and the device ran out: lower --batch, --seq, the number of runs, or --rank$/,
    );
  });
});

describe('checkpoints, resume and a lost device', () => {
  const sweep = [
    '--steps',
    '6',
    '--batch',
    '2',
    '--seq',
    '8',
    '--optimizers',
    'adamw',
    '--lrs',
    '1e-2,1e38',
    '--val-every',
    '3',
    '--checkpoint-every',
    '2',
  ];
  const results = (path: string) =>
    JSON.parse(readFileSync(path, 'utf8')) as {
      runs: { id: string; losses: (number | null)[]; validation: unknown[]; divergedAtStep: number | null }[];
    };

  it('--checkpoint writes the sweep every n steps; --resume gives the uninterrupted losses; a mismatch exits 2; exports say their status', async () => {
    const straight = await command([
      ...data(),
      ...sweep,
      '--checkpoint',
      at('ck/sweep.ckpt'),
      '--out',
      at('a/results.json'),
      '--save-adapter',
      at('a/adapters'),
    ]);
    expect(straight.code, straight.err).toBe(0);
    expect(readdirSync(at('ck'))).toEqual(['sweep.ckpt']); // renamed into place, no temporary left
    const a = results(at('a/results.json'));
    expect(a.runs.map((r) => r.id)).toEqual(['adamw@0.01', 'adamw@1e+38']);
    const divergedAt = a.runs[1].divergedAtStep;
    expect(divergedAt, JSON.stringify(a.runs[1].losses)).not.toBeNull();

    // Exports: a diverged run's adapter is valid, finite, and says so in its metadata and README.
    const exported = (id: string) => {
      const st = readSafetensors(
        new Uint8Array(readFileSync(at(`a/adapters/${id}/adapter_model.safetensors`))),
      );
      return { ...st, readme: readFileSync(at(`a/adapters/${id}/README.md`), 'utf8') };
    };
    const wild = exported('adamw_1e_38');
    const status = divergedStatus(divergedAt!);
    expect(status).toMatch(/^diverged at step \d+; weights /);
    expect(wild.metadata['lora-lab.status']).toBe(status);
    expect(wild.metadata['lora-lab.run']).toBe('adamw@1e+38');
    expect(wild.readme).toContain(`Status: **${status}**`);
    expect(wild.readme).toContain('did not finish its schedule');
    expect(wild.readme).toContain('last good weights');
    // Its last good weights, not the frozen ones its overflowing update made NaN/Inf: all finite.
    expect(wild.metadata['lora-lab.non_finite_values']).toBeUndefined();
    for (const t of wild.tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
    // Diverged at step 2 (its first update overflowed): the weights of step 1 are the initial adapter,
    // which is what the run had before that update: LoRA B starts at zero, A does not.
    expect(divergedAt).toBe(2);
    for (const [name, t] of wild.tensors)
      if (name.includes('lora_B')) expect(t.data.every((x) => x === 0)).toBe(true);
      else expect(t.data.some((x) => x !== 0)).toBe(true);
    expect(existsSync(at('a/adapters/adamw_1e_38/adapter_config.json'))).toBe(true);
    const calm = exported('adamw_0.01');
    expect(calm.metadata['lora-lab.status']).toBe('done');
    expect(calm.metadata['lora-lab.non_finite_values']).toBeUndefined();
    for (const t of calm.tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
    expect(straight.out).toContain('saved adapter adamw@1e+38 (diverged at step');

    const resumed = await command([
      ...data(),
      ...sweep,
      '--resume',
      at('ck/sweep.ckpt'),
      '--out',
      at('b/results.json'),
      '--log',
      at('b/log.jsonl'),
    ]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toContain(`resumed from ${at('ck/sweep.ckpt')} at step 4`);
    // Only the steps after the checkpoint were trained (and logged) again.
    const logged = readFileSync(at('b/log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { step: number }).step);
    expect([...new Set(logged)]).toEqual([5, 6]);
    const b = results(at('b/results.json'));
    expect(b.runs.map((r) => r.losses)).toEqual(a.runs.map((r) => r.losses));
    expect(b.runs.map((r) => r.validation)).toEqual(a.runs.map((r) => r.validation));
    expect(b.runs.map((r) => r.divergedAtStep)).toEqual(a.runs.map((r) => r.divergedAtStep));

    const other = sweep.map((f) => (f === '6' ? '8' : f));
    await expect(command([...data(), ...other, '--resume', at('ck/sweep.ckpt')])).rejects.toThrow(
      /^--resume .*sweep\.ckpt: the checkpoint was trained with steps 6 \(this command: 8\); give the flags of the run that wrote it$/,
    );
    writeFileSync(at('other.txt'), tinyText(3000, 9));
    await expect(
      command([
        '--model',
        at('model.safetensors'),
        '--data',
        at('other.txt'),
        ...sweep,
        '--resume',
        at('ck/sweep.ckpt'),
      ]),
    ).rejects.toThrow(/the checkpoint trained on 'data.txt' \(\d+ tokens\), not 'other.txt'/);
    await expect(command([...data(), ...sweep, '--resume', at('data.txt')])).rejects.toThrow(
      /^--resume .*data\.txt: not a LoRA Lab checkpoint/,
    );

    // A GPU device lost at step 5: a new device, the in-memory checkpoint of step 4, the same losses.
    let acquired = 0;
    const lost = await command([...data(), ...sweep, '--out', at('c/results.json')], async () =>
      acquired++ === 0 ? new LosingGpu(await acquireDevice()) : Gpu.create(),
    );
    expect(lost.code, lost.err).toBe(0);
    expect(acquired).toBe(2);
    expect(lost.err).toMatch(/the GPU device was lost at step [56] \(destroyed: .*\); acquiring a new one\n/);
    const redone = /resumed from step 4; (\d+) steps redone\n/.exec(lost.err);
    expect(redone, lost.err).not.toBeNull();
    expect(Number(redone![1])).toBeGreaterThanOrEqual(1);
    const c = results(at('c/results.json'));
    expect(c.runs.map((r) => r.losses)).toEqual(a.runs.map((r) => r.losses));
    expect(c.runs.map((r) => r.validation)).toEqual(a.runs.map((r) => r.validation));
  });
});

describe('an interrupted sweep (Ctrl-C)', () => {
  it('stops at a step boundary and writes results, a resumable checkpoint and adapters that say where they stopped', async () => {
    const interrupt = new AbortController();
    const err: string[] = [];
    const code = await trainCommand(
      'train',
      [
        ...data(),
        ...['--steps', '50', '--batch', '2', '--seq', '8', '--lr', '1e-2'],
        ...['--checkpoint', at('stop/sweep.ckpt'), '--save-adapter', at('stop/adapter')],
      ],
      { write: () => true },
      {
        write: (s: string) => {
          err.push(s);
          if (s.startsWith('first step')) interrupt.abort(); // after step 1's report
        },
      },
      { signal: interrupt.signal },
    );
    expect(code).toBe(0);
    const stopped = /interrupted: stopped at step (\d+) of 50; continue with --resume .*sweep\.ckpt\n/.exec(
      err.join(''),
    );
    expect(stopped, err.join('')).not.toBeNull();
    const step = Number(stopped![1]);
    expect(step).toBeLessThan(50);
    const st = readSafetensors(new Uint8Array(readFileSync(at('stop/adapter/adapter_model.safetensors'))));
    expect(st.metadata['lora-lab.status']).toBe(`stopped at step ${step}`);
    expect(readFileSync(at('stop/adapter/README.md'), 'utf8')).toContain(
      `Status: **stopped at step ${step}**`,
    );
    for (const t of st.tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
    const ckpt = readSafetensors(new Uint8Array(readFileSync(at('stop/sweep.ckpt'))));
    expect(JSON.parse(ckpt.metadata['lora-lab.checkpoint']).step).toBe(step);
  });
});
