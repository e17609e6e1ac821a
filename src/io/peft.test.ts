import { describe, expect, it } from 'vitest';
import type { LabGptConfig } from '../model/config';
import { parameterShapes } from '../model/config';
import { loraLayout, type LoraTarget } from '../model/lora-layout';
import { randn } from '../util/random';
import { AdapterError, exportAdapter, importAdapter, peftTargetModules, peftTensorName } from './peft';
import { readSafetensors, SafetensorsError, writeSafetensors, type Tensor } from './safetensors';

const cfg: LabGptConfig = {
  n_layer: 2,
  n_head: 2,
  n_embd: 8,
  n_positions: 16,
  vocab_size: 256,
  layer_norm_epsilon: 1e-5,
};

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function adapter(targets: LoraTarget[], r: number, alpha: number, seed = 1) {
  const layout = loraLayout(cfg, { r, alpha, targets });
  const A = randn(layout.SA, seed);
  const B = randn(layout.SB, seed + 1);
  // Bit patterns that a float conversion would disturb.
  new Uint32Array(A.buffer)[0] = 0x7fc00123;
  B[B.length - 1] = -0;
  return { layout, A, B };
}

/** Module names of a GPT2LMHeadModel (model.named_modules()) that PEFT's matching runs over. */
function gpt2ModuleNames(c: LabGptConfig): string[] {
  const mods = new Set<string>(['transformer', 'transformer.h', 'lm_head']);
  for (const name of parameterShapes(c).keys()) {
    const parts = name.split('.').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) mods.add(parts.slice(0, i).join('.'));
  }
  for (let i = 0; i < c.n_layer; i++) {
    for (const s of ['attn', 'mlp', 'attn.attn_dropout', 'attn.resid_dropout', 'mlp.act', 'mlp.dropout'])
      mods.add(`transformer.h.${i}.${s}`);
  }
  return [...mods];
}

/** PEFT's check_target_module_exists for a list of target_modules. */
const peftSelects = (targetModules: string[], key: string) =>
  targetModules.includes(key) || targetModules.some((t) => key.endsWith(`.${t}`));

describe('PEFT export', () => {
  it('writes PEFT tensor names, shapes and adapter_config.json', () => {
    const { layout, A, B } = adapter(['c_attn', 'mlp.c_proj'], 3, 6);
    const out = exportAdapter(layout, A, B, 'lab-gpt');
    const { tensors, metadata } = readSafetensors(out.safetensors);
    expect(metadata.format).toBe('pt');
    expect(tensors.size).toBe(8);
    expect(tensors.get('base_model.model.transformer.h.1.attn.c_attn.lora_A.weight')!.shape).toEqual([3, 8]);
    expect(tensors.get('base_model.model.transformer.h.1.attn.c_attn.lora_B.weight')!.shape).toEqual([24, 3]);
    expect(tensors.get('base_model.model.transformer.h.0.mlp.c_proj.lora_A.weight')!.shape).toEqual([3, 32]);
    const b0 = tensors.get('base_model.model.transformer.h.0.mlp.c_proj.lora_B.weight')!;
    expect(b0.shape).toEqual([8, 3]);
    const ad = layout.adapters.find((a) => a.layer === 0 && a.target === 'mlp.c_proj')!;
    expect(bitsOf(b0.data)).toEqual(bitsOf(B.subarray(ad.offB, ad.offB + 24)));

    const config = JSON.parse(out.config);
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 3,
      lora_alpha: 6,
      lora_dropout: 0,
      fan_in_fan_out: true,
      bias: 'none',
      base_model_name_or_path: 'lab-gpt',
      inference_mode: true,
      init_lora_weights: true,
      target_modules: ['c_attn', 'mlp.c_proj'],
    });
    expect(Object.keys(config)).toEqual(Object.keys(config).sort()); // as PEFT: sort_keys=True
    expect(out.config).toContain('\n  "bias": "none",\n');
  });

  it.each<[LoraTarget[]]>([
    [['c_attn']],
    [['attn.c_proj']],
    [['mlp.c_proj']],
    [['attn.c_proj', 'mlp.c_proj']],
    [['mlp.c_fc', 'attn.c_proj']],
    [['c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']],
  ])('target_modules select exactly the adapted modules under PEFT matching: %j', (targets) => {
    const layout = loraLayout(cfg, { r: 2, alpha: 2, targets });
    const tm = peftTargetModules(targets);
    const selected = gpt2ModuleNames(cfg).filter((m) => peftSelects(tm, m));
    expect(selected.sort()).toEqual(layout.adapters.map((a) => a.module).sort());
  });

  it('rejects buffers of the wrong size', () => {
    const { layout, A, B } = adapter(['c_attn'], 2, 4);
    expect(() => exportAdapter(layout, A.subarray(1), B, 'x')).toThrow(/A has \d+ values, the layout needs/);
  });
});

