// A trained adapter leaving the engine: as a PEFT zip, merged into the base ONNX, or as generated text.
import { zipSync, strToU8 } from 'fflate';
import { generate, createSession } from '../io/generate';
import { gpt2Safetensors, mergedModelWeights, mergedWeights } from '../io/merge';
import { replaceOnnxWeights } from '../io/onnx';
import { writeGpt2Onnx } from '../io/onnx-graph';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, exportAdapter } from '../io/peft';
import { adapterReadme, countNonFinite, labelAdapter, type AdapterCard } from '../io/adapter-card';
import { loraLayout } from '../model/lora-layout';
import type { LoadedModel } from './page-assets';
import type { AdapterData } from './messages';

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

/**
 * The base model's ONNX graph: the shipped file of a built-in model; for a model opened from its files, a
 * graph written from its weights (src/io/onnx-graph.ts; over 2 GiB it says so: export safetensors instead).
 */
function baseOnnx(model: LoadedModel): Uint8Array {
  return model.onnx ?? writeGpt2Onnx(model.cfg, model.weights);
}

/** The base ONNX with W0 + s·(BA)ᵀ written into the adapted weights (a fresh copy; the base is kept). */
export function mergedOnnx(r: ResolvedAdapter): Uint8Array {
  if (!r.adapter) return r.model.onnx ? r.model.onnx.slice() : baseOnnx(r.model);
  const layout = loraLayout(r.model.cfg, r.adapter.lora);
  if (!r.model.onnx)
    return writeGpt2Onnx(r.model.cfg, mergedModelWeights(r.model.weights, layout, r.adapter.A, r.adapter.B));
  return replaceOnnxWeights(r.model.onnx, mergedWeights(r.model.weights, layout, r.adapter.A, r.adapter.B));
}

/**
 * The merged model as a Hugging Face checkpoint folder, zipped: model.safetensors (float32, HF names, tied
 * head left out, as save_pretrained writes it) and, for an opened model, its config.json and tokenizer files;
 * for a built-in model a config.json written from its config (its tokenizer is bytes: no tokenizer file).
 */
export function mergedSafetensorsZip(r: ResolvedAdapter): { fileName: string; bytes: Uint8Array } {
  const weights = r.adapter
    ? mergedModelWeights(r.model.weights, loraLayout(r.model.cfg, r.adapter.lora), r.adapter.A, r.adapter.B)
    : r.model.weights;
  const files: Record<string, Uint8Array> = { 'model.safetensors': gpt2Safetensors(r.model.cfg, weights) };
  if (r.model.companions?.length) {
    for (const f of r.model.companions) files[f.name] = f.bytes;
  } else {
    const { cfg } = r.model;
    const config = {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      ...cfg,
      activation_function: 'gelu_new',
      tie_word_embeddings: true,
    };
    files['config.json'] = strToU8(JSON.stringify(config, null, 2) + '\n');
  }
  const stem = safeFileName(r.adapter?.runId ?? r.model.name);
  return { fileName: `${stem}-merged-safetensors.zip`, bytes: zipSync(files) };
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

/**
 * Where a sample ends: byte models run to maxTokens (as before); a tokenizer.json model stops after a line
 * break (the end of a dataset example) or its end-of-text token, as `lora-lab generate` does by default.
 */
function sampleStops(model: LoadedModel): number[][] {
  if (model.tokenizer.kind === 'bytes') return [];
  return [model.tokenizer.separator, ...(model.tokenizer.eos === undefined ? [] : [[model.tokenizer.eos]])];
}

/**
 * onnxruntime-web sessions: the base model's are cached; a merged model's lives for one request.
 * Requests run one at a time, in the order they came: two runs at once race inside onnxruntime-web (one
 * wasm instance, sessions created and released under each other). A failed request does not hold up the next.
 */
export class Generator {
  private baseSessions = new Map<string, Promise<Session>>();
  /** The request running now and those queued behind it; settles (never rejects) when the last is done. */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Queue a sample of the adapter `resolve` finds (resolved when the request's turn comes, so a failure
   * to find it is that request's alone). `seconds` counts from its turn, not the wait before it.
   */
  sample(
    resolve: () => Promise<ResolvedAdapter>,
    o: SampleOptions,
  ): Promise<{ text: string; seconds: number }> {
    const turn = this.queue.then(async () => {
      const t0 = performance.now();
      const text = await this.sampleNow(await resolve(), o);
      return { text, seconds: (performance.now() - t0) / 1000 };
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async sampleNow(r: ResolvedAdapter, o: SampleOptions): Promise<string> {
    if (!Number.isInteger(o.maxTokens) || o.maxTokens < 0 || o.maxTokens > MAX_GENERATE_TOKENS)
      throw new Error(`maxTokens must be an integer from 0 to ${MAX_GENERATE_TOKENS} (got ${o.maxTokens})`);
    const options = {
      maxTokens: o.maxTokens,
      temperature: o.temperature,
      topK: o.topK,
      seed: o.seed,
      contextLength: r.model.cfg.n_positions,
      tokenizer: r.model.tokenizer,
      stopSequences: sampleStops(r.model),
    };
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
      base = createSession(baseOnnx(r.model));
      base.catch(() => this.baseSessions.delete(r.model.id));
      this.baseSessions.set(r.model.id, base);
    }
    return generate(await base, o.prompt, options);
  }
}
