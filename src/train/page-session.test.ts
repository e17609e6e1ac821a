// The engine side of the page, driven through its messages as the Worker does (Dawn on SwiftShader,
// lab-gpt-tiny from public/models/, tiny sweeps).
import { describe, expect, it } from 'vitest';
import { DEFAULT_SWEEP, type RunSpec, type SweepConfig } from './config';
import type { FromEngine, ToEngine } from './messages';
import { fetchAsset, pageSession } from '../test/page-session';
import { PageSession } from './page-session';
import { tinyText } from './tiny-sweep';
import { GpuError } from '../gpu/errors';
import { Gpu } from '../gpu/context';
import { acquireDevice } from '../gpu/device';
import { loraLayout } from '../model/lora-layout';
import { parseConfig } from '../model/config';
import { divergedStatus } from '../io/adapter-card';

const session = pageSession;
const enc = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;

const tinyFile = (text = tinyText(3000)): ToEngine => ({
  type: 'parseDataset',
  requestId: 1,
  source: { kind: 'file', name: 'tiny.txt', bytes: enc(text) },
  options: { skipBadLines: false, valFraction: 0.1 },
});

function sweep(runs: RunSpec[], over: Partial<SweepConfig> = {}): SweepConfig {
  return {
    ...DEFAULT_SWEEP,
    lora: { r: 2, alpha: 4, targets: ['c_attn'] },
    steps: 3,
    batch: 2,
    seq: 8,
    order: 'sequential',
    valFraction: 0.1,
    valEvery: 0,
    valBatches: 1,
    runs,
    ...over,
  };
}

const grid: RunSpec[] = [
  { id: 'adamw@0.01', optimizer: 'adamw', lr: 1e-2 },
  { id: 'adamw@0.001', optimizer: 'adamw', lr: 1e-3 },
  { id: 'riemannian-adamw@0.01', optimizer: 'riemannian-adamw', lr: 1e-2 },
  { id: 'riemannian-adamw@0.001', optimizer: 'riemannian-adamw', lr: 1e-3 },
];

describe('PageSession: datasets', () => {
  it('parses a txt file and splits it', async () => {
    const { send, of } = session();
    const text = tinyText(1000);
    await send(tinyFile(text));
    const [{ preview, requestId }] = of('dataset');
    expect(requestId).toBe(1);
    expect(preview).toMatchObject({ name: 'tiny.txt', format: 'txt', exampleCount: 1, fileBytes: 1000 });
    expect(preview.tokens).toBe(1000);
    expect(preview.trainTokens).toBe(900);
    expect(preview.valTokens).toBe(100);
    expect(preview.skippedLines).toBe(0);
    expect(preview.examples).toEqual([{ text: text.slice(0, 600) + '…' }]);
  });

  it('parses jsonl prompt/completion and text examples for the preview', async () => {
    const { send, of } = session();
    const lines = [
      ...Array.from({ length: 9 }, (_, i) => JSON.stringify({ prompt: `Q${i}: `, completion: `A${i}` })),
      JSON.stringify({ text: 'plain' }),
    ];
    await send({
      type: 'parseDataset',
      requestId: 7,
      source: { kind: 'file', name: 'qa.jsonl', bytes: enc(lines.join('\n')) },
      options: { skipBadLines: false, valFraction: 0.2 },
    });
    const [{ preview }] = of('dataset');
    expect(preview.format).toBe('jsonl');
    expect(preview.exampleCount).toBe(10);
    expect(preview.trainExamples).toBe(8);
    expect(preview.valExamples).toBe(2);
    expect(preview.trainTokens + preview.valTokens).toBe(preview.tokens);
    expect(preview.examples).toHaveLength(5);
    expect(preview.examples[0]).toEqual({ prompt: 'Q0: ', completion: 'A0' });
  });

  it('reads a built-in dataset from our origin', async () => {
    const { send, of } = session();
    await send({
      type: 'parseDataset',
      requestId: 2,
      source: { kind: 'builtin', name: 'e2e-restaurants.jsonl' },
      options: { skipBadLines: false, valFraction: 0.1 },
    });
    const [{ preview }] = of('dataset');
    expect(preview.fileBytes).toBe(824457);
    expect(preview.exampleCount).toBeGreaterThan(1000);
    expect('prompt' in preview.examples[0]).toBe(true);
  });

  it('a broken jsonl line becomes a datasetError naming file and line', async () => {
    const { send, of } = session();
    const bad = '{"text": "ok"}\n{"text": "ok"}\n{"text": oops}\n';
    await send({
      type: 'parseDataset',
      requestId: 3,
      source: { kind: 'file', name: 'bad.jsonl', bytes: enc(bad) },
      options: { skipBadLines: false, valFraction: 0.1 },
    });
    expect(of('dataset')).toHaveLength(0);
    const [{ requestId, error }] = of('datasetError');
    expect(requestId).toBe(3);
    expect(error.file).toBe('bad.jsonl');
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/JSON/);
  });
});

