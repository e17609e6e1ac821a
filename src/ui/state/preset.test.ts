import { describe, expect, it } from 'vitest';
import { presetSweepConfig, REPRODUCE_PAPER } from '../../train/presets';
import { presetSettings } from './preset';
import { DEFAULT_SETTINGS, fromQuery, toQuery, toSweepConfig, validateSettings } from './settings';

describe('the paper preset as settings', () => {
  it('gives the engine the same sweep as presetSweepConfig', () => {
    const s = presetSettings(REPRODUCE_PAPER, DEFAULT_SETTINGS);
    expect(validateSettings(s)).toEqual({});
    const got = toSweepConfig(s);
    const want = presetSweepConfig(REPRODUCE_PAPER);
    expect(got.runs).toEqual(want.runs);
    expect(got.runs).toHaveLength(35);
    expect({ ...got, runs: [] }).toEqual({ ...want, runs: [] });
  });

  it('survives the URL, and editing the learning rates drops the per-optimizer lists', () => {
    const s = presetSettings(REPRODUCE_PAPER, DEFAULT_SETTINGS);
    expect(fromQuery(toQuery(s))).toEqual(s);
    expect(fromQuery(toQuery({ ...s, lrsByOptimizer: {} })).lrsByOptimizer).toEqual({});
  });
});
