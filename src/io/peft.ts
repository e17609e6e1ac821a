// PEFT LoRA adapter export/import for a GPT2LMHeadModel (DESIGN.md §5).
//
// Files: adapter_model.safetensors with `base_model.model.{module}.lora_A.weight` [r, in] and
// `...lora_B.weight` [out, r] (float32), and adapter_config.json written as PEFT's save_pretrained
// does (sorted keys, 2-space indent). GPT-2's Conv1D stores W as [in, out], hence fan_in_fan_out: true;
// the LoRA factors keep nn.Linear's layout either way, which is also ours.
//
// target_modules: PEFT matches a list entry against a module name exactly or as a dotted suffix
// (`name.endsWith("." + entry)`). A bare "c_proj" would select the attention AND the MLP projection, so
// we write "c_attn" and "c_fc" (unambiguous) and "attn.c_proj" / "mlp.c_proj" (each selects only its
// own kind). A short list that works for every layer, unlike one full module name per layer.
import type { LabGptConfig } from '../model/config';
import {
  LORA_TARGETS,
  loraLayout,
  modulePath,
  targetDims,
  type LoraLayout,
  type LoraTarget,
} from '../model/lora-layout';
import { readSafetensors, writeSafetensors, type Tensor } from './safetensors';

export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';

const PREFIX = 'base_model.model.';

const TARGET_MODULE_NAME: Record<LoraTarget, string> = {
  c_attn: 'c_attn',
  'attn.c_proj': 'attn.c_proj',
  'mlp.c_fc': 'c_fc',
  'mlp.c_proj': 'mlp.c_proj',
};

/** An adapter that cannot be used with this model: wrong names, shapes, ranks, or a config it contradicts. */
export class AdapterError extends Error {
  constructor(reason: string) {
    super(`adapter: ${reason}`);
    this.name = 'AdapterError';
  }
}

/** What the caller knows when the adapter's files do not say (the CLI's --alpha and --rank). */
export interface AdapterFallback {
  /** lora_alpha when neither adapter_config.json nor the safetensors metadata gives it. */
  alpha?: number;
  /** The rank the caller expects; the tensors decide it, and must agree when this is given. */
  r?: number;
}

export interface ImportedAdapter {
  layout: LoraLayout;
  /** One run's loraA slice [SA]. */
  A: Float32Array;
  /** One run's loraB slice [SB]. */
  B: Float32Array;
  /** base_model_name_or_path from adapter_config.json, when given. */
  baseModelName?: string;
  /** Where lora_alpha came from. */
  alphaSource: 'adapter_config.json' | 'safetensors metadata' | 'fallback';
}

/** Tensor name of a factor, e.g. base_model.model.transformer.h.0.attn.c_attn.lora_A.weight. */
export function peftTensorName(module: string, factor: 'A' | 'B'): string {
  return `${PREFIX}${module}.lora_${factor}.weight`;
}

/** target_modules for a set of targets (see the file comment), in LORA_TARGETS order. */
export function peftTargetModules(targets: readonly LoraTarget[]): string[] {
  return LORA_TARGETS.filter((t) => targets.includes(t)).map((t) => TARGET_MODULE_NAME[t]);
}

/** The adapter of one run as PEFT files: the safetensors bytes and the adapter_config.json text. */
export function exportAdapter(
  layout: LoraLayout,
  A: Float32Array,
  B: Float32Array,
  baseModelName: string,
): { safetensors: Uint8Array; config: string } {
  if (A.length !== layout.SA)
    throw new Error(`export: A has ${A.length} values, the layout needs ${layout.SA}`);
  if (B.length !== layout.SB)
    throw new Error(`export: B has ${B.length} values, the layout needs ${layout.SB}`);
  const r = layout.r;
  const tensors = new Map<string, Tensor>();
  for (const ad of layout.adapters) {
    tensors.set(peftTensorName(ad.module, 'A'), {
      shape: [r, ad.inDim],
      data: A.subarray(ad.offA, ad.offA + r * ad.inDim),
    });
    tensors.set(peftTensorName(ad.module, 'B'), {
      shape: [ad.outDim, r],
      data: B.subarray(ad.offB, ad.offB + ad.outDim * r),
    });
  }
  // PEFT itself writes {"format": "pt"}; r and lora_alpha let an adapter be re-imported without its config.
  const safetensors = writeSafetensors(tensors, {
    format: 'pt',
    r: String(r),
    lora_alpha: String(layout.alpha),
  });
  const config: Record<string, unknown> = {
    alpha_pattern: {},
    base_model_name_or_path: baseModelName,
    bias: 'none',
    fan_in_fan_out: true,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: layout.alpha,
    lora_dropout: 0,
    modules_to_save: null,
    peft_type: 'LORA',
    r,
    rank_pattern: {},
    revision: null,
    target_modules: peftTargetModules(layout.targets),
    task_type: 'CAUSAL_LM',
    use_rslora: false,
  };
  return { safetensors, config: JSON.stringify(config, null, 2) };
}