describe('PEFT round trip', () => {
  it.each<[LoraTarget[], number, number]>([
    [['c_attn'], 4, 8],
    [['attn.c_proj', 'mlp.c_fc'], 1, 1],
    [['c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'], 5, 2.5],
  ])('%j r=%i alpha=%f is bit-exact', (targets, r, alpha) => {
    const { layout, A, B } = adapter(targets, r, alpha, r);
    const out = exportAdapter(layout, A, B, 'lab-gpt');
    for (const config of [out.config, undefined]) {
      const back = importAdapter(out.safetensors, config, cfg);
      expect(back.layout).toEqual(layout);
      expect(bitsOf(back.A)).toEqual(bitsOf(A));
      expect(bitsOf(back.B)).toEqual(bitsOf(B));
    }
    expect(importAdapter(out.safetensors, out.config, cfg).baseModelName).toBe('lab-gpt');
  });
});

describe('PEFT import', () => {
  const { layout, A, B } = adapter(['c_attn', 'mlp.c_fc'], 2, 4);
  const out = exportAdapter(layout, A, B, 'lab-gpt');
  const base = readSafetensors(out.safetensors).tensors;
  /** The exported tensors, edited, written as Python's PEFT would (metadata {"format": "pt"} only). */
  const edited = (edit: (t: Map<string, Tensor>) => void) => {
    const t = new Map<string, Tensor>([...base].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
    edit(t);
    return writeSafetensors(t, { format: 'pt' });
  };
  const configWith = (patch: Record<string, unknown>) =>
    JSON.stringify({ ...JSON.parse(out.config), ...patch });
  const cAttnB1 = peftTensorName('transformer.h.1.attn.c_attn', 'B');

  it('reads a PEFT file with its config and needs lora_alpha from somewhere', () => {
    const file = edited(() => {});
    expect(bitsOf(importAdapter(file, out.config, cfg).A)).toEqual(bitsOf(A));
    expect(() => importAdapter(file, undefined, cfg)).toThrow('lora_alpha is unknown');
  });

  it('names a missing tensor', () => {
    const file = edited((t) => t.delete(cAttnB1));
    expect(() => importAdapter(file, out.config, cfg)).toThrow(`missing tensor "${cAttnB1}"`);
  });

  it('names a shape that does not fit the model', () => {
    const other = { ...cfg, n_embd: 12, n_head: 3 };
    expect(() => importAdapter(out.safetensors, out.config, other)).toThrow(
      'adapter: "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight" has shape [2, 8] but this model (n_embd 12) needs [2, 12]',
    );
    expect(() => importAdapter(out.safetensors, out.config, { ...cfg, n_layer: 1 })).toThrow(
      /is for layer 1, the model has 1/,
    );
  });

  it('names a rank mismatch', () => {
    expect(() => importAdapter(out.safetensors, configWith({ r: 8 }), cfg)).toThrow(
      'rank mismatch: adapter_config.json says r = 8 but the tensors have rank 2',
    );
    const file = edited((t) => t.set(cAttnB1, { shape: [24, 3], data: new Float32Array(72) }));
    expect(() => importAdapter(file, out.config, cfg)).toThrow(`rank mismatch: "${cAttnB1}" has rank 3`);
  });

  it('rejects tensors and configs it cannot represent', () => {
    const lmHead = edited((t) =>
      t.set('base_model.model.lm_head.lora_A.weight', { shape: [1], data: new Float32Array(1) }),
    );
    expect(() => importAdapter(lmHead, out.config, cfg)).toThrow(
      'unexpected tensor "base_model.model.lm_head.lora_A.weight"',
    );
    const oneLayer = edited((t) => {
      for (const k of [...t.keys()]) if (k.includes('h.1.mlp.c_fc')) t.delete(k);
    });
    expect(() => importAdapter(oneLayer, undefined, cfg)).toThrow(/missing tensor .*h\.1\.mlp\.c_fc\.lora_A/);
    expect(() => importAdapter(out.safetensors, configWith({ peft_type: 'IA3' }), cfg)).toThrow(
      /only "LORA"/,
    );
    expect(() => importAdapter(out.safetensors, configWith({ use_dora: true }), cfg)).toThrow(/DoRA/);
    expect(() => importAdapter(out.safetensors, configWith({ rank_pattern: { c_fc: 4 } }), cfg)).toThrow(
      /rank_pattern/,
    );
    expect(() => importAdapter(out.safetensors, '{', cfg)).toThrow('adapter_config.json: not valid JSON');
  });

  it('checks target_modules against the tensors, as PEFT would match them', () => {
    expect(() => importAdapter(out.safetensors, configWith({ target_modules: ['c_attn'] }), cfg)).toThrow(
      'the safetensors adapts transformer.h.0.mlp.c_fc but adapter_config.json',
    );
    expect(() =>
      importAdapter(out.safetensors, configWith({ target_modules: ['c_attn', 'c_fc', 'c_proj'] }), cfg),
    ).toThrow(
      'adapter_config.json targets transformer.h.0.attn.c_proj but the safetensors has no tensor for it',
    );
    const regex = configWith({ target_modules: '.*\\.(c_attn|c_fc)' });
    expect(bitsOf(importAdapter(out.safetensors, regex, cfg).B)).toEqual(bitsOf(B));
  });

  it('converts rsLoRA scaling alpha/√r into alpha/r', () => {
    const got = importAdapter(out.safetensors, configWith({ use_rslora: true, lora_alpha: 3 }), cfg);
    expect(got.layout.scale).toBeCloseTo(3 / Math.sqrt(2), 12);
  });
});

// Issue #13: adapters given by the user (--init-adapter, a file opened in the page).
describe('PEFT import of bad or bare adapters', () => {
  const { layout, A, B } = adapter(['c_attn'], 2, 4);
  const out = exportAdapter(layout, A, B, 'lab-gpt');
  const base = readSafetensors(out.safetensors).tensors;
  /** The tensors, edited, written with PEFT's metadata only (no r or lora_alpha in it). */
  const bare = (edit: (t: Map<string, Tensor>) => void = () => {}) => {
    const t = new Map<string, Tensor>([...base].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
    edit(t);
    return writeSafetensors(t, { format: 'pt' });
  };
  const a0 = peftTensorName('transformer.h.0.attn.c_attn', 'A');
  const b0 = peftTensorName('transformer.h.0.attn.c_attn', 'B');
  const errorOf = (f: () => unknown): Error => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(Error);
      return e as Error;
    }
    throw new Error('accepted');
  };

  it('a bare safetensors takes alpha from the fallback (--alpha), r from the tensors', () => {
    const got = importAdapter(bare(), undefined, cfg, { alpha: 8 });
    expect(got.layout.r).toBe(2);
    expect(got.layout.alpha).toBe(8);
    expect(got.alphaSource).toBe('fallback');
    expect(bitsOf(got.A)).toEqual(bitsOf(A));
    // adapter_config.json, then the metadata, come before the fallback.
    expect(importAdapter(bare(), out.config, cfg, { alpha: 8 }).layout.alpha).toBe(4);
    expect(importAdapter(out.safetensors, undefined, cfg, { alpha: 8 })).toMatchObject({
      alphaSource: 'safetensors metadata',
      layout: { alpha: 4 },
    });
  });

  it('no alpha anywhere names all three places', () => {
    const e = errorOf(() => importAdapter(bare(), undefined, cfg));
    expect(e).toBeInstanceOf(AdapterError);
    expect(e.message).toBe(
      "adapter: lora_alpha is unknown: no adapter_config.json, the safetensors metadata has none, and no alpha was given (the CLI's --alpha)",
    );
  });

  it('a rank asked for must be the tensors’ rank', () => {
    expect(errorOf(() => importAdapter(bare(), undefined, cfg, { alpha: 8, r: 4 })).message).toBe(
      'adapter: the tensors have rank 2, but rank 4 was asked for',
    );
  });

  it.each<[string, (t: Map<string, Tensor>) => void, string | RegExp]>([
    [
      'a wrong tensor name',
      (t) => t.set('base_model.model.transformer.h.0.attn.c_attn.lora_down.weight', t.get(a0)!),
      /unexpected tensor ".*lora_down\.weight"/,
    ],
    ['a missing A', (t) => t.delete(a0), `missing tensor "${a0}"`],
    [
      'B transposed',
      (t) => t.set(b0, { shape: [2, 24], data: t.get(b0)!.data }),
      /rank mismatch: ".*lora_B\.weight" has rank 24/,
    ],
    [
      'a 1-D factor',
      (t) => t.set(a0, { shape: [16], data: t.get(a0)!.data }),
      `"${a0}" has shape [16], expected 2-D`,
    ],
    [
      'rank 0',
      (t) => {
        t.set(a0, { shape: [0, 8], data: new Float32Array(0) });
        t.set(b0, { shape: [24, 0], data: new Float32Array(0) });
      },
      `"${a0}" has rank 0`,
    ],
    [
      'a factor under two names',
      (t) => t.set(a0.replace('base_model.model.', ''), t.get(a0)!),
      /are the same factor; keep one/,
    ],
  ])('%s', (_, edit, message) => {
    const e = errorOf(() => importAdapter(bare(edit), out.config, cfg, { alpha: 8 }));
    expect(e).toBeInstanceOf(AdapterError);
    expect(e.message).toMatch(message);
  });

  it('a truncated or non-float file', () => {
    for (const n of [0, 7, 20, out.safetensors.length - 1]) {
      expect(errorOf(() => importAdapter(out.safetensors.subarray(0, n), out.config, cfg))).toBeInstanceOf(
        SafetensorsError,
      );
    }
    const garbage = writeSafetensors(new Map(), { lora_alpha: 'eight' });
    expect(errorOf(() => importAdapter(garbage, undefined, cfg)).message).toBe(
      'adapter: the safetensors file holds no LoRA tensors',
    );
    const badMeta = writeSafetensors(
      new Map([...base].map(([k, v]) => [k, { shape: v.shape, data: v.data }])),
      {
        lora_alpha: 'eight',
      },
    );
    expect(errorOf(() => importAdapter(badMeta, undefined, cfg)).message).toBe(
      'adapter: the safetensors metadata "lora_alpha" is "eight", not a positive number',
    );
    expect(errorOf(() => importAdapter(bare(), JSON.stringify({ lora_alpha: -1 }), cfg)).message).toBe(
      'adapter: lora_alpha -1 (from adapter_config.json) is not a positive number',
    );
  });
});
