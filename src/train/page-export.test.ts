// Exports and generation through the page's engine session: PEFT zip, merged ONNX, text from ORT.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SWEEP, type RunSpec, type SweepConfig } from './config';
import type { AdapterData, FromEngine, ToEngine } from './messages';
import { PageSession } from './page-session';
import { safeFileName } from './page-export';
import { testGpu } from '../test/gpu';
import { pageSession } from '../test/page-session';
import { tinyText } from './tiny-sweep';
import { readSafetensors } from '../io/safetensors';
import { readOnnxWeights } from '../io/onnx';
import { importAdapter } from '../io/peft';
import { parseConfig } from '../model/config';
import { divergedStatus } from '../io/adapter-card';
import { initLora } from '../model/init';
import { loraLayout } from '../model/lora-layout';

const publicDir = fileURLToPath(new URL('../../public/', import.meta.url));
const fetchAsset = async (path: string) => new Uint8Array(await readFile(publicDir + path));

type Of<T extends FromEngine['type']> = Extract<FromEngine, { type: T }>;

function session() {
  const got: { msg: FromEngine; transfer?: Transferable[] }[] = [];
  const listeners: ((m: FromEngine) => void)[] = [];
  let t = 0;
  const s = new PageSession({
    gpu: testGpu,
    fetchAsset,
    post: (msg, transfer) => {
      got.push({ msg, transfer });
      for (const l of listeners) l(msg);
    },
    now: () => (t += 300),
  });
  const of = <T extends FromEngine['type']>(type: T) =>
    got.map((g) => g.msg).filter((m): m is Of<T> => m.type === type);
  return { s, got, of, listeners, send: (m: ToEngine) => s.handle(m) };
}

function sweep(runs: RunSpec[], over: Partial<SweepConfig> = {}): SweepConfig {
  return {
    ...DEFAULT_SWEEP,
    lora: { r: 2, alpha: 4, targets: ['c_attn', 'mlp.c_proj'] },
    steps: 3,
    batch: 2,
    seq: 8,
    order: 'sequential',
    valFraction: 0,
    valEvery: 0,
    runs,
    ...over,
  };
}

const dataset: ToEngine = {
  type: 'parseDataset',
  requestId: 1,
  source: {
    kind: 'file',
    name: 'tiny.txt',
    bytes: new TextEncoder().encode(tinyText(2000)).buffer as ArrayBuffer,
  },
  options: { skipBadLines: false, valFraction: 0 },
};

const runs: RunSpec[] = [
  { id: 'radamw@0.01', optimizer: 'riemannian-adamw', lr: 1e-2 },
  { id: 'a/b c', optimizer: 'adamw', lr: 1e-2 },
];

async function trainedSession() {
  const x = session();
  await x.send(dataset);
  await x.send({ type: 'start', sweepId: 'e1', model: 'lab-gpt-tiny', sweep: sweep(runs) });
  await x.s.idle();
  expect(x.of('error')).toEqual([]);
  return x;
}

const tinyConfig = async () =>
  parseConfig(JSON.parse(await readFile(publicDir + 'models/lab-gpt-tiny/config.json', 'utf8')));

