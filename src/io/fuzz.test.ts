// Property tests of the weight readers (issue #13): user files that are random, cut or corrupted get the
// reader's own error (SafetensorsError, OnnxError, AdapterError), never a RangeError or a TypeError
// from deep inside, and never a hang. Seeds are fixed so a failure reproduces.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LabGptConfig } from '../model/config';
import { loraLayout } from '../model/lora-layout';
import { OnnxError, readOnnxWeights } from './onnx';
import { AdapterError, exportAdapter, importAdapter } from './peft';
import { SafetensorsError, readSafetensors } from './safetensors';

const cfg: LabGptConfig = {
  n_layer: 2,
  n_head: 2,
  n_embd: 8,
  n_positions: 16,
  vocab_size: 256,
  layer_norm_epsilon: 1e-5,
};
const layout = loraLayout(cfg, { r: 2, alpha: 4, targets: ['c_attn', 'mlp.c_fc'] });
const adapter = exportAdapter(
  layout,
  Float32Array.from({ length: layout.SA }, (_, i) => i / 7),
  Float32Array.from({ length: layout.SB }, (_, i) => -i / 5),
  'lab-gpt',
);
const options = { seed: 13, numRuns: 1500 } as const;

/** Bytes of a valid file with a few bytes overwritten and maybe cut short. */
const corrupted = (file: Uint8Array) =>
  fc
    .tuple(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.option(fc.nat()),
    )
    .map(([edits, cut]) => {
      const b = file.slice();
      for (const [at, v] of edits) b[at % b.length] = v;
      return cut === null ? b : b.subarray(0, cut % (b.length + 1));
    });

function expectOnly(f: () => unknown, ...types: (new (...args: never[]) => Error)[]): void {
  try {
    f();
  } catch (e) {
    expect(
      types.some((t) => e instanceof t),
      String(e),
    ).toBe(true);
  }
}

describe('weight readers under generated input', () => {
  it('safetensors and PEFT import: random or corrupted files', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), corrupted(adapter.safetensors)), (bytes) => {
        expectOnly(() => readSafetensors(bytes), SafetensorsError);
        expectOnly(
          () => importAdapter(bytes, adapter.config, cfg, { alpha: 8 }),
          SafetensorsError,
          AdapterError,
        );
      }),
      options,
    );
  });
  it('adapter_config.json: random or corrupted text', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 80 }),
      corrupted(new TextEncoder().encode(adapter.config)).map((b) => new TextDecoder().decode(b)),
    );
    fc.assert(
      fc.property(text, (config) => {
        expectOnly(() => importAdapter(adapter.safetensors, config, cfg), AdapterError);
      }),
      options,
    );
  });
  it('ONNX: random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) =>
        expectOnly(() => readOnnxWeights(bytes), OnnxError),
      ),
      options,
    );
  });
});
