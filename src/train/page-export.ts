// A trained adapter leaving the engine: as a PEFT zip, merged into the base ONNX, or as generated text.
import { zipSync, strToU8 } from 'fflate';
import { generate, createSession } from '../io/generate';
import { mergedWeights } from '../io/merge';
import { replaceOnnxWeights } from '../io/onnx';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, exportAdapter } from '../io/peft';
import { adapterReadme, countNonFinite, labelAdapter, type AdapterCard } from '../io/adapter-card';
import { loraLayout } from '../model/lora-layout';
import type { LoadedModel } from './page-assets';
import { NO_ONNX_SAMPLES, type AdapterData } from './messages';

/** An adapter to export or generate from, with the base model it belongs to. */
export interface ResolvedAdapter {
  model: LoadedModel;
  /** undefined: the base model alone. */
  adapter?: AdapterData;
}

/** A name safe on every file system: letters, digits and . _ - @ + kept, the rest "_". */
export function safeFileName(stem: string): string {
  const s = stem.replace(/[^A-Za-z0-9._@+-]+/g, '_').replace(/^[._]+/, '');
  return (s || 'adapter').slice(0, 120);
}

/** How the run ended, for people reading the export: "done", "stopped at step N", "diverged at step N". */
export function adapterStatus(adapter: AdapterData): string {
  return adapter.status ?? 'status not recorded';
}

/**
 * The PEFT zip: adapter_model.safetensors (the run and its status in the free-form metadata, which PEFT
 * ignores) + adapter_config.json exactly as exportAdapter writes it (PEFT rejects unknown keys there)
 * + README.md saying what the adapter is.
 */
export function adapterZip(
  model: LoadedModel,
  adapter: AdapterData,
): { fileName: string; bytes: Uint8Array } {
  const layout = loraLayout(model.cfg, adapter.lora);
  const peft = exportAdapter(layout, adapter.A, adapter.B, model.name);
  const card: AdapterCard = {
    runId: adapter.runId,
    status: adapterStatus(adapter),
    baseModel: model.name,
    optimizer: adapter.spec?.optimizer,
    lr: adapter.spec?.lr,
    lora: adapter.lora,
    model: model.cfg,
    nonFinite: countNonFinite(adapter.A, adapter.B),
  };
  const bytes = zipSync({
    [ADAPTER_WEIGHTS_FILE]: labelAdapter(peft.safetensors, card),
    [ADAPTER_CONFIG_FILE]: strToU8(peft.config),
    'README.md': strToU8(adapterReadme(card)),
  });
  return { fileName: `${safeFileName(adapter.runId)}-adapter.zip`, bytes };
}

/** An opened model has no ONNX graph: merged export and ORT samples are the built-in models' for now. */
export const NO_ONNX_MERGED =
  'a merged ONNX is made for the built-in models only: a model opened from its files has no ONNX graph (export the adapter, and merge it with PEFT)';

function onnxOf(model: LoadedModel, why: string): Uint8Array {
  if (!model.onnx) throw new Error(why);
  return model.onnx;
}

/** The base ONNX with W0 + s·(BA)ᵀ written into the adapted weights (a fresh copy; the base is kept). */
export function mergedOnnx(r: ResolvedAdapter): Uint8Array {
  const onnx = onnxOf(r.model, NO_ONNX_MERGED);
  if (!r.adapter) return onnx.slice();
  const layout = loraLayout(r.model.cfg, r.adapter.lora);
  return replaceOnnxWeights(onnx, mergedWeights(r.model.weights, layout, r.adapter.A, r.adapter.B));
}

export function mergedFileName(r: ResolvedAdapter): string {
  return `${safeFileName(r.adapter?.runId ?? r.model.name)}-merged.onnx`;
}

export interface SampleOptions {
  prompt: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  seed: number;
}

/** Most bytes one request may generate (each byte re-runs the graph over the whole window). */
export const MAX_GENERATE_TOKENS = 2048;

type Session = Awaited<ReturnType<typeof createSession>>;

/** onnxruntime-web sessions: the base model's are cached; a merged model's lives for one request. */
export class Generator {
  private baseSessions = new Map<string, Promise<Session>>();

  async sample(r: ResolvedAdapter, o: SampleOptions): Promise<string> {
    if (!Number.isInteger(o.maxTokens) || o.maxTokens < 0 || o.maxTokens > MAX_GENERATE_TOKENS)
      throw new Error(`maxTokens must be an integer from 0 to ${MAX_GENERATE_TOKENS} (got ${o.maxTokens})`);
    const options = {
      maxTokens: o.maxTokens,
      temperature: o.temperature,
      topK: o.topK,
      seed: o.seed,
      contextLength: r.model.cfg.n_positions,
    };
    // TODO(#15): sample an opened model with the engine's generation (src/io/generate.ts, generalised).
    const onnx = onnxOf(r.model, NO_ONNX_SAMPLES);
    if (r.adapter) {
      const session = await createSession(mergedOnnx(r));
      try {
        return await generate(session, o.prompt, options);
      } finally {
        await session.release();
      }
    }
    let base = this.baseSessions.get(r.model.id);
    if (!base) {
      base = createSession(onnx);
      base.catch(() => this.baseSessions.delete(r.model.id));
      this.baseSessions.set(r.model.id, base);
    }
    return generate(await base, o.prompt, options);
  }
}