describe('PageSession: GPU', () => {
  it('hello answers ready with the adapter', async () => {
    const { send, of } = session();
    await send({ type: 'hello' });
    expect(of('ready')[0].adapter.isSoftware).toBeTypeOf('boolean');
  });

  it('no WebGPU: hello answers an error with the GpuError message', async () => {
    const got: FromEngine[] = [];
    const s = new PageSession({
      gpu: () => Promise.reject(new GpuError('WebGPU is not available in this browser.')),
      fetchAsset,
      post: (m) => got.push(m),
    });
    await s.handle({ type: 'hello' });
    expect(got).toMatchObject([{ type: 'error', message: 'WebGPU is not available in this browser.' }]);
  });
});

describe('PageSession: sweeps', () => {
  it('a 2 × 2 sweep: started, metrics for steps 1..3 of 4 runs, done with 4 adapters', async () => {
    const { s, send, of, next } = session();
    await send(tinyFile());
    await send({ type: 'start', sweepId: 'sw1', model: 'lab-gpt-tiny', sweep: sweep(grid) });
    await s.idle();
    expect(of('error')).toEqual([]);
    const [started] = of('started');
    expect(started.runs.map((r) => r.spec.id)).toEqual(grid.map((r) => r.id));
    expect(started).toMatchObject({ sweepId: 'sw1', totalSteps: 3, tokensPerStep: 16, valTokens: 300 });
    const metrics = of('metrics');
    expect(metrics.flatMap((m) => m.steps)).toEqual([1, 2, 3]);
    for (const m of metrics) {
      expect(m.runIds).toEqual(grid.map((r) => r.id));
      expect(m.losses.every((row) => row.length === 4 && row.every((l) => l > 0 && l < 10))).toBe(true);
      expect(m.seconds).toHaveLength(m.steps.length);
    }
    const seconds = metrics.flatMap((m) => m.seconds);
    expect(seconds).toEqual([...seconds].sort((a, b) => a - b));
    expect(of('validation').at(-1)).toMatchObject({ step: 3, runIds: grid.map((r) => r.id) });
    const done = await next('done');
    expect(done.stopped).toBe(false);
    expect(done.results.runs.map((r) => r.losses.length)).toEqual([3, 3, 3, 3]);
    const cfg = parseConfig(
      JSON.parse(new TextDecoder().decode(await fetchAsset('models/lab-gpt-tiny/config.json'))),
    );
    const layout = loraLayout(cfg, { r: 2, alpha: 4, targets: ['c_attn'] });
    expect(done.adapters.map((a) => [a.runId, a.A.length, a.B.length, a.status])).toEqual(
      grid.map((r) => [r.id, layout.SA, layout.SB, 'done']),
    );
    // B starts at zero and every run has trained: no B is zero any more.
    expect(done.adapters.every((a) => a.B.some((x) => x !== 0))).toBe(true);
  });

  it('a huge learning rate diverges; the others go on', async () => {
    const { s, send, of } = session();
    await send(tinyFile());
    const runs: RunSpec[] = [
      { id: 'ok', optimizer: 'adamw', lr: 1e-3 },
      { id: 'huge', optimizer: 'sgd', lr: 1e6 },
    ];
    await send({ type: 'start', sweepId: 'sw2', model: 'lab-gpt-tiny', sweep: sweep(runs, { steps: 5 }) });
    await s.idle();
    const [d] = of('diverged');
    expect(d).toMatchObject({ sweepId: 'sw2', runId: 'huge' });
    const last = of('metrics').at(-1)!;
    expect(last.divergedAtStep[1]).toBe(d.step);
    expect(Number.isNaN(last.losses.at(-1)![1]) || d.step === 5).toBe(true);
    expect(Number.isFinite(last.losses.at(-1)![0])).toBe(true);
    const huge = of('done')[0].adapters[1];
    expect(huge.status).toBe(divergedStatus(d.step));
    expect(huge.A.every(Number.isFinite) && huge.B.every(Number.isFinite)).toBe(true); // last good weights

    // The other run is bit-identical to a sweep without the diverging one: same losses, same adapter.
    const alone = session();
    await alone.send(tinyFile());
    await alone.send({
      type: 'start',
      sweepId: 'sw2b',
      model: 'lab-gpt-tiny',
      sweep: sweep([runs[0]], { steps: 5 }),
    });
    await alone.s.idle();
    const lossesOf = (ms: (typeof last)[], run: number) => ms.flatMap((m) => m.losses.map((row) => row[run]));
    expect(lossesOf(of('metrics'), 0)).toEqual(lossesOf(alone.of('metrics'), 0));
    expect(lossesOf(of('metrics'), 0)).toHaveLength(5);
    expect(of('done')[0].adapters[0].A).toEqual(alone.of('done')[0].adapters[0].A);
    expect(of('done')[0].adapters[0].B).toEqual(alone.of('done')[0].adapters[0].B);
  });

  it('addRun and stopRun while training; an added run carries its own damping', async () => {
    const { s, send, of, listeners } = session();
    await send(tinyFile());
    const withDamping: RunSpec = {
      id: 'riemannian-sgd@0.1,damping=0.01',
      optimizer: 'riemannian-sgd',
      lr: 0.1,
      damping: 0.01,
    };
    listeners.push((m) => {
      if (m.type === 'metrics' && m.steps.includes(2) && m.runIds.length === 2) {
        void send({ type: 'addRun', run: { id: 'sgd@0.1', optimizer: 'sgd', lr: 0.1 } });
        void send({ type: 'stopRun', runId: 'a' });
        void send({ type: 'addRun', run: { id: 'b', optimizer: 'sgd', lr: 0.1 } }); // a duplicate
        void send({ type: 'addRun', run: withDamping });
        void send({ type: 'addRun', run: { ...withDamping, id: 'bad-damping', damping: 0 } });
      }
    });
    const runs: RunSpec[] = [
      { id: 'a', optimizer: 'adamw', lr: 1e-2 },
      { id: 'b', optimizer: 'riemannian-sgd', lr: 1e-2 },
    ];
    await send({ type: 'start', sweepId: 'sw3', model: 'lab-gpt-tiny', sweep: sweep(runs, { steps: 5 }) });
    await s.idle();
    // The duplicate and the bad damping are refused with an error each; the sweep goes on.
    expect(of('error').map((e) => e.message)).toEqual([
      "a run 'b' is already in this sweep",
      "run 'bad-damping': damping must be > 0 (got 0)",
    ]);
    const changed = of('runsChanged');
    const added = changed.find((c) => c.runs.length === 4)!;
    expect(added.runs[2]).toMatchObject({ spec: { id: 'sgd@0.1' }, startStep: 2 });
    expect(added.runs[3]).toEqual({ spec: withDamping, startStep: 2, stoppedAtStep: null });
    expect(changed.at(-1)!.runs[0].stoppedAtStep).toBe(2);
    const later = of('metrics').filter((m) => m.runIds.length === 4);
    expect(later.flatMap((m) => m.steps)).toEqual([3, 4, 5]);
    for (const m of later) {
      for (const row of m.losses) {
        expect(Number.isNaN(row[0])).toBe(true); // stopped
        expect(row[2]).toBeGreaterThan(0);
        expect(row[3]).toBeGreaterThan(0);
      }
    }
    const done = of('done')[0];
    expect(done.results.runs[0].stoppedAtStep).toBe(2);
    expect(done.adapters.map((a) => a.status)).toEqual(['stopped at step 2', 'done', 'done', 'done']);
    expect(done.adapters[3].spec).toEqual(withDamping);
  });

  it('a start sent right after a parse (not waiting for its answer) trains on that dataset', async () => {
    const { s, send, of } = session();
    await send(tinyFile());
    const parsing = send({
      type: 'parseDataset',
      requestId: 9,
      source: { kind: 'builtin', name: 'devils-dictionary.txt' },
      options: { skipBadLines: false, valFraction: 0.1 },
    });
    const runs = [grid[0]];
    await send({ type: 'start', sweepId: 'sw5', model: 'lab-gpt-tiny', sweep: sweep(runs, { steps: 1 }) });
    await parsing;
    await s.idle();
    expect(of('error')).toEqual([]);
    expect(of('started')[0].trainTokens).toBe(of('dataset')[1].preview.trainTokens);
  });

  it('too little data for one batch is an error for that sweep, not a crash', async () => {
    const { s, send, of } = session();
    await send(tinyFile(tinyText(40)));
    await send({ type: 'start', sweepId: 'sw4', model: 'lab-gpt-tiny', sweep: sweep(grid, { seq: 64 }) });
    await s.idle();
    expect(of('started')).toEqual([]);
    expect(of('error')).toMatchObject([{ sweepId: 'sw4' }]);
    expect(of('error')[0].message).toMatch(/sequence length 64 needs at least T \+ 2 = 66 tokens/);
  });

  it('a sweep over the device’s limits is refused before it starts, naming what to lower', async () => {
    const { s, send, of } = session();
    await send(tinyFile());
    await send({
      type: 'start',
      sweepId: 'sw6',
      model: 'lab-gpt-tiny',
      sweep: sweep(grid, { batch: 400_000 }),
    });
    await s.idle();
    expect(of('started')).toEqual([]);
    expect(of('error')).toMatchObject([{ sweepId: 'sw6' }]);
    expect(of('error')[0].message).toMatch(
      /^the grid of 4 runs does not fit this device: .*; try fewer runs, or a smaller batch size or sequence length$/,
    );
  });

  it('a GPU that runs out of memory while the sweep is built gives a message, not a crash', async () => {
    /** Refuses the adapters' gradient buffer, as a GPU without enough memory left would. */
    class OutOfMemoryGpu extends Gpu {
      override buffer(data: ArrayBufferView | number, label = 'buffer'): GPUBuffer {
        if (label === 'loraDA') throw new GpuError('Out of memory', label, 'out-of-memory');
        return super.buffer(data, label);
      }
    }
    const { s, send, of } = session(async () => new OutOfMemoryGpu(await acquireDevice()));
    await send(tinyFile());
    await send({ type: 'start', sweepId: 'sw7', model: 'lab-gpt-tiny', sweep: sweep(grid) });
    await s.idle();
    expect(of('started')).toEqual([]);
    expect(of('error')[0].message).toMatch(
      /^the sweep needs [\d.]+ (KiB|MiB) of GPU memory and the device ran out: lower batch size, sequence length, the number of runs, or rank$/,
    );
  });
});