const TENSOR_NAME =
  /^(?:base_model\.model\.)?transformer\.h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.lora_([AB])\.weight$/;

/**
 * Read a PEFT LoRA adapter for a model of config `cfg`. The tensors decide which modules are adapted (every
 * layer must have the same targets, as this tool trains them) and the rank; adapter_config.json, when
 * given, must agree. lora_alpha comes from adapter_config.json, else from the safetensors metadata written
 * by exportAdapter, else from `fallback.alpha`; none of them is an error naming all three.
 * Bad files throw AdapterError (or SafetensorsError from the reader); nothing is half-loaded.
 */
export function importAdapter(
  safetensorsBytes: Uint8Array,
  configJson: string | undefined,
  cfg: LabGptConfig,
  fallback: AdapterFallback = {},
): ImportedAdapter {
  const { tensors, metadata } = readSafetensors(safetensorsBytes);
  const found = new Map<
    string,
    { layer: number; target: LoraTarget; A?: Tensor; B?: Tensor; names: string[] }
  >();
  for (const [name, t] of tensors) {
    const m = TENSOR_NAME.exec(name);
    if (!m) {
      throw new AdapterError(
        `unexpected tensor "${name}" (only lora_A/lora_B weights of attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj are supported)`,
      );
    }
    const layer = Number(m[1]);
    if (layer >= cfg.n_layer)
      throw new AdapterError(`tensor "${name}" is for layer ${layer}, the model has ${cfg.n_layer}`);
    const target = (m[2] === 'attn.c_attn' ? 'c_attn' : m[2]) as LoraTarget;
    const key = `${layer}/${target}`;
    const entry = found.get(key) ?? { layer, target, names: [] };
    const f = m[3] as 'A' | 'B';
    // With and without the "base_model.model." prefix, two names can mean one factor: never pick silently.
    const twin = entry.names.find((n) => n.endsWith(`.lora_${f}.weight`));
    if (twin) throw new AdapterError(`tensors "${twin}" and "${name}" are the same factor; keep one`);
    entry[f] = t;
    entry.names.push(name);
    found.set(key, entry);
  }
  if (found.size === 0) throw new AdapterError('the safetensors file holds no LoRA tensors');

  const targets = LORA_TARGETS.filter((t) => [...found.values()].some((e) => e.target === t));
  let r = -1;
  let rankFrom = '';
  for (let layer = 0; layer < cfg.n_layer; layer++) {
    for (const target of targets) {
      const e = found.get(`${layer}/${target}`);
      const module = modulePath(layer, target);
      for (const f of ['A', 'B'] as const) {
        const t = e?.[f];
        const name = peftTensorName(module, f);
        if (!t) throw new AdapterError(`missing tensor "${name}" (every layer needs the same LoRA targets)`);
        const { inDim, outDim } = targetDims(cfg, target);
        if (t.shape.length !== 2)
          throw new AdapterError(`"${name}" has shape [${t.shape.join(', ')}], expected 2-D`);
        const rank = f === 'A' ? t.shape[0] : t.shape[1];
        if (r < 0) [r, rankFrom] = [rank, name];
        else if (rank !== r) {
          throw new AdapterError(`rank mismatch: "${name}" has rank ${rank} but "${rankFrom}" has rank ${r}`);
        }
        if (r === 0) throw new AdapterError(`"${name}" has rank 0`);
        const want = f === 'A' ? [r, inDim] : [outDim, r];
        if (t.shape[0] !== want[0] || t.shape[1] !== want[1]) {
          throw new AdapterError(
            `"${name}" has shape [${t.shape.join(', ')}] but this model (n_embd ${cfg.n_embd}) needs [${want.join(', ')}]`,
          );
        }
      }
    }
  }
  if (fallback.r !== undefined && fallback.r !== r) {
    throw new AdapterError(`the tensors have rank ${r}, but rank ${fallback.r} was asked for`);
  }

  let alpha: number | undefined;
  let alphaSource: ImportedAdapter['alphaSource'] = 'adapter_config.json';
  let baseModelName: string | undefined;
  if (configJson !== undefined) {
    const c = parseAdapterConfig(configJson);
    if (c.r !== undefined && c.r !== r) {
      throw new AdapterError(
        `rank mismatch: adapter_config.json says r = ${c.r} but the tensors have rank ${r}`,
      );
    }
    checkTargetModules(c.targetModules, cfg, found);
    // rsLoRA scales by alpha/√r; the same ΔW in our alpha/r convention needs alpha·√r.
    alpha = c.alpha === undefined ? undefined : c.useRslora ? c.alpha * Math.sqrt(r) : c.alpha;
    baseModelName = c.baseModelName;
  }
  if (alpha === undefined && metadata.lora_alpha !== undefined) {
    alpha = Number(metadata.lora_alpha);
    alphaSource = 'safetensors metadata';
    if (metadata.lora_alpha.trim() === '' || !Number.isFinite(alpha) || alpha <= 0) {
      throw new AdapterError(
        `the safetensors metadata "lora_alpha" is ${JSON.stringify(metadata.lora_alpha)}, not a positive number`,
      );
    }
  }
  if (alpha === undefined && fallback.alpha !== undefined) {
    alpha = fallback.alpha;
    alphaSource = 'fallback';
  }
  if (alpha === undefined) {
    throw new AdapterError(
      `lora_alpha is unknown: ${configJson === undefined ? 'no adapter_config.json' : 'adapter_config.json has none'}, ` +
        "the safetensors metadata has none, and no alpha was given (the CLI's --alpha)",
    );
  }
  if (!Number.isFinite(alpha) || alpha <= 0) {
    throw new AdapterError(`lora_alpha ${alpha} (from ${alphaSource}) is not a positive number`);
  }

  const layout = loraLayout(cfg, { r, alpha, targets });
  const A = new Float32Array(layout.SA);
  const B = new Float32Array(layout.SB);
  for (const ad of layout.adapters) {
    const e = found.get(`${ad.layer}/${ad.target}`)!;
    A.set(e.A!.data, ad.offA);
    B.set(e.B!.data, ad.offB);
  }
  return { layout, A, B, baseModelName, alphaSource };
}

