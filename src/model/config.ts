// lab-gpt configuration, in Hugging Face GPT-2's config.json keys.

export interface LabGptConfig {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  vocab_size: number;
  layer_norm_epsilon: number;
}

export const LAYER_NORM_EPS = 1e-5;

/** Parse and validate a GPT-2 config.json (only the keys lab-gpt uses; others are ignored). */
export function parseConfig(json: unknown): LabGptConfig {
  if (typeof json !== 'object' || json === null) throw new Error('config.json: expected an object');
  const o = json as Record<string, unknown>;
  const int = (key: string, fallback?: number): number => {
    const v = o[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw new Error(`config.json: ${key} must be a positive integer (got ${JSON.stringify(v)})`);
    return v;
  };
  const cfg: LabGptConfig = {
    n_layer: int('n_layer'),
    n_head: int('n_head'),
    n_embd: int('n_embd'),
    n_positions: int('n_positions', 1024),
    vocab_size: int('vocab_size', 256),
    layer_norm_epsilon: typeof o.layer_norm_epsilon === 'number' ? o.layer_norm_epsilon : LAYER_NORM_EPS,
  };
  if (cfg.n_embd % cfg.n_head !== 0)
    throw new Error(`config.json: n_embd ${cfg.n_embd} is not a multiple of n_head ${cfg.n_head}`);
  return cfg;
}

/** Names and shapes of the HF GPT2LMHeadModel state_dict (Conv1D weights are [in, out]). */
export function parameterShapes(cfg: LabGptConfig): Map<string, number[]> {
  const C = cfg.n_embd;
  const m = new Map<string, number[]>();
  m.set('transformer.wte.weight', [cfg.vocab_size, C]);
  m.set('transformer.wpe.weight', [cfg.n_positions, C]);
  for (let i = 0; i < cfg.n_layer; i++) {
    const p = `transformer.h.${i}`;
    m.set(`${p}.ln_1.weight`, [C]);
    m.set(`${p}.ln_1.bias`, [C]);
    m.set(`${p}.attn.c_attn.weight`, [C, 3 * C]);
    m.set(`${p}.attn.c_attn.bias`, [3 * C]);
    m.set(`${p}.attn.c_proj.weight`, [C, C]);
    m.set(`${p}.attn.c_proj.bias`, [C]);
    m.set(`${p}.ln_2.weight`, [C]);
    m.set(`${p}.ln_2.bias`, [C]);
    m.set(`${p}.mlp.c_fc.weight`, [C, 4 * C]);
    m.set(`${p}.mlp.c_fc.bias`, [4 * C]);
    m.set(`${p}.mlp.c_proj.weight`, [4 * C, C]);
    m.set(`${p}.mlp.c_proj.bias`, [C]);
  }
  m.set('transformer.ln_f.weight', [C]);
  m.set('transformer.ln_f.bias', [C]);
  return m;
}

/** Base weights by HF state_dict name (float32, row-major, shapes as parameterShapes). */
export type Weights = Map<string, Float32Array>;
