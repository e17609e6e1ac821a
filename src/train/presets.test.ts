import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateSweep } from './config';
import { presetSweepConfig, REPRODUCE_PAPER } from './presets';

describe('REPRODUCE_PAPER', () => {
  const config = presetSweepConfig(REPRODUCE_PAPER);

  it("maps to a sweep the engine accepts (lab-gpt's 256 positions)", () => {
    expect(() => validateSweep(config, 256)).not.toThrow();
  });

  it('has each optimizer over its own rates, and the Riemannian ones over every damping', () => {
    const p = REPRODUCE_PAPER;
    const riemannian = p.optimizers.filter((o) => o.startsWith('riemannian-'));
    const expected = p.optimizers.reduce(
      (n, o) => n + p.lrs[o].length * (riemannian.includes(o) ? p.dampings.length : 1),
      0,
    );
    expect(config.runs).toHaveLength(expected);
    for (const o of p.optimizers) {
      const lrs = config.runs.filter((r) => r.optimizer === o).map((r) => r.lr);
      expect(new Set(lrs)).toEqual(new Set(p.lrs[o]));
    }
    const dampings = config.runs.filter((r) => r.optimizer === 'riemannian-adamw').map((r) => r.damping);
    expect(new Set(dampings)).toEqual(new Set(p.dampings));
    expect(config.runs.filter((r) => r.optimizer === 'adamw').every((r) => r.damping === undefined)).toBe(
      true,
    );
  });

  it('names the report it is scaled down from', () => {
    expect(REPRODUCE_PAPER.scaling.length).toBeGreaterThan(40);
    expect(existsSync(REPRODUCE_PAPER.reportPath)).toBe(true);
  });
});
