// Checkpoints as the page keeps them: the engine's checkpoint bytes (SweepEngine.checkpoint) with what
// the page needs to resume them added to the safetensors metadata: the model, and which dataset.
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import type { SweepConfig } from './config';
import type { SweepResults } from './results';
import type { BuiltinModel } from './messages';
import { BUILTIN_MODELS } from './messages';

const PAGE_KEY = 'lora-lab.page';
const ENGINE_KEY = 'lora-lab.checkpoint';

export interface CheckpointInfo {
  model: BuiltinModel;
  /** The dataset the sweep trains on: resuming on another one would silently change its batches. */
  dataset: { name: string; tokens: number };
  /** The sweep's wall-clock seconds and results at the checkpoint, so a resumed sweep's go on from them. */
  seconds?: number;
  results?: SweepResults;
}

export function labelCheckpoint(bytes: Uint8Array, info: CheckpointInfo): Uint8Array {
  const { tensors, metadata } = readSafetensors(bytes);
  return writeSafetensors(tensors, { ...metadata, [PAGE_KEY]: JSON.stringify(info) });
}

/** The page's label and the sweep's config of checkpoint bytes; throws a readable error for other bytes. */
export function readCheckpoint(bytes: Uint8Array): CheckpointInfo & { config: SweepConfig; step: number } {
  let metadata: Record<string, string>;
  try {
    metadata = readSafetensors(bytes).metadata;
  } catch (e) {
    throw new Error(`not a LoRA Lab checkpoint (${(e as Error).message})`);
  }
  const page = metadata[PAGE_KEY];
  const engine = metadata[ENGINE_KEY];
  if (!page || !engine) throw new Error('not a LoRA Lab checkpoint of the page (metadata missing)');
  const info = JSON.parse(page) as CheckpointInfo;
  const meta = JSON.parse(engine) as { step: number; config: SweepConfig };
  if (!BUILTIN_MODELS.includes(info.model)) throw new Error(`checkpoint of an unknown model '${info.model}'`);
  return { ...info, config: meta.config, step: meta.step };
}
