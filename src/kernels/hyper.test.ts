// The Hyper row has one definition (hyper.ts); each shader that reads it declares the same struct.
import { describe, expect, it } from 'vitest';
import optimizerMathWgsl from '../../shaders/optimizer-math.wgsl?raw';
import sweepWgsl from '../../shaders/sweep.wgsl?raw';
import lossGuardWgsl from '../../shaders/loss-guard.wgsl?raw';
import { HYPER_FIELDS, HYPER_WIDTH, hyperAt, hyperRow, packHyper } from './hyper';

/** Field names of `struct Hyper { ... }` in a WGSL source, all f32. */
function structFields(wgsl: string): string[] {
  const body = /struct Hyper\s*\{([^}]*)\}/.exec(wgsl)?.[1] ?? '';
  return body
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map((f) => {
      const [name, type] = f.split(':').map((x) => x.trim());
      expect(type, `Hyper.${name}`).toBe('f32');
      return name;
    });
}

describe('struct Hyper', () => {
  it.each([
    // The optimizers' (optimizer.wgsl and optimizer-fused.wgsl include it).
    ['optimizer-math.wgsl', optimizerMathWgsl],
    ['sweep.wgsl', sweepWgsl],
    ['loss-guard.wgsl', lossGuardWgsl],
  ])('%s declares the fields of HYPER_FIELDS in order', (_, wgsl) => {
    expect(structFields(wgsl)).toEqual([...HYPER_FIELDS]);
  });

  it('packs a run per row; LoRA+ scales only B’s rate; bias corrections from the run’s betas', () => {
    const rows = [
      hyperRow({
        lr: 0.01,
        loraplusRatio: 16,
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-8,
        weightDecay: 0.1,
        t: 2,
        active: true,
        rule: 'adamw',
      }),
      hyperRow({
        lr: 0.5,
        loraplusRatio: 1,
        beta1: 0.8,
        beta2: 0.999,
        eps: 1e-6,
        weightDecay: 0,
        t: 1,
        active: false,
        rule: 'sgd',
      }),
    ];
    const packed = packHyper(rows);
    expect(packed).toHaveLength(2 * HYPER_WIDTH);
    const back = hyperAt(packed, 0);
    expect(back.lrB).toBe(Math.fround(0.16));
    expect(back.bc2).toBe(Math.fround(1 - 0.99 ** 2));
    expect(hyperAt(packed, 1)).toMatchObject({
      lrA: 0.5,
      lrB: 0.5,
      training: 0,
      rule: 1,
      bc1: Math.fround(0.2),
    });
  });
});
