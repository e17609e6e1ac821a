// The models the page's engine trains: the built-in ones (fetched from our origin, cached) and the one the
// user opened from its files in this tab (kept here only; opening another replaces it). Also the plan a
// model card shows: the GPU memory a sweep of the current settings takes, from the engine's own planning.
import type { Gpu } from '../gpu/context';
import { loadModelFiles } from '../io/model-files';
import { modelFingerprint } from '../model/fingerprint';
import type { SweepConfig } from './config';
import { validateSweep } from './config';
import { planSweep } from './memory';
import {
  isBuiltinModel,
  isOpenedModel,
  modelName,
  OPENED_PREFIX,
  type ModelFileData,
  type ModelId,
  type SweepPlanSummary,
} from './messages';
import { BYTES, ModelCache, type FetchAsset, type LoadedModel, type TokenizerOf } from './page-assets';

/** The small files of a checkpoint folder that a merged export copies beside its weights. */
const COMPANIONS = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

export class PageModels {
  private readonly builtin: ModelCache;
  private opened: LoadedModel | undefined;

  constructor(fetchAsset: FetchAsset) {
    this.builtin = new ModelCache(fetchAsset);
  }

  /**
   * Load a checkpoint from its files; it becomes the opened model. Throws ModelFilesError (in words for
   * the user) for files that cannot be used; the model opened before stays then.
   */
  open(files: ModelFileData[], folder?: string): LoadedModel {
    const given = files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) }));
    const m = loadModelFiles(given, folder);
    const base = (name: string) => name.split(/[\\/]/).pop()?.toLowerCase() ?? name;
    const companions = given
      .filter((f) => COMPANIONS.includes(base(f.name)))
      .map((f) => ({ name: base(f.name), bytes: f.bytes.slice() }));
    const model: LoadedModel = {
      ...m,
      id: `${OPENED_PREFIX}${m.name}`,
      source: m.nameSource,
      parameters: m.parameters,
      dtype: m.dtype,
      fingerprint: modelFingerprint(m.cfg, m.weights),
      companions,
    };
    this.opened = model;
    return model;
  }

  get(id: ModelId): Promise<LoadedModel> {
    if (isBuiltinModel(id)) return this.builtin.get(id);
    if (this.opened && this.opened.id === id) return Promise.resolve(this.opened);
    return Promise.reject(new Error(notOpen(id)));
  }

  /** The tokenizer a dataset for `id` is parsed with; the built-ins' (bytes) without loading them. */
  tokenizerOf(id: ModelId | undefined): TokenizerOf {
    if (id === undefined || isBuiltinModel(id)) return BYTES;
    if (this.opened && this.opened.id === id)
      return { model: this.opened.name, tokenizer: this.opened.tokenizer };
    throw new Error(notOpen(id));
  }
}

const notOpen = (id: string): string =>
  isOpenedModel(id)
    ? `the model '${modelName(id)}' is not open in this tab (files are not stored): open the model files again`
    : `unknown model '${id}'`;

/** How the page names the settings a sweep that does not fit should lower. */
const ADVICE = 'lower the batch size or the sequence length, or sweep fewer runs';

/**
 * The GPU memory a sweep of `config` on `model` takes on this device, and the device limits it would
 * exceed. Throws (in words) for settings the engine refuses before planning (e.g. seq over n_positions).
 */
export function planForPage(gpu: Gpu, model: LoadedModel, config: SweepConfig): SweepPlanSummary {
  validateSweep(config, model.cfg.n_positions, model.cfg);
  const plan = planSweep(gpu, model.cfg, model.weights, config);
  const { maxBufferSize, maxStorageBufferBindingSize } = gpu.device.limits;
  return {
    runs: plan.runs,
    bytes: plan.bytes,
    ...(plan.largest ? { largest: { label: plan.largest.label, bytes: plan.largest.bytes } } : {}),
    problems: plan.problems,
    ...(plan.problems.length > 0 ? { advice: ADVICE } : {}),
    maxBufferBytes: Math.min(maxBufferSize, maxStorageBufferBindingSize),
  };
}
