// A trained adapter leaving the engine: as a PEFT zip, merged into the base ONNX, or as generated text.
import { zipSync, strToU8 } from 'fflate';
import { generate, createSession } from '../io/generate';
import { mergedWeights } from '../io/merge';
import { replaceOnnxWeights } from '../io/onnx';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, exportAdapter } from '../io/peft';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
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
  const status = adapterStatus(adapter);
  const { tensors, metadata } = readSafetensors(peft.safetensors);
  const runMeta: Record<string, string> = {
    'lora-lab.run': adapter.runId,
    'lora-lab.status': status,
    'lora-lab.base_model': model.name,
  };
  if (adapter.spec) {
    runMeta['lora-lab.optimizer'] = adapter.spec.optimizer;
    runMeta['lora-lab.lr'] = String(adapter.spec.lr);
  }
  const safetensors = writeSafetensors(tensors, { ...metadata, ...runMeta });
  const readme = adapterReadme(model, adapter, status);
  const bytes = zipSync({
    [ADAPTER_WEIGHTS_FILE]: safetensors,
    [ADAPTER_CONFIG_FILE]: strToU8(peft.config),
    'README.md': strToU8(readme),
  });
  return { fileName: `${safeFileName(adapter.runId)}-adapter.zip`, bytes };
}

function adapterReadme(model: LoadedModel, adapter: AdapterData, status: string): string {
  const spec = adapter.spec ? ` (${adapter.spec.optimizer}, learning rate ${adapter.spec.lr})` : '';
  const partial =
    status === 'done'
      ? ''
      : '\nThe run did not finish its schedule; the weights are those it had when it ended.\n';
  return `# LoRA adapter: ${adapter.runId}

Trained in LoRA Lab on the base model \`${model.name}\`${spec}.

Status: **${status}**
${partial}
- LoRA rank r = ${adapter.lora.r}, alpha = ${adapter.lora.alpha}, targets: ${adapter.lora.targets.join(', ')}
- Base model: GPT-2 architecture, byte-level vocabulary (256), ${model.cfg.n_layer} layer(s), n_embd ${model.cfg.n_embd}

Load it with PEFT on a \`GPT2LMHeadModel\` of the same config:

\`\`\`python
from peft import PeftModel
model = PeftModel.from_pretrained(base_model, "path/to/this/folder")
\`\`\`
`;
}

/** The base ONNX with W0 + s·(BA)ᵀ written into the adapted weights (a fresh copy; the base is kept). */
export function mergedOnnx(r: ResolvedAdapter): Uint8Array {
  if (!r.adapter) return r.model.onnx.slice();
  const layout = loraLayout(r.model.cfg, r.adapter.lora);
  return replaceOnnxWeights(r.model.onnx, mergedWeights(r.model.weights, layout, r.adapter.A, r.adapter.B));
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
    if (r.adapter) {
      const session = await createSession(mergedOnnx(r));
      try {
        return await generate(session, o.prompt, options);
      } finally {
        await session.release();
      }
    }
    let base = this.baseSessions.get(r.model.name);
    if (!base) {
      base = createSession(r.model.onnx);
      base.catch(() => this.baseSessions.delete(r.model.name));
      this.baseSessions.set(r.model.name, base);
    }
    return generate(await base, o.prompt, options);
  }
}