interface AdapterConfig {
  r?: number;
  alpha?: number;
  useRslora: boolean;
  targetModules?: string[] | string;
  baseModelName?: string;
}

function parseAdapterConfig(text: string): AdapterConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AdapterError('adapter_config.json: not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new AdapterError('adapter_config.json: expected an object');
  }
  const o = json as Record<string, unknown>;
  if (o.peft_type !== undefined && o.peft_type !== 'LORA') {
    throw new AdapterError(
      `adapter_config.json: peft_type is ${JSON.stringify(o.peft_type)}; only "LORA" is supported`,
    );
  }
  if (o.use_dora === true)
    throw new AdapterError('adapter_config.json: DoRA adapters (use_dora) are not supported');
  for (const k of ['rank_pattern', 'alpha_pattern']) {
    const v = o[k];
    if (v && typeof v === 'object' && Object.keys(v).length > 0) {
      throw new AdapterError(
        `adapter_config.json: per-module ${k} is not supported (one r and lora_alpha for all modules)`,
      );
    }
  }
  const num = (k: string): number | undefined => {
    if (o[k] === undefined || o[k] === null) return undefined;
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k]))
      throw new AdapterError(`adapter_config.json: ${k} must be a number`);
    return o[k] as number;
  };
  const tm = o.target_modules;
  const targetModules =
    typeof tm === 'string' || (Array.isArray(tm) && tm.every((s) => typeof s === 'string'))
      ? (tm as string[] | string)
      : undefined;
  return {
    r: num('r'),
    alpha: num('lora_alpha'),
    useRslora: o.use_rslora === true,
    targetModules,
    baseModelName: typeof o.base_model_name_or_path === 'string' ? o.base_model_name_or_path : undefined,
  };
}

/** The config's target_modules, matched as PEFT does, must select exactly the modules that have tensors. */
function checkTargetModules(
  targetModules: string[] | string | undefined,
  cfg: LabGptConfig,
  found: Map<string, { layer: number; target: LoraTarget }>,
): void {
  if (targetModules === undefined) return;
  let matches: (module: string) => boolean;
  if (typeof targetModules === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${targetModules})$`);
    } catch {
      return; // a Python-only regex: the tensors alone decide
    }
    matches = (m) => re.test(m);
  } else {
    matches = (m) => targetModules.some((t) => m === t || m.endsWith(`.${t}`));
  }
  for (let layer = 0; layer < cfg.n_layer; layer++) {
    for (const target of LORA_TARGETS) {
      const module = modulePath(layer, target);
      const selected = matches(module);
      const has = found.has(`${layer}/${target}`);
      if (selected && !has) {
        throw new AdapterError(
          `adapter_config.json targets ${module} but the safetensors has no tensor for it`,
        );
      }
      if (!selected && has) {
        throw new AdapterError(
          `the safetensors adapts ${module} but adapter_config.json's target_modules do not`,
        );
      }
    }
  }
}
