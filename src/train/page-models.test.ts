// The page engine with a model the user opened from its files (src/io/fixtures/tiny-gpt2): openModel,
// datasets read with its tokenizer, the model card's plan, and a sweep, adapter export and checkpoint on it.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { unzipSync, strFromU8 } from 'fflate';
import { loadModelFiles } from '../io/model-files';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SWEEP, type SweepConfig } from './config';
import type { ModelFileData, ModelId, ToEngine } from './messages';
import { pageSession } from '../test/page-session';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { readCheckpoint } from './page-checkpoint';

const fixture = fileURLToPath(new URL('../io/fixtures/tiny-gpt2/', import.meta.url));
const read = async (name: string, as = name): Promise<ModelFileData> => {
  const b = await readFile(fixture + name);
  return { name: as, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
};
const three = () => Promise.all(['config.json', 'model.safetensors', 'tokenizer.json'].map((n) => read(n)));
const enc = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
const OPENED = 'opened:tiny-gpt2' as const;

const jsonl = Array.from({ length: 40 }, (_, i) =>
  JSON.stringify({ prompt: `name[Cafe ${i}] → `, completion: `Cafe ${i} serves coffee.` }),
).join('\n');
const parse = (model?: ModelId): ToEngine => ({
  type: 'parseDataset',
  requestId: 2,
  source: { kind: 'file', name: 'cafes.jsonl', bytes: enc(jsonl) },
  options: { skipBadLines: false, valFraction: 0.1 },
  ...(model ? { model } : {}),
});

const sweep = (over: Partial<SweepConfig> = {}): SweepConfig => ({
  ...DEFAULT_SWEEP,
  lora: { r: 2, alpha: 4, targets: ['c_attn'] },
  steps: 2,
  batch: 2,
  seq: 16,
  order: 'sequential',
  valFraction: 0.1,
  valEvery: 0,
  valBatches: 1,
  runs: [
    { id: 'adamw@0.01', optimizer: 'adamw', lr: 1e-2 },
    { id: 'riemannian-adamw@0.01', optimizer: 'riemannian-adamw', lr: 1e-2 },
  ],
  ...over,
});

describe('PageSession: a model opened from its files', () => {
  it('opens the three files of a folder and describes the model', async () => {
    const { send, of } = pageSession();
    await send({ type: 'openModel', requestId: 1, files: await three(), folder: 'tiny-gpt2' });
    expect(of('error')).toEqual([]);
    const [{ card, requestId }] = of('modelOpened');
    expect(requestId).toBe(1);
    expect(card).toMatchObject({
      id: OPENED,
      name: 'tiny-gpt2',
      source: 'folder',
      layers: 2,
      width: 64,
      positions: 128,
      vocabSize: 1000,
      dtype: 'F32',
      tokenizer: 'tokenizer.json',
    });
    expect(card.parameters).toBeGreaterThan(1000 * 64);
  });

  it('says why files cannot be used, and keeps the model opened before', async () => {
    const { send, of } = pageSession();
    await send({ type: 'openModel', requestId: 1, files: await three(), folder: 'tiny-gpt2' });
    const bin = { name: 'other/pytorch_model.bin', bytes: new ArrayBuffer(8) };
    await send({ type: 'openModel', requestId: 2, files: [bin, await read('config.json')] });
    const [err] = of('error');
    expect(err.requestId).toBe(2);
    expect(err.message).toMatch(/only pytorch_model\.bin was given.*model\.safetensors only/);
    await send({ type: 'planSweep', requestId: 3, model: OPENED, sweep: sweep() });
    expect(of('sweepPlan')[0].card.name).toBe('tiny-gpt2');
  });

  it('reads a dataset with the opened model tokenizer, and bytes for the built-ins', async () => {
    const { send, of } = pageSession();
    await send({ type: 'openModel', requestId: 1, files: await three(), folder: 'tiny-gpt2' });
    await send(parse(OPENED));
    await send(parse());
    const [opened, bytes] = of('dataset').map((d) => d.preview);
    expect(bytes.tokenizer).toEqual({ kind: 'bytes' });
    expect(bytes.tokens).toBeGreaterThan(40 * 20);
    // Token-level parsing lands with src/data (ParseOptions.tokenizer); until then the stream is bytes
    // and the preview says so rather than claim the tokenizer.
    if (opened.tokenizer?.kind === 'tokenizer.json') {
      expect(opened.tokenizer.model).toBe('tiny-gpt2');
      expect(opened.tokens).toBeLessThan(bytes.tokens);
    } else expect(opened.tokens).toBe(bytes.tokens);
    expect(opened.examples[0]).toEqual({ prompt: 'name[Cafe 0] → ', completion: 'Cafe 0 serves coffee.' });
  });

  it('tells how far the tokenizing of a long text has come, before the answer', async () => {
    const { send, got } = pageSession();
    await send({ type: 'openModel', requestId: 1, files: await three(), folder: 'tiny-gpt2' });
    // Past ENCODE_CHUNK_CHARS several times over: the text is tokenized in pieces, with progress.
    const lines = Array.from({ length: 4000 }, (_, i) => `Cafe ${i} serves coffee by the river.`);
    const text = enc(lines.join('\n'));
    const source = { kind: 'file' as const, name: 'cafes.txt', bytes: text };
    const options = { skipBadLines: false, valFraction: 0.1 };
    await send({ type: 'parseDataset', requestId: 7, source, options, model: OPENED });
    const parse7 = got.filter((m) => 'requestId' in m && m.requestId === 7);
    const answer = parse7.findIndex((m) => m.type === 'dataset');
    expect(answer).toBe(parse7.length - 1);
    const progress = parse7.slice(0, answer);
    expect(progress.every((m) => m.type === 'datasetProgress')).toBe(true);
    const told = progress.map((m) => (m.type === 'datasetProgress' ? m : undefined)!);
    expect(told.length).toBeGreaterThanOrEqual(4);
    expect(told[0]).toMatchObject({ fraction: 0, phase: 'reading' });
    expect(told.slice(1).every((m) => m.phase === 'tokenizing')).toBe(true);
    for (const m of told) expect(m.tokenizer).toEqual({ kind: 'tokenizer.json', model: 'tiny-gpt2' });
    const fractions = told.map((m) => m.fraction);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThan(fractions[i - 1]);
    expect(fractions.at(-1)).toBe(1);
    expect(fractions.at(-2)).toBeLessThan(1);

    // Bytes are read at once: no progress to tell.
    await send({ type: 'parseDataset', requestId: 8, source: { ...source, bytes: enc('a b c') }, options });
    expect(got.filter((m) => m.type === 'datasetProgress' && m.requestId === 8)).toEqual([]);
    expect(got.at(-1)).toMatchObject({ type: 'dataset', requestId: 8 });
  });

  it('refuses a dataset for a model that is not open (after a reload)', async () => {
    const { send, of } = pageSession();
    await send(parse(OPENED));
    expect(of('datasetError')[0].error.message).toMatch(/open the model files again/);
  });

  it('plans a sweep: bytes within the limits, and what to lower when over them', async () => {
    const { send, of } = pageSession();
    await send({ type: 'openModel', requestId: 1, files: await three(), folder: 'tiny-gpt2' });
    await send({ type: 'planSweep', requestId: 2, model: OPENED, sweep: sweep() });
    const many = Array.from({ length: 48 }, (_, i) => ({
      id: `adamw@${i + 1}e-4`,
      optimizer: 'adamw' as const,
      lr: (i + 1) * 1e-4,
    }));
    const huge = sweep({ batch: 512, seq: 128, runs: many });
    await send({ type: 'planSweep', requestId: 3, model: OPENED, sweep: huge });
    await send({ type: 'planSweep', requestId: 4, model: OPENED, sweep: sweep({ seq: 129 }) });
    await send({ type: 'planSweep', requestId: 5, model: 'lab-gpt-tiny', sweep: sweep() });
    const [small, big, bad, builtin] = of('sweepPlan');
    expect(small.plan).toMatchObject({ runs: 2, problems: [] });
    expect(small.plan!.bytes).toBeGreaterThan(4 * 1000 * 64);
    expect(small.plan!.advice).toBeUndefined();
    // 48 runs × 512 × 128 positions of activations are over any device's binding limit.
    expect(big.plan!.problems.length).toBeGreaterThan(0);
    expect(big.plan!.advice).toMatch(/batch size|sequence length/);
    expect(bad.plan).toBeUndefined();
    expect(bad.error).toMatch(/seq/);
    expect(builtin.card).toMatchObject({
      id: 'lab-gpt-tiny',
      source: 'builtin',
      tokenizer: 'bytes',
      dtype: 'F32',
    });
  });

  it('trains a 2-run sweep on it; the adapter zip names it; samples, merged ONNX and merged safetensors', async () => {
    const { s, send, of } = pageSession();
    await send({ type: 'openModel', requestId: 1, files: await three(), folder: 'tiny-gpt2' });
    await send(parse(OPENED));
    await send({ type: 'start', sweepId: 'u', model: OPENED, sweep: sweep() });
    await s.idle();
    expect(of('error')).toEqual([]);
    const [done] = of('done');
    expect(done.results.model.name).toBe('tiny-gpt2');
    expect(done.adapters.map((a) => a.model)).toEqual([OPENED, OPENED]);
    const losses = of('metrics').flatMap((m) => m.losses.flat());
    expect(losses.length).toBe(4);
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);

    await send({ type: 'exportAdapter', requestId: 9, from: { kind: 'run', runId: 'adamw@0.01' } });
    const [zip] = of('exported');
    const config = JSON.parse(strFromU8(unzipSync(zip.bytes)['adapter_config.json'])) as {
      base_model_name_or_path: string;
    };
    expect(config.base_model_name_or_path).toBe('tiny-gpt2');
    await send({
      type: 'generate',
      requestId: 10,
      from: { kind: 'base', model: OPENED },
      prompt: 'x',
      maxTokens: 2,
      temperature: 0,
      topK: 0,
      seed: 0,
    });
    // Samples: the base model's ONNX graph is written from its weights; a run's from the merged weights.
    // Greedy from the same prompt: the tokenizer decodes ids; the tuned model is a different model.
    expect(of('error')).toEqual([]);
    const [baseText] = of('generated');
    expect(typeof baseText.text).toBe('string');
    expect(baseText.text.length).toBeGreaterThan(0);
    await send({
      type: 'generate',
      requestId: 11,
      from: { kind: 'run', runId: 'adamw@0.01' },
      prompt: 'x',
      maxTokens: 2,
      temperature: 0,
      topK: 0,
      seed: 0,
    });
    expect(of('error')).toEqual([]);
    expect(of('generated')).toHaveLength(2);
    await send({ type: 'exportMerged', requestId: 12, from: { kind: 'run', runId: 'adamw@0.01' } });
    expect(of('error')).toEqual([]);
    // The merged checkpoint folder, zipped: it opens again as a model, with the adapted weights changed.
    await send({
      type: 'exportMerged',
      requestId: 13,
      from: { kind: 'run', runId: 'adamw@0.01' },
      format: 'safetensors',
    });
    expect(of('error')).toEqual([]);
    const folder = of('exported').at(-1)!;
    expect(folder.fileName).toBe('adamw@0.01-merged-safetensors.zip');
    const files = unzipSync(folder.bytes);
    expect(Object.keys(files).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    const merged = loadModelFiles(Object.entries(files).map(([name, bytes]) => ({ name, bytes })));
    const base = loadModelFiles(
      (await three()).map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })),
    );
    expect(merged.cfg).toEqual(base.cfg);
    expect(merged.tokenizer.encode('The cat')).toEqual(base.tokenizer.encode('The cat'));
    const key = 'transformer.h.0.attn.c_attn.weight';
    const moved = merged.weights.get(key)!.some((v, i) => v !== base.weights.get(key)![i]);
    expect(moved).toBe(true);
    const untouched = 'transformer.h.0.mlp.c_fc.weight';
    expect(merged.weights.get(untouched)).toEqual(base.weights.get(untouched));
  });

  it('a checkpoint resumes on the same files; on files of its name with one weight changed, it is refused', async () => {
    const a = pageSession();
    await a.send({ type: 'openModel', requestId: 1, files: await three(), folder: 'tiny-gpt2' });
    await a.send(parse(OPENED));
    await a.send({ type: 'start', sweepId: 'c1', model: OPENED, sweep: sweep(), checkpointEvery: 1 });
    await a.s.idle();
    expect(a.of('error')).toEqual([]);
    const [{ bytes }] = a.of('checkpoint');
    const fingerprint = a.of('done')[0].results.model.fingerprint;
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(a.of('done')[0].results.model.vocab_size).toBe(1000);
    expect(readCheckpoint(bytes).fingerprint).toBe(fingerprint);

    const resumeWith = async (files: ModelFileData[]) => {
      const b = pageSession();
      await b.send({ type: 'openModel', requestId: 1, files, folder: 'tiny-gpt2' });
      await b.send(parse(OPENED));
      await b.send({ type: 'resume', sweepId: 'c2', checkpoint: bytes.slice() });
      await b.s.idle();
      return b;
    };
    const same = await resumeWith(await three());
    expect(same.of('error')).toEqual([]);
    expect(same.of('started')[0]).toMatchObject({ sweepId: 'c2', resumedFromStep: 1 });

    const st = readSafetensors(new Uint8Array((await read('model.safetensors')).bytes));
    const key = [...st.tensors.keys()].find((k) => k.endsWith('h.0.mlp.c_fc.weight'))!;
    st.tensors.get(key)!.data[0] += 0.5;
    const changed = writeSafetensors(st.tensors);
    const weights = { name: 'model.safetensors', bytes: changed.slice().buffer as ArrayBuffer };
    const other = await resumeWith([await read('config.json'), weights, await read('tokenizer.json')]);
    expect(other.of('started')).toEqual([]);
    const short = fingerprint!.slice(0, 8);
    expect(other.of('error')[0].message).toMatch(
      new RegExp(
        `^the checkpoint is of model 'tiny-gpt2' \\(${short}\\), not 'tiny-gpt2' \\((?!${short})[0-9a-f]{8}\\): the same name, but other weights`,
      ),
    );
  });

  it('refuses to train on a dataset read with another tokenizer', async () => {
    const { send, of } = pageSession();
    await send({ type: 'openModel', requestId: 1, files: await three(), folder: 'tiny-gpt2' });
    await send(parse());
    await send({ type: 'start', sweepId: 'u', model: OPENED, sweep: sweep() });
    expect(of('error')[0].message).toMatch(/read it again for this model/);
  });
});
