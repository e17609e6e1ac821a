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

// Beyond these a config is absurd for a page or a small GPU, and building its parameter list alone would hang.
const LIMITS = { n_layer: 256, n_head: 1024, n_embd: 65_536, n_positions: 1_048_576, vocab_size: 1_048_576 };
// Activations that are GPT-2's tanh-approximated GELU under another name.
const GELU_TANH = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'];

/**
 * Parse and validate a GPT-2 config.json (only the keys lab-gpt uses; others are ignored). Anything that
 * would make the model compute something other than the checkpoint's GPT2LMHeadModel is an error: another
 * architecture, another activation or MLP width, an untied LM head.
 */
export function parseConfig(json: unknown): LabGptConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error('config.json: expected a JSON object');
  const o = json as Record<string, unknown>;
  const modelType = o.model_type;
  const archs = Array.isArray(o.architectures) ? o.architectures.filter((a) => typeof a === 'string') : [];
  if ((modelType !== undefined && modelType !== 'gpt2') || archs.some((a) => !a.startsWith('GPT2'))) {
    const what =
      modelType !== undefined
        ? `model_type ${JSON.stringify(modelType)}`
        : `architectures ${JSON.stringify(archs)}`;
    throw new Error(
      `config.json: ${what} is not GPT-2; only GPT-2-family checkpoints (GPT2LMHeadModel) can be used`,
    );
  }
  const int = (key: keyof typeof LIMITS, fallback?: number): number => {
    const v = o[key] ?? fallback;
    if (v === undefined)
      throw new Error(`config.json: ${key} is missing (a GPT-2 config.json has n_layer, n_head, n_embd)`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw new Error(`config.json: ${key} must be a positive integer (got ${JSON.stringify(v)})`);
    if (v > LIMITS[key])
      throw new Error(`config.json: ${key} ${v} is larger than this tool handles (${LIMITS[key]})`);
    return v;
  };
  const eps = o.layer_norm_epsilon ?? LAYER_NORM_EPS;
  if (typeof eps !== 'number' || !(eps > 0 && eps < 1))
    throw new Error(
      `config.json: layer_norm_epsilon must be a small positive number (got ${JSON.stringify(eps)})`,
    );
  const cfg: LabGptConfig = {
    n_layer: int('n_layer'),
    n_head: int('n_head'),
    n_embd: int('n_embd'),
    n_positions: int('n_positions', 1024),
    vocab_size: int('vocab_size', 256),
    layer_norm_epsilon: eps,
  };
  if (cfg.n_embd % cfg.n_head !== 0)
    throw new Error(`config.json: n_embd ${cfg.n_embd} is not a multiple of n_head ${cfg.n_head}`);
  const act = o.activation_function;
  if (act !== undefined && !(typeof act === 'string' && GELU_TANH.includes(act)))
    throw new Error(
      `config.json: activation_function ${JSON.stringify(act)} is not supported (GPT-2's is "gelu_new")`,
    );
  if (o.n_inner !== undefined && o.n_inner !== null && o.n_inner !== 4 * cfg.n_embd)
    throw new Error(
      `config.json: n_inner ${JSON.stringify(o.n_inner)} is not supported (the MLP width must be 4·n_embd)`,
    );
  if (o.tie_word_embeddings === false)
    throw new Error(
      'config.json: tie_word_embeddings is false; only a LM head tied to the token embedding is supported',
    );
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