describe('PageSession exports', () => {
  it('exportAdapter: a PEFT zip with the run status in metadata and README, transferred', async () => {
    const { send, of, got } = await trainedSession();
    await send({ type: 'exportAdapter', requestId: 5, from: { kind: 'run', runId: 'radamw@0.01' } });
    const [ex] = of('exported');
    expect(ex).toMatchObject({ requestId: 5, fileName: 'radamw@0.01-adapter.zip', mime: 'application/zip' });
    expect(got.at(-1)!.transfer).toEqual([ex.bytes.buffer]);
    const files = unzipSync(ex.bytes);
    expect(Object.keys(files).sort()).toEqual([
      'README.md',
      'adapter_config.json',
      'adapter_model.safetensors',
    ]);
    const config = JSON.parse(strFromU8(files['adapter_config.json'])) as Record<string, unknown>;
    expect(config).toMatchObject({
      peft_type: 'LORA',
      r: 2,
      lora_alpha: 4,
      target_modules: ['c_attn', 'mlp.c_proj'],
      base_model_name_or_path: 'lab-gpt-tiny',
    });
    expect(Object.keys(config).some((k) => k.includes('lora-lab') || k === 'status')).toBe(false);
    const st = readSafetensors(files['adapter_model.safetensors']);
    expect([...st.tensors.keys()].sort()).toEqual([
      'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight',
      'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight',
      'base_model.model.transformer.h.0.mlp.c_proj.lora_A.weight',
      'base_model.model.transformer.h.0.mlp.c_proj.lora_B.weight',
    ]);
    expect(st.metadata).toMatchObject({
      format: 'pt',
      'lora-lab.status': 'done',
      'lora-lab.run': 'radamw@0.01',
    });
    expect(strFromU8(files['README.md'])).toContain('Status: **done**');
    // The weights are the run's final adapter, and the zip re-imports.
    const done = of('done')[0];
    const imported = importAdapter(
      files['adapter_model.safetensors'],
      strFromU8(files['adapter_config.json']),
      await tinyConfig(),
    );
    expect(imported.A).toEqual(done.adapters[0].A);
    expect(imported.B).toEqual(done.adapters[0].B);
  });

  it('a stopped sweep exports adapters that say where they stopped; file names are made safe', async () => {
    const { s, send, of, listeners } = session();
    await send(dataset);
    listeners.push((m) => {
      if (m.type === 'metrics' && m.steps.includes(2)) void send({ type: 'stop' });
    });
    await send({ type: 'start', sweepId: 'e2', model: 'lab-gpt-tiny', sweep: sweep(runs, { steps: 20 }) });
    await s.idle();
    const done = of('done')[0];
    expect(done.stopped).toBe(true);
    expect(done.results.steps).toBe(2);
    expect(done.adapters[1].status).toBe('stopped at step 2');
    await send({ type: 'exportAdapter', requestId: 6, from: { kind: 'run', runId: 'a/b c' } });
    const [ex] = of('exported');
    expect(ex.fileName).toBe('a_b_c-adapter.zip');
    const files = unzipSync(ex.bytes);
    expect(readSafetensors(files['adapter_model.safetensors']).metadata['lora-lab.status']).toBe(
      'stopped at step 2',
    );
    expect(strFromU8(files['README.md'])).toContain('did not finish');
  });

  it('a diverged run exports its last good weights, finite, and says from which step', async () => {
    const { s, send, of } = session();
    await send(dataset);
    const wild: RunSpec[] = [runs[1], { id: 'adamw@1e38', optimizer: 'adamw', lr: 1e38 }];
    const config = sweep(wild, { steps: 4 });
    await send({ type: 'start', sweepId: 'e4', model: 'lab-gpt-tiny', sweep: config });
    await s.idle();
    const [d] = of('diverged');
    expect(d).toMatchObject({ runId: 'adamw@1e38' });
    const status = divergedStatus(d.step);
    expect(status).toContain(`weights from step ${d.step - 1}`);
    const done = of('done')[0];
    expect(done.adapters[1].status).toBe(status);
    await send({ type: 'exportAdapter', requestId: 8, from: { kind: 'run', runId: 'adamw@1e38' } });
    const files = unzipSync(of('exported')[0].bytes);
    const st = readSafetensors(files['adapter_model.safetensors']);
    expect(st.metadata['lora-lab.status']).toBe(status);
    expect(st.metadata['lora-lab.non_finite_values']).toBeUndefined();
    for (const t of st.tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
    expect(strFromU8(files['README.md'])).toContain(`Status: **${status}**`);
    expect(strFromU8(files['README.md'])).toContain('last good weights');
    // Its first update overflowed (diverged at step 2): the last good weights are the initial adapter.
    expect(d.step).toBe(2);
    const imported = importAdapter(
      files['adapter_model.safetensors'],
      strFromU8(files['adapter_config.json']),
      await tinyConfig(),
    );
    const init = initLora(loraLayout(await tinyConfig(), config.lora), config.seed);
    expect(imported.A).toEqual(init.A);
    expect(imported.B).toEqual(init.B);
  });

  it('an adapter read during training says so; a second start stops the first', async () => {
    const { s, send, of, got, listeners } = session();
    await send(dataset);
    let asked = false;
    listeners.push((m) => {
      if (m.type === 'metrics' && m.sweepId === 'e3' && !asked) {
        asked = true;
        void send({ type: 'exportAdapter', requestId: 8, from: { kind: 'run', runId: 'a/b c' } });
      }
      if (m.type === 'exported')
        void send({ type: 'start', sweepId: 'e4', model: 'lab-gpt-tiny', sweep: sweep(runs) });
    });
    const e4Done = new Promise<void>((resolve) =>
      listeners.push((m) => m.type === 'done' && m.sweepId === 'e4' && resolve()),
    );
    await send({ type: 'start', sweepId: 'e3', model: 'lab-gpt-tiny', sweep: sweep(runs, { steps: 50 }) });
    await e4Done;
    await s.idle();
    const [ex] = of('exported');
    const meta = readSafetensors(unzipSync(ex.bytes)['adapter_model.safetensors']).metadata;
    expect(meta['lora-lab.status']).toMatch(/^training, at step \d+$/);
    const order = of('started')
      .map((m) => `started ${m.sweepId}`)
      .concat(of('done').map((m) => `done ${m.sweepId} ${m.stopped}`));
    expect(order.sort()).toEqual(['done e3 true', 'done e4 false', 'started e3', 'started e4']);
    // e3 is done (stopped) before e4 starts.
    const types = got.map((g) => g.msg).filter((m) => m.type === 'started' || m.type === 'done');
    expect(types.map((m) => `${m.type} ${m.sweepId}`)).toEqual([
      'started e3',
      'done e3',
      'started e4',
      'done e4',
    ]);
  });

  it('exportMerged: the base ONNX with the adapter merged into c_attn', async () => {
    const { send, of } = await trainedSession();
    await send({ type: 'exportMerged', requestId: 9, from: { kind: 'run', runId: 'radamw@0.01' } });
    const [ex] = of('exported');
    expect(ex.fileName).toBe('radamw@0.01-merged.onnx');
    const merged = readOnnxWeights(ex.bytes);
    const base = readOnnxWeights(await fetchAsset('models/lab-gpt-tiny/model.onnx'));
    const name = 'transformer.h.0.attn.c_attn.weight';
    expect(merged.get(name)!.data).not.toEqual(base.get(name)!.data);
    expect(merged.get('transformer.wte.weight')!.data).toEqual(base.get('transformer.wte.weight')!.data);
  });
});

describe('PageSession generate', () => {
  type From = Extract<ToEngine, { type: 'generate' }>['from'];
  const gen = (requestId: number, from: From, seed: number): ToEngine => ({
    type: 'generate',
    requestId,
    from,
    prompt: 'The ',
    maxTokens: 12,
    temperature: 0.8,
    topK: 40,
    seed,
  });

  it('from the base model: the same seed gives the same text', async () => {
    const { send, of } = session();
    await send(gen(1, { kind: 'base', model: 'lab-gpt-tiny' }, 42));
    await send(gen(2, { kind: 'base', model: 'lab-gpt-tiny' }, 42));
    await send(gen(3, { kind: 'base', model: 'lab-gpt-tiny' }, 7));
    expect(of('error')).toEqual([]);
    const [a, b, c] = of('generated');
    expect(a.text.length).toBeGreaterThan(0);
    expect(b.text).toBe(a.text);
    expect([a.requestId, b.requestId, c.requestId]).toEqual([1, 2, 3]);
  });

  it('from a trained run and from adapter data; a missing run is an error for that request', async () => {
    const { send, of } = await trainedSession();
    await send(gen(4, { kind: 'run', runId: 'radamw@0.01' }, 1));
    const adapter: AdapterData = of('done')[0].adapters[0];
    await send(gen(5, { kind: 'data', adapter }, 1));
    await send(gen(6, { kind: 'run', runId: 'nope' }, 1));
    const [fromRun, fromData] = of('generated');
    expect(fromRun.text).toBe(fromData.text);
    expect(of('error')).toMatchObject([{ requestId: 6 }]);
  });

  it('requests sent at once run one at a time, in order; a failed one does not hold up the next', async () => {
    const base: From = { kind: 'base', model: 'lab-gpt-tiny' };
    const oneAtATime = pageSession();
    for (const [id, seed] of [
      [1, 42],
      [3, 7],
    ])
      await oneAtATime.send(gen(id, base, seed));
    const expected = oneAtATime.of('generated').map((m) => m.text);

    // Sent as the Worker sends them: without waiting for an answer. The second names no run.
    const { send, got } = pageSession();
    await Promise.all([
      send(gen(1, base, 42)),
      send(gen(2, { kind: 'run', runId: 'nope' }, 1)),
      send(gen(3, base, 7)),
    ]);
    const answers = got.filter((m) => m.type === 'generated' || m.type === 'error');
    expect(answers.map((m) => [m.type, 'requestId' in m ? m.requestId : undefined])).toEqual([
      ['generated', 1],
      ['error', 2],
      ['generated', 3],
    ]);
    expect(answers.flatMap((m) => (m.type === 'generated' ? [m.text] : []))).toEqual(expected);
    expect(expected[0]).not.toBe(expected[1]);
  });
});

describe('safeFileName', () => {
  it.each([
    ['adamw@0.001', 'adamw@0.001'],
    ['../../etc/passwd', 'etc_passwd'],
    ['', 'adapter'],
    ['a b\u00e9c', 'a_b_c'],
  ])('%s → %s', (input, out) => expect(safeFileName(input)).toBe(out));
});
