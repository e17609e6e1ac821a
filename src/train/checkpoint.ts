// A sweep's whole state as bytes, and back: safetensors with the adapters, Adam moments and per-run state
// as tensors, and the config, step, batch position and runs in its metadata.
import type { Gpu } from '../gpu/context';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import type { LabGptConfig, Weights } from '../model/config';
import type { BatchSource } from './batch';
import type { SweepConfig } from './config';
import type { HostRun, Snapshot } from './engine-types';
import { SweepEngine } from './sweep';

const META_KEY = 'lora-lab.checkpoint';

interface CheckpointMeta {
  step: number;
  batchIndex: number;
  config: SweepConfig;
  runs: HostRun[];
}

/** Call between steps, after the pending losses were read (the loss history is not saved). */
export async function checkpointSweep(engine: SweepEngine): Promise<Uint8Array> {
  const snap = await engine.snapshot();
  const all: Record<string, Float32Array | undefined> = {
    ...snap,
    initA: engine.initial.A,
    initB: engine.initial.B,
  };
  const tensors = new Map(
    Object.entries(all)
      .filter((e): e is [string, Float32Array] => e[1] !== undefined)
      .map(([k, v]) => [k, { shape: [v.length], data: v }]),
  );
  const meta: CheckpointMeta = {
    step: engine.step,
    batchIndex: engine.batchIndex,
    config: engine.config,
    runs: [...engine.hostRuns()],
  };
  return writeSafetensors(tensors, { [META_KEY]: JSON.stringify(meta) });
}

/** The sweep of a checkpoint, on the same base model and data, built once with its saved state. */
export function restoreSweep(
  gpu: Gpu,
  cfg: LabGptConfig,
  weights: Weights,
  bytes: Uint8Array,
  data: BatchSource,
): SweepEngine {
  const { tensors, metadata } = readSafetensors(bytes);
  const metaText = metadata[META_KEY];
  if (!metaText) throw new Error(`not a lora-lab checkpoint (no ${META_KEY} metadata)`);
  const meta = JSON.parse(metaText) as CheckpointMeta;
  const get = (k: string): Float32Array => {
    const t = tensors.get(k);
    if (!t) throw new Error(`checkpoint: missing ${k}`);
    return t.data;
  };
  const snapshot: Snapshot = {
    A: get('A'),
    B: get('B'),
    mA: get('mA'),
    vA: get('vA'),
    mB: get('mB'),
    vB: get('vB'),
    state: get('state'),
    // Older checkpoints have no last good weights: the engine starts them as copies of A / B.
    lastA: tensors.get('lastA')?.data,
    lastB: tensors.get('lastB')?.data,
  };
  const config = { ...meta.config, runs: meta.runs.map((r) => r.spec) };
  const init = { A: get('initA'), B: get('initB') };
  return new SweepEngine(gpu, cfg, weights, config, data, init, {
    resume: { runs: meta.runs, snapshot, step: meta.step, batchIndex: meta.batchIndex },
  });
}
