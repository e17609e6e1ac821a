// Checkpoints as the page and the CLI keep them: the engine's checkpoint bytes (SweepEngine.checkpoint)
// with what is needed to resume them added to the safetensors metadata: the model, which dataset, and
// the results and clock up to the checkpoint.
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { describeModel } from '../model/fingerprint';
import type { SweepConfig } from './config';
import type { SweepResults } from './results';
import { isBuiltinModel, isOpenedModel, type ModelId } from './messages';

const PAGE_KEY = 'lora-lab.page';
const ENGINE_KEY = 'lora-lab.checkpoint';

/**
 * What a labelled checkpoint says about itself; `model` is a built-in's name or an opened model's id
 * (page), or a model's name (CLI).
 */
export interface CheckpointLabel<M extends string = string> {
  model: M;
  /**
   * The model's fingerprint (model/fingerprint.ts): two models may share a name ("model"). Checkpoints
   * written before fingerprints were kept have none, and are taken by the model's name alone.
   */
  fingerprint?: string;
  /** The dataset the sweep trains on: resuming on another one would silently change its batches. */
  dataset: { name: string; tokens: number };
  /** The sweep's wall-clock seconds and results at the checkpoint, so a resumed sweep's go on from them. */
  seconds?: number;
  results?: SweepResults;
}

export type CheckpointInfo = CheckpointLabel<ModelId>;

export function labelCheckpoint(bytes: Uint8Array, info: CheckpointLabel): Uint8Array {
  const { tensors, metadata } = readSafetensors(bytes);
  return writeSafetensors(tensors, { ...metadata, [PAGE_KEY]: JSON.stringify(info) });
}

/**
 * Why a checkpoint is not of the model `here`, in words, or undefined: another model's name, or the same
 * name with another fingerprint (other weights or config). A checkpoint without a fingerprint (older) is
 * accepted by its name, as before. `show` gives a model's name for the message (the page's ids → names).
 */
export function modelMismatch<M extends string>(
  checkpoint: { model: M; fingerprint?: string },
  here: { model: M; fingerprint: string },
  show: (model: M) => string = (m) => m,
): string | undefined {
  const mine = describeModel(show(checkpoint.model), checkpoint.fingerprint);
  const theirs = describeModel(show(here.model), here.fingerprint);
  if (checkpoint.model !== here.model) return `the checkpoint is of model ${mine}, not ${theirs}`;
  if (checkpoint.fingerprint !== undefined && checkpoint.fingerprint !== here.fingerprint)
    return `the checkpoint is of model ${mine}, not ${theirs}: the same name, but other weights or config`;
  return undefined;
}

/** The label and the sweep's config of labelled checkpoint bytes; throws a readable error for other bytes. */
export function readCheckpointLabel(
  bytes: Uint8Array,
): CheckpointLabel & { config: SweepConfig; step: number } {
  let metadata: Record<string, string>;
  try {
    metadata = readSafetensors(bytes).metadata;
  } catch (e) {
    throw new Error(`not a LoRA Lab checkpoint (${(e as Error).message})`);
  }
  const page = metadata[PAGE_KEY];
  const engine = metadata[ENGINE_KEY];
  if (!page || !engine) throw new Error('not a LoRA Lab checkpoint (metadata missing)');
  const info = JSON.parse(page) as CheckpointLabel;
  const meta = JSON.parse(engine) as { step: number; config: SweepConfig };
  return { ...info, config: meta.config, step: meta.step };
}

/** A checkpoint of the page: labelled, and of a built-in model or of a model opened from its files. */
export function readCheckpoint(bytes: Uint8Array): CheckpointInfo & { config: SweepConfig; step: number } {
  const info = readCheckpointLabel(bytes);
  const model = info.model;
  if (!isBuiltinModel(model) && !isOpenedModel(model))
    throw new Error(`checkpoint of an unknown model '${model}'`);
  return { ...info, model };
}
